//! normalize (quotes, signatures, disclaimers, transcripts) on any text and channel: never
//! panics, and every evidence char maps back inside the original text.
#![no_main]
use herken::domain::Channel;
use herken::pipeline::normalize::normalize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&c, rest)) = data.split_first() else {
        return;
    };
    let channel = [
        Channel::Unspecified,
        Channel::Balie,
        Channel::Telefoon,
        Channel::Email,
        Channel::Brief,
        Channel::Webformulier,
        Channel::Chat,
    ][c as usize % 7];
    let text = String::from_utf8_lossy(rest);
    let n = normalize(&text, channel);
    let len = text.chars().count();
    assert_eq!(n.char_len(), n.text.chars().count());
    for i in 0..n.char_len() {
        let (s, e) = n.original_span(i, i + 1).expect("every char has a source");
        assert!(s < e && e <= len, "char {i} maps to {s}..{e} of {len}");
    }
    for r in &n.removed {
        assert!(r.start <= r.end && r.end <= len);
    }
});
