//! The `normalize` stage: turns a message as received into the *evidence text* that later
//! stages read, and keeps a map from every evidence char back to the original text so that cue
//! offsets can be reported in the original.
//!
//! Steps, all line based and linear in the length of the text:
//! 1. split into lines (LF, CRLF, CR, ...), NFC, fold whitespace (zero-width chars and NBSP
//!    count as whitespace), trim ([`offsets`]);
//! 2. drop quoted replies, reply headers and what follows them ([`email`]);
//! 3. drop legal disclaimers and signatures ([`email`]);
//! 4. in a counter or phone transcript, keep only what the citizen says ([`transcript`]);
//! 5. join the kept lines with "\n"; when nothing with letters is left, fall back to a less
//!    stripped version and at last to the folded full text.
//!
//! Raw RFC 5322 e-mail is turned into a body text by [`parse_raw_email`] ([`mime`]), its HTML
//! parts by [`html_to_text`] ([`html`]).

mod email;
pub mod html;
mod mime;
mod offsets;
mod transcript;

use serde::{Deserialize, Serialize};

use crate::domain::Channel;
use offsets::{Line, Source};

pub use html::{html_to_text, html_to_text_bounded};
pub use mime::{parse_raw_email, parse_raw_email_bounded, EmailError, ParsedEmail};

/// What kind of structure the message turned out to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextKind {
    /// Running text (letter, web form, chat, ...).
    Plain,
    /// An e-mail: came in as e-mail or shows quoted replies, reply headers, disclaimers or
    /// e-mail signatures.
    Email,
    /// A counter or phone transcript with speaker turns.
    Transcript,
}

/// Why a part of the original text is not in the evidence text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovedReason {
    /// A quoted earlier message, a reply or forward header.
    QuotedReply,
    /// A closing and what follows it (name, phone number, "Sent from my iPhone").
    Signature,
    /// A legal disclaimer paragraph.
    Disclaimer,
    /// What an employee said in a transcript (label included).
    StaffTurn,
    /// A citizen's speaker label, or a bare timestamp line, in a transcript.
    SpeakerLabel,
}

/// A span of the original text that was left out, in char (Unicode scalar) offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RemovedSpan {
    /// First original char that was left out.
    pub start: usize,
    /// One past the last original char that was left out.
    pub end: usize,
    /// Why it was left out.
    pub reason: RemovedReason,
}

/// The evidence text of a message, with a map back to the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The evidence text: NFC, whitespace folded, quotes/signatures/disclaimers/staff turns out.
    pub text: String,
    /// The structure that was found.
    pub kind: TextKind,
    /// What was left out, in original char offsets, in text order.
    pub removed: Vec<RemovedSpan>,
    /// Number of citizen turns kept (0 when not a transcript).
    pub citizen_turns: usize,
    /// For each char of `text`: (original char index, length in original chars).
    sources: Vec<Source>,
}

impl Normalized {
    /// Map a span `[start, end)` in char offsets of `self.text` to the span in the original
    /// text that those chars came from. None for an empty or out-of-range span.
    pub fn original_span(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if start >= end || end > self.sources.len() {
            return None;
        }
        let first = self.sources[start];
        let last = self.sources[end - 1];
        Some((first.0, last.0 + last.1))
    }

    /// Map a byte range of `self.text` (as returned by a regex) to the original char span.
    /// None when empty, out of range or not on char boundaries.
    pub fn original_span_of_bytes(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if start >= end
            || end > self.text.len()
            || !self.text.is_char_boundary(start)
            || !self.text.is_char_boundary(end)
        {
            return None;
        }
        let cs = self.text[..start].chars().count();
        let ce = cs + self.text[start..end].chars().count();
        self.original_span(cs, ce)
    }

    /// Number of chars (Unicode scalars) in `self.text`.
    pub fn char_len(&self) -> usize {
        self.sources.len()
    }

    /// True when there is no evidence text (only for input without any visible char).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// What happens to one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// The line is evidence.
    Keep,
    /// The line is left out.
    Drop(RemovedReason),
    /// The first `n` chars (a citizen's speaker label) are left out, the rest is evidence.
    StripLabel(usize),
}

/// Normalize a message into its evidence text. See the module documentation.
pub fn normalize(text: &str, channel: Channel) -> Normalized {
    let (lines, _) = offsets::split_lines(text);
    let mut fates = vec![Fate::Keep; lines.len()];

    let mut email_found = email::strip_quotes(&lines, &mut fates);
    email_found |= email::strip_disclaimers(&lines, &mut fates);
    email_found |= email::strip_signatures(&lines, &mut fates);
    let email_fates = fates.clone();

    let (kind, mut citizen_turns) = match transcript::apply(&lines, &mut fates) {
        Some(turns) if turns > 0 => (TextKind::Transcript, turns),
        Some(_) => {
            fates.clone_from(&email_fates);
            (TextKind::Transcript, 0)
        }
        None if email_found || channel == Channel::Email => (TextKind::Email, 0),
        None => (TextKind::Plain, 0),
    };

    // Never return evidence without letters when the message has letters.
    let any_letters = lines.iter().any(|l| has_letters(&l.text));
    let usable = |a: &Assembled| has_letters(&a.0) || (!any_letters && !a.0.is_empty());
    let mut out = assemble(&lines, &fates);
    if !usable(&out) && citizen_turns > 0 {
        citizen_turns = 0;
        out = assemble(&lines, &email_fates);
    }
    if !usable(&out) {
        citizen_turns = 0;
        out = assemble(&lines, &vec![Fate::Keep; lines.len()]);
    }
    let (text, sources, removed) = out;
    Normalized {
        text,
        kind,
        removed,
        citizen_turns,
        sources,
    }
}

fn has_letters(s: &str) -> bool {
    s.chars().any(char::is_alphabetic)
}

/// Evidence text, the source of each of its chars, and the removed spans.
type Assembled = (String, Vec<Source>, Vec<RemovedSpan>);

/// Join the kept parts of the lines with "\n" and collect the removed spans.
///
/// The "\n" between two kept lines maps to the original whitespace from the end of the first
/// line's content through its line terminator.
fn assemble(lines: &[Line], fates: &[Fate]) -> Assembled {
    let mut text = String::new();
    let mut sources: Vec<Source> = Vec::new();
    let mut removed: Vec<RemovedSpan> = Vec::new();
    let mut kept_since_removal = true;
    // Original end of the last kept char and the terminator end of its line.
    let mut last_kept: Option<(usize, usize)> = None;

    for (line, &fate) in lines.iter().zip(fates) {
        if line.is_blank() {
            continue;
        }
        let from = match fate {
            Fate::Keep => 0,
            Fate::Drop(reason) => {
                push_removed(
                    &mut removed,
                    &mut kept_since_removal,
                    line.span_from(0),
                    reason,
                );
                continue;
            }
            Fate::StripLabel(n) => {
                push_removed(
                    &mut removed,
                    &mut kept_since_removal,
                    line.span_between(0, n.min(line.src.len())),
                    RemovedReason::SpeakerLabel,
                );
                n
            }
        };
        if from >= line.src.len() {
            continue;
        }
        if let Some((end, term_end)) = last_kept {
            text.push('\n');
            sources.push((end, term_end.saturating_sub(end).max(1)));
        }
        text.extend(line.text.chars().skip(from));
        sources.extend_from_slice(&line.src[from..]);
        let last = line.src[line.src.len() - 1];
        last_kept = Some((last.0 + last.1, line.term_end));
        kept_since_removal = true;
    }
    (text, sources, removed)
}

/// Record a removed span, merging it into the previous one when it has the same reason and no
/// evidence was kept in between.
fn push_removed(
    removed: &mut Vec<RemovedSpan>,
    kept_since_removal: &mut bool,
    span: Option<(usize, usize)>,
    reason: RemovedReason,
) {
    let Some((start, end)) = span else { return };
    match removed.last_mut() {
        Some(last) if !*kept_since_removal && last.reason == reason => last.end = end,
        _ => removed.push(RemovedSpan { start, end, reason }),
    }
    *kept_since_removal = false;
}

/// The original texts of the spans removed for `reason` (for tests).
#[cfg(test)]
pub(crate) fn removed_texts(original: &str, n: &Normalized, reason: RemovedReason) -> Vec<String> {
    n.removed
        .iter()
        .filter(|r| r.reason == reason)
        .map(|r| {
            original
                .chars()
                .skip(r.start)
                .take(r.end - r.start)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    fn orig_slice(original: &str, span: (usize, usize)) -> String {
        original
            .chars()
            .skip(span.0)
            .take(span.1 - span.0)
            .collect()
    }

    fn removed_text(original: &str, n: &Normalized, reason: RemovedReason) -> Vec<String> {
        n.removed
            .iter()
            .filter(|r| r.reason == reason)
            .map(|r| orig_slice(original, (r.start, r.end)))
            .collect()
    }

    #[test]
    fn empty_input_gives_empty_plain_text() {
        let n = normalize("", Channel::Unspecified);
        assert!(n.is_empty());
        assert_eq!(n.kind, TextKind::Plain);
        assert_eq!(n.char_len(), 0);
        assert_eq!(n.original_span(0, 1), None);
    }

    #[test]
    fn whitespace_only_input_gives_empty_text() {
        let n = normalize(" \t\r\n\u{a0}\u{200b}\n  ", Channel::Unspecified);
        assert!(n.is_empty());
        assert!(n.removed.is_empty());
    }

    #[test]
    fn whitespace_is_folded_and_trimmed() {
        let n = normalize(
            "  De  lamp\u{a0}is\tkapot. \n\n\n  Al weken!  ",
            Channel::Unspecified,
        );
        assert_eq!(n.text, "De lamp is kapot.\nAl weken!");
    }

    #[test]
    fn crlf_is_folded_and_maps_back() {
        let original = "Eerste regel\r\n\r\nTweede regel\r\n";
        let n = normalize(original, Channel::Unspecified);
        assert_eq!(n.text, "Eerste regel\nTweede regel");
        let nl = n.text.chars().position(|c| c == '\n').unwrap();
        let span = n.original_span(nl, nl + 1).unwrap();
        assert_eq!(orig_slice(original, span), "\r\n");
        let t = n.text.chars().position(|c| c == 'T').unwrap();
        let span = n.original_span(t, t + 6).unwrap();
        assert_eq!(orig_slice(original, span), "Tweede");
    }

    #[test]
    fn nfc_decomposed_e_acute_maps_back_to_both_chars() {
        let original = "Het cafe\u{301} is dicht";
        let n = normalize(original, Channel::Unspecified);
        assert_eq!(n.text, "Het café is dicht");
        let i = n.text.chars().position(|c| c == 'é').unwrap();
        let span = n.original_span(i, i + 1).unwrap();
        assert_eq!(orig_slice(original, span), "e\u{301}");
        let span = n.original_span(i + 2, i + 4).unwrap();
        assert_eq!(orig_slice(original, span), "is");
        let span = n.original_span(4, 8).unwrap();
        assert_eq!(orig_slice(original, span), "cafe\u{301}");
    }

    #[test]
    fn original_span_rejects_empty_and_out_of_range() {
        let n = normalize("abc", Channel::Unspecified);
        assert_eq!(n.original_span(1, 1), None);
        assert_eq!(n.original_span(2, 1), None);
        assert_eq!(n.original_span(0, 4), None);
        assert_eq!(n.original_span(0, 3), Some((0, 3)));
        assert_eq!(n.original_span_of_bytes(1, 3), Some((1, 3)));
    }

    #[test]
    fn email_channel_gives_email_kind() {
        let n = normalize("De container is vol.", Channel::Email);
        assert_eq!(n.kind, TextKind::Email);
        assert_eq!(n.text, "De container is vol.");
    }

    #[test]
    fn full_email_reply_is_stripped_to_new_text() {
        let original = "Beste meneer,\r\n\r\nIk heb nog steeds geen reactie gehad op mijn melding van vorige maand.\r\nDit is de derde keer dat ik mail.\r\n\r\nMet vriendelijke groet,\r\nPiet de Boer\r\n06-12345678\r\n\r\nDit bericht is uitsluitend bestemd voor de geadresseerde.\r\n\r\nOp 3 mrt. 2024 om 10:15 schreef Gemeente Utrecht <info@utrecht.nl>:\r\n> Uw melding is in behandeling.\r\n";
        let n = normalize(original, Channel::Email);
        assert_eq!(
            n.text,
            "Beste meneer,\nIk heb nog steeds geen reactie gehad op mijn melding van vorige maand.\nDit is de derde keer dat ik mail."
        );
        assert_eq!(n.kind, TextKind::Email);
        let reasons: Vec<RemovedReason> = n.removed.iter().map(|r| r.reason).collect();
        assert_eq!(
            reasons,
            [
                RemovedReason::Signature,
                RemovedReason::Disclaimer,
                RemovedReason::QuotedReply
            ]
        );
        assert_eq!(
            removed_text(original, &n, RemovedReason::Signature),
            ["Met vriendelijke groet,\r\nPiet de Boer\r\n06-12345678"]
        );
    }

    #[test]
    fn stripping_everything_falls_back_to_folded_text() {
        let original = "> Alleen een geciteerde regel\n> en nog een";
        let n = normalize(original, Channel::Email);
        assert_eq!(n.text, "> Alleen een geciteerde regel\n> en nog een");
        assert!(n.removed.is_empty());
    }

    #[test]
    fn transcript_without_citizen_turns_keeps_everything() {
        let original = "Medewerker: Goedemiddag, waarmee kan ik u helpen?\nKCC: Ik verbind u door.";
        let n = normalize(original, Channel::Telefoon);
        assert_eq!(n.kind, TextKind::Transcript);
        assert_eq!(n.citizen_turns, 0);
        assert_eq!(
            n.text,
            "Medewerker: Goedemiddag, waarmee kan ik u helpen?\nKCC: Ik verbind u door."
        );
    }

    #[test]
    fn transcript_evidence_maps_back_to_citizen_words() {
        let original =
            "Medewerker: Wilt u een klacht indienen?\r\nBurger: Ja, niemand belt me terug.";
        let n = normalize(original, Channel::Balie);
        assert_eq!(n.text, "Ja, niemand belt me terug.");
        let i = n.text.find("niemand").unwrap();
        let span = n.original_span_of_bytes(i, i + "niemand".len()).unwrap();
        assert_eq!(orig_slice(original, span), "niemand");
    }

    fn arb_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z ]{0,12}",
            Just("e\u{301}".to_string()),
            Just("\u{301}".to_string()),
            Just("a\u{316}\u{301}\u{302}".to_string()),
            Just("\u{1100}\u{1161}\u{11a8}".to_string()),
            Just("\u{212b}".to_string()),
            Just("\u{0344}".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
            Just("\n".to_string()),
            Just("\n> ".to_string()),
            Just("\nMedewerker: ".to_string()),
            Just("\nBurger: ".to_string()),
            Just("\n[10:32] Klant: ".to_string()),
            Just("\nMet vriendelijke groet,\n".to_string()),
            Just("\nOp 1 mei 2024 schreef Jan <j@x.nl>:\n".to_string()),
            Just("\nVan: x\nAan: y\n".to_string()),
            Just("\u{a0}\u{200b}\t ".to_string()),
            Just("\u{ad}".to_string()),
            any::<char>().prop_map(|c| c.to_string()),
        ]
    }

    fn arb_text() -> impl Strategy<Value = String> {
        prop::collection::vec(arb_piece(), 0..24).prop_map(|v| v.concat())
    }

    fn check_invariants(original: &str, channel: Channel) -> Result<(), TestCaseError> {
        let n = normalize(original, channel);
        let orig: Vec<char> = original.chars().collect();
        let len = n.char_len();
        prop_assert_eq!(len, n.text.chars().count());
        let chars: Vec<char> = n.text.chars().collect();
        for s in 0..len {
            for e in s + 1..=len.min(s + 40) {
                let (a, b) = n.original_span(s, e).expect("span in range");
                prop_assert!(
                    a < b && b <= orig.len(),
                    "span {:?} of {}",
                    (a, b),
                    orig.len()
                );
            }
            if let Some((a, b)) = n.original_span(s, len) {
                prop_assert!(a < b && b <= orig.len());
            }
        }
        // Chars that share one source are the NFC of that source (an expansion like U+0344 gives
        // two chars from one); in particular a char from a single original char equals it after
        // NFC. Folded whitespace is exempt: it becomes " " or "\n".
        let mut s = 0;
        while s < len {
            let src = n.sources[s];
            let mut e = s + 1;
            while e < len && n.sources[e] == src {
                e += 1;
            }
            let group: String = chars[s..e].iter().collect();
            let from: Vec<char> = orig[src.0..src.0 + src.1].to_vec();
            let folded = group.chars().all(char::is_whitespace)
                && from.iter().all(|&c| offsets::is_fold_space(c));
            if !folded
                && !from
                    .iter()
                    .any(|&c| offsets::is_fold_space(c) || c == '\u{ad}')
            {
                let nfc: String = from.iter().collect::<String>().nfc().collect();
                prop_assert_eq!(&nfc, &group, "source {:?}", src);
            }
            if src.1 == 1 && !folded {
                let nfc: String = std::iter::once(from[0]).nfc().collect();
                prop_assert_eq!(nfc, group);
            }
            s = e;
        }
        prop_assert_eq!(n.original_span(0, len + 1), None);
        // The evidence is NFC and folded.
        prop_assert_eq!(n.text.nfc().collect::<String>(), n.text.clone());
        prop_assert_eq!(n.text.trim(), n.text.as_str());
        prop_assert!(!n.text.contains("  ") && !n.text.contains(" \n") && !n.text.contains("\n "));
        prop_assert!(!n.text.contains("\n\n"));
        if original.chars().any(char::is_alphabetic) {
            prop_assert!(!n.is_empty());
        }
        for r in &n.removed {
            prop_assert!(r.start < r.end && r.end <= orig.len());
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn every_span_maps_back_in_range(original in arb_text()) {
            check_invariants(&original, Channel::Unspecified)?;
            check_invariants(&original, Channel::Telefoon)?;
        }

        #[test]
        fn arbitrary_unicode_maps_back_in_range(original in "\\PC{0,60}") {
            check_invariants(&original, Channel::Email)?;
        }

        #[test]
        fn plain_text_equals_folded_nfc(original in "[a-f\u{301}\u{308} \t\r\n\u{a0}]{0,60}") {
            let n = normalize(&original, Channel::Unspecified);
            let nfc: String = original.nfc().collect();
            let folded: Vec<String> = nfc
                .split(['\n', '\r'])
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|l| !l.is_empty())
                .collect();
            let expected = folded.join("\n");
            prop_assert_eq!(n.text, expected);
        }
    }
}
