//! HTML to text: never panics, never writes more than its limit, caps quote prefixes.
#![no_main]
use herken::pipeline::normalize::html::{html_to_text_bounded, MAX_QUOTE_PREFIX};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 10_000;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let c = html_to_text_bounded(&html, LIMIT);
    assert!(c.text.chars().count() <= LIMIT);
    if !html.contains('>') && !html.contains('&') {
        // Without '>' (or a character reference that makes one) in the input, every '>'
        // comes from a quote prefix.
        for line in c.text.lines() {
            assert!(line.matches('>').count() <= MAX_QUOTE_PREFIX, "{line:?}");
        }
    }
});
