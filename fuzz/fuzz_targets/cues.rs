//! The whole pipeline without a trained model (normalize → language → cues → decide): never
//! panics, and every cue's text is the original text at its offsets.
#![no_main]
use std::sync::OnceLock;

use herken::domain::{Channel, Message};
use herken::pipeline::cues::Lexicon;
use herken::pipeline::decide::DecideOptions;
use herken::pipeline::model::CueScorer;
use herken::pipeline::Pipeline;
use libfuzzer_sys::fuzz_target;

fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        let lexicon = Lexicon::builtin().expect("the built-in lexicon compiles");
        let scorer = Box::new(CueScorer::new(&lexicon));
        Pipeline::new(lexicon, scorer, DecideOptions::default())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&c, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let channel = if c % 2 == 0 {
        Channel::Email
    } else {
        Channel::Telefoon
    };
    let message = Message::new(text.clone()).with_channel(channel);
    let classified = pipeline().classify(&message, false);
    let chars: Vec<char> = text.chars().collect();
    for cue in &classified.cues {
        assert!(cue.start < cue.end && cue.end <= chars.len());
        let at: String = chars[cue.start..cue.end].iter().collect();
        assert_eq!(at, cue.text);
    }
});
