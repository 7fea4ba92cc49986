//! The Dutch address extractor, the issue signature and the same-issue model: never panic on
//! any text, and a probability is a probability. The input is also cut in two halves, so that
//! two different signatures meet, as an earlier and a later message do.
#![no_main]
use herken::domain::Lang;
use herken::repeat::address::extract;
use herken::repeat::pair::{contradicted, deciding_signals, Pair, PairModel};
use herken::repeat::signature::Signature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = extract(&text);
    let middle = text
        .char_indices()
        .nth(text.chars().count() / 2)
        .map_or(text.len(), |(i, _)| i);
    let (first, second) = text.split_at(middle);
    let (whole, a, b) = (
        Signature::of(&text),
        Signature::of(first),
        Signature::of(second),
    );
    for (earlier, later) in [(&whole, &whole), (&a, &b), (&b, &a)] {
        let pair = Pair::of(earlier, later, 3.0, false);
        let scored = PairModel::builtin().score(&pair);
        assert!((0.0..=1.0).contains(&scored.probability), "{}", scored.probability);
        let _ = contradicted(&pair);
        let _ = deciding_signals(&scored, Lang::Nl);
        let _ = later.new_event_since(earlier);
    }
});
