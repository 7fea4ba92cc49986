//! Line splitting, Unicode NFC and whitespace folding with a per-character map back to the
//! original text.
//!
//! Every character that the normalizer produces carries its *source*: the char index in the
//! original text where it starts and how many original chars it stands for. A composed "é" from
//! "e\u{301}" has a source of length 2, a folded whitespace run has the length of the run.
//! Sources are non-decreasing, so any span of normalized chars maps to one contiguous span of
//! original chars.

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// Where one normalized char came from: (original char index, length in original chars).
pub(crate) type Source = (usize, usize);

/// One line of the original text, normalized.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// NFC text with whitespace runs folded to one space, trimmed.
    pub text: String,
    /// For each char of `text`, its source in the original text.
    pub src: Vec<Source>,
    /// Original char index just past the line terminator (equals the content end on the last
    /// line, which has none).
    pub term_end: usize,
}

impl Line {
    /// True when the line has no visible content.
    pub fn is_blank(&self) -> bool {
        self.text.is_empty()
    }

    /// Original span of the line's content chars from char `from` on, or None when empty.
    pub fn span_from(&self, from: usize) -> Option<(usize, usize)> {
        let first = self.src.get(from)?;
        let last = self.src.last()?;
        Some((first.0, last.0 + last.1))
    }

    /// Original span of the chars `[from, to)` of the line, or None when empty.
    pub fn span_between(&self, from: usize, to: usize) -> Option<(usize, usize)> {
        if from >= to || to > self.src.len() {
            return None;
        }
        let first = self.src[from];
        let last = self.src[to - 1];
        Some((first.0, last.0 + last.1))
    }
}

/// Whitespace for folding: Unicode White_Space (which includes NBSP), zero-width characters
/// and other control characters.
pub(crate) fn is_fold_space(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}'
        )
        || c.is_control()
}

/// Characters dropped without a trace: the soft hyphen, which only marks where a word may break.
fn is_dropped(c: char) -> bool {
    c == '\u{00AD}'
}

/// Split the original text into lines (LF, CRLF, CR, VT, FF, NEL, LS, PS end a line) and
/// normalize each one. Returns the lines and the original length in chars.
pub(crate) fn split_lines(original: &str) -> (Vec<Line>, usize) {
    let mut lines = Vec::new();
    let mut buf: Vec<char> = Vec::new();
    let mut line_start = 0usize;
    let mut chars = original.chars().peekable();
    let mut idx = 0usize;
    while let Some(c) = chars.next() {
        let term_len = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                    2
                } else {
                    1
                }
            }
            '\n' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => 1,
            _ => 0,
        };
        if term_len == 0 {
            buf.push(c);
            idx += 1;
            continue;
        }
        lines.push(normalize_line(&buf, line_start, idx + term_len));
        idx += term_len;
        line_start = idx;
        buf.clear();
    }
    if !buf.is_empty() || lines.is_empty() {
        lines.push(normalize_line(&buf, line_start, idx));
    }
    (lines, idx)
}

/// NFC-normalize and fold one line whose first char has original index `base`.
fn normalize_line(chars: &[char], base: usize, term_end: usize) -> Line {
    let indexed: Vec<(char, usize)> = chars
        .iter()
        .enumerate()
        .filter(|&(_, &c)| !is_dropped(c))
        .map(|(i, &c)| (c, base + i))
        .collect();
    let composed = nfc_with_sources(&indexed);
    let mut text = String::with_capacity(composed.len());
    let mut src = Vec::with_capacity(composed.len());
    // Pending whitespace run: (original start, original end).
    let mut pending: Option<(usize, usize)> = None;
    for (c, (s, l)) in composed {
        if is_fold_space(c) {
            pending = Some(match pending {
                Some((ps, pe)) => (ps, pe.max(s + l)),
                None => (s, s + l),
            });
            continue;
        }
        if let Some((ps, pe)) = pending.take() {
            if !text.is_empty() {
                text.push(' ');
                src.push((ps, pe - ps));
            }
        }
        text.push(c);
        src.push((s, l));
    }
    Line {
        text,
        src,
        term_end,
    }
}

/// A char before which NFC composition can restart: a starter that never combines with what
/// precedes it.
fn is_composition_boundary(c: char) -> bool {
    canonical_combining_class(c) == 0 && is_nfc_quick(std::iter::once(c)) == IsNormalized::Yes
}

/// NFC of `chars` (each with its original index) with, for every output char, its source in
/// the original text. Text is cut into chunks at composition boundaries; a chunk that NFC leaves
/// unchanged maps char by char, otherwise every output char of the chunk maps to the whole
/// original span of the chunk.
fn nfc_with_sources(chars: &[(char, usize)]) -> Vec<(char, Source)> {
    if is_nfc_quick(chars.iter().map(|&(c, _)| c)) == IsNormalized::Yes {
        return chars.iter().map(|&(c, i)| (c, (i, 1))).collect();
    }
    let mut out = Vec::with_capacity(chars.len());
    let mut start = 0;
    while start < chars.len() {
        let mut end = start + 1;
        while end < chars.len() && !is_composition_boundary(chars[end].0) {
            end += 1;
        }
        let chunk = &chars[start..end];
        let composed: Vec<char> = chunk.iter().map(|&(c, _)| c).nfc().collect();
        if composed.iter().eq(chunk.iter().map(|(c, _)| c)) {
            out.extend(chunk.iter().map(|&(c, i)| (c, (i, 1))));
        } else {
            let first = chunk[0].1;
            let source = (first, chunk[chunk.len() - 1].1 + 1 - first);
            out.extend(composed.into_iter().map(|c| (c, source)));
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_cr_end_lines() {
        let (lines, n) = split_lines("a\r\nb\rc\nd");
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c", "d"]);
        assert_eq!(n, 8);
        assert_eq!(lines[0].term_end, 3);
        assert_eq!(lines[1].src[0], (3, 1));
    }

    #[test]
    fn decomposed_accent_composes_with_source_of_two() {
        let (lines, _) = split_lines("Cafe\u{301} dicht");
        assert_eq!(lines[0].text, "Café dicht");
        assert_eq!(lines[0].src[3], (3, 2));
        assert_eq!(lines[0].src[4], (5, 1));
    }

    #[test]
    fn whitespace_runs_fold_to_one_space() {
        let (lines, _) = split_lines("  a \t\u{a0}\u{200b} b  ");
        assert_eq!(lines[0].text, "a b");
        assert_eq!(lines[0].src[1], (3, 5));
    }

    #[test]
    fn hangul_jamo_compose_across_starters() {
        let (lines, _) = split_lines("\u{1100}\u{1161}\u{11A8}");
        assert_eq!(lines[0].text, "\u{AC01}");
        assert_eq!(lines[0].src[0], (0, 3));
    }

    #[test]
    fn soft_hyphen_is_dropped_before_composition() {
        let (lines, _) = split_lines("A\u{30a}\u{ad}\u{301}");
        assert_eq!(lines[0].text, "\u{1fa}");
        assert_eq!(lines[0].src[0], (0, 4));
    }

    #[test]
    fn soft_hyphen_is_dropped() {
        let (lines, _) = split_lines("kla\u{ad}cht");
        assert_eq!(lines[0].text, "klacht");
        assert_eq!(lines[0].src[3], (4, 1));
    }
}
