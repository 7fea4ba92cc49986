//! The Dutch address extractor and the issue signature: never panic on any text.
#![no_main]
use herken::repeat::address::extract;
use herken::repeat::signature::Signature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = extract(&text);
    let s = Signature::of(&text);
    let _ = s.same_issue(&s);
});
