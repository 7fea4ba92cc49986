//! Raw e-mail (headers, MIME, transfer encodings, charsets, HTML): never panics, and the body
//! stays within its limit.
#![no_main]
use herken::pipeline::normalize::{parse_raw_email_bounded, EmailError};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 20_000;

fuzz_target!(
    init: {
        // parse_raw_email catches mail-parser's panics; libFuzzer's hook would abort on them
        // before they are caught. Any panic that escapes still aborts the run.
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
    match parse_raw_email_bounded(data, LIMIT) {
        Ok(mail) => assert!(mail.body.chars().count() <= LIMIT),
        Err(EmailError::TooLong(n)) => assert_eq!(n, LIMIT),
        Err(_) => {}
    }
});
