//! Who sent a message: a canonical sender key, stored only as a keyed hash.
//!
//! Canonical forms:
//! - e-mail: lower-cased, `+tag` stripped from the local part (`Jan.Jansen+gemeente@Example.NL`
//!   → `jan.jansen@example.nl`);
//! - phone: digits in international form (`06-1234 5678`, `+31 6 12345678`, `0031612345678`
//!   → `+31612345678`; other Dutch numbers likewise, `010-1234567` → `+31101234567`);
//! - "name, postcode": name lower-cased with single spaces, postcode `1234AB`
//!   (`J. de Vries, 1234 ab` → `j. de vries|1234AB`).
//!
//! The key is pseudonymised with HMAC-SHA256 under a secret from the configuration (generated
//! at first start and kept beside the store): the store never holds an address or a number.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A canonical sender, before hashing. Never stored or logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// An e-mail address.
    Email(String),
    /// A phone number in international form.
    Phone(String),
    /// A name and a postcode.
    NamePostcode(String, String),
    /// Something else that identifies the sender, folded.
    Other(String),
}

impl Sender {
    /// Parse a sender as a caller gave it; `None` when empty.
    pub fn parse(raw: &str) -> Option<Sender> {
        let s = raw.trim();
        if s.is_empty() {
            return None;
        }
        if let Some(email) = email(s) {
            return Some(Sender::Email(email));
        }
        if let Some(phone) = phone(s) {
            return Some(Sender::Phone(phone));
        }
        if let Some((name, pc)) = s.rsplit_once(',') {
            if let Some(pc) = postcode(pc) {
                return Some(Sender::NamePostcode(fold(name), pc));
            }
        }
        Some(Sender::Other(fold(s)))
    }

    /// The canonical text the key is computed from.
    pub fn canonical(&self) -> String {
        match self {
            Sender::Email(e) => format!("email:{e}"),
            Sender::Phone(p) => format!("phone:{p}"),
            Sender::NamePostcode(n, p) => format!("name:{n}|{p}"),
            Sender::Other(o) => format!("other:{o}"),
        }
    }

    /// The pseudonymous key: hex HMAC-SHA256 of the canonical form under `secret`.
    pub fn key(&self, secret: &[u8]) -> String {
        keyed_hex(secret, b"", &self.canonical())
    }
}

/// HMAC-SHA256 of `domain` then `value` under `secret`, as hex: how everything personal the
/// repeat history must compare (senders, case references, postcodes) is stored.
pub fn keyed_hex(secret: &[u8], domain: &[u8], value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(domain);
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn email(s: &str) -> Option<String> {
    // "Name <addr>" → addr
    let s = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    let s = s.trim().to_lowercase();
    let (local, domain) = s.split_once('@')?;
    if local.is_empty() || !domain.contains('.') || s.contains(char::is_whitespace) {
        return None;
    }
    let local = local.split('+').next().unwrap_or(local);
    Some(format!("{local}@{domain}"))
}

fn phone(s: &str) -> Option<String> {
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || " -+().".contains(c))
    {
        return None;
    }
    let plus = s.trim_start().starts_with('+');
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("31{rest}")
    } else {
        return None;
    };
    // "+31 (0)6 …": drop the trunk zero after the country code.
    let international = match international.strip_prefix("310") {
        Some(rest) => format!("31{rest}"),
        None => international,
    };
    (8..=15)
        .contains(&international.len())
        .then(|| format!("+{international}"))
}

fn postcode(s: &str) -> Option<String> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.to_uppercase();
    let b = t.as_bytes();
    (b.len() == 6
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_uppercase))
    .then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_case_folded_and_tag_stripped() {
        let a = Sender::parse("Jan.Jansen+gemeente@Example.NL").unwrap();
        let b = Sender::parse("Jan Jansen <jan.jansen@example.nl>").unwrap();
        assert_eq!(a, Sender::Email("jan.jansen@example.nl".into()));
        assert_eq!(a, b);
    }

    #[test]
    fn dutch_mobile_numbers_in_every_notation_are_one_sender() {
        let want = Sender::Phone("+31612345678".into());
        for n in [
            "06-12345678",
            "06 1234 5678",
            "+31 6 12345678",
            "0031612345678",
            "+31 (0)6-12345678",
            "0612345678",
        ] {
            assert_eq!(Sender::parse(n).unwrap(), want, "{n}");
        }
        assert_eq!(
            Sender::parse("010-1234567").unwrap(),
            Sender::Phone("+31101234567".into())
        );
    }

    #[test]
    fn name_and_postcode() {
        assert_eq!(
            Sender::parse("J.  de Vries, 1234 ab").unwrap(),
            Sender::NamePostcode("j. de vries".into(), "1234AB".into())
        );
    }

    #[test]
    fn empty_is_nobody() {
        assert!(Sender::parse("  ").is_none());
    }

    #[test]
    fn key_is_keyed_and_hides_the_address() {
        let s = Sender::parse("a@example.nl").unwrap();
        let k1 = s.key(b"secret-one");
        let k2 = s.key(b"secret-two");
        assert_ne!(k1, k2);
        assert_eq!(k1.len(), 64);
        assert!(!k1.contains("example"));
        assert_eq!(
            k1,
            Sender::parse("A@Example.nl").unwrap().key(b"secret-one")
        );
    }
}
