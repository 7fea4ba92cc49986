//! The JSON-lines readers: the contract's input lines and the labelled corpus format. Never
//! panic; a bad line is an error naming it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        if let Err((id, e)) = herken::jsonl::parse_line(line, "line:1") {
            assert!(!id.is_empty() && !e.is_empty());
        }
    }
    if let Err(e) = herken::dataset::parse("fuzz.jsonl", data) {
        assert!(e.to_string().starts_with("fuzz.jsonl:"));
    }
});
