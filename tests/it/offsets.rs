//! Every cue's `text` is exactly the original text at its offsets, over every text of
//! `../shared/eval/*.jsonl` and over arbitrary strings.

use herken::domain::{Channel, Message};
use proptest::prelude::*;

use crate::support::{recognizer, shared};

fn check(text: &str, channel: Channel) {
    let o = recognizer()
        .classify(&Message::new(text).with_channel(channel))
        .unwrap();
    let chars: Vec<char> = text.chars().collect();
    for c in &o.cues {
        assert!(
            c.start < c.end && c.end <= chars.len(),
            "cue {c:?} out of range"
        );
        let s: String = chars[c.start..c.end].iter().collect();
        assert_eq!(s, c.text, "cue {c:?} in {text:?}");
    }
    assert!(
        o.cues.windows(2).all(|w| w[0].start <= w[1].start),
        "cues in text order"
    );
}

#[test]
fn cue_offsets_match_the_original_text_over_all_eval_sets() {
    let dir = shared().join("eval");
    let mut texts = 0;
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} must exist beside the repository: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let channel = v["channel"]
                .as_str()
                .unwrap_or("")
                .parse()
                .unwrap_or_default();
            if let Some(t) = v["text"].as_str() {
                check(t, channel);
                texts += 1;
            }
            for m in v["messages"].as_array().into_iter().flatten() {
                check(m["text"].as_str().unwrap(), Channel::Unspecified);
                texts += 1;
            }
        }
    }
    assert!(
        texts > 200,
        "only {texts} eval texts found in {}",
        dir.display()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn cue_offsets_match_for_arbitrary_text(
        text in "(?s)[a-zA-Zéëè\u{301} \n\r>:]{0,20}(Burger: |Medewerker: |> |Met vriendelijke groet,\n)?(al drie keer gemeld|geen klacht|teleurgesteld|kapot|Café|e\u{301}en)?[a-zé \n.,]{0,40}"
    ) {
        prop_assume!(!text.trim().is_empty());
        check(&text, Channel::Email);
    }
}
