//! Regex searches on text with non-ASCII characters at the lazy DFA's speed.
//!
//! The regex crate's fast engine (a lazy DFA) handles a Unicode word boundary (`\b`) only on
//! ASCII: at the first non-ASCII byte it gives up and the search runs again in the slow one
//! (the PikeVM), over the whole text. One "ê" in a page-long message made the repeat stage's
//! few dozen searches 13 ms instead of 3 (measured on the 2-core machine, `benches/data/
//! mix_unseen.jsonl` line 118; a third of that mix has a non-ASCII character).
//!
//! A [`Hay`] searches the text's **ASCII shadow** instead: every non-ASCII character replaced
//! by as many ASCII bytes as it takes in UTF-8 — `q` for a word character (what `\w` matches:
//! letters, digits, marks), a space for white space, `\x7f` for anything else (punctuation,
//! symbols, emoji). Byte offsets are the same in both, so a match's span names the original
//! text, and a word boundary falls where it falls in the original. For patterns written in
//! ASCII (the repeat vocabulary, addresses, case references) a match in the shadow is the
//! match in the original, with two exceptions: a class that takes any character (`\p{L}`,
//! `\w`, `.`, `[^']`) sees a non-ASCII one as two to four (the same span for `\p{L}+`, but
//! a landmark's quoted name, `'[^']{2,40}'`, is limited to 40 bytes rather than characters),
//! and a `q` in a pattern (or a class with `q`) matches a non-ASCII letter. A match whose span
//! does not fall on the original's character boundaries is left out.

use std::borrow::Cow;

use regex::Regex;

/// The shadow's byte for a non-ASCII word character.
const WORD: u8 = b'q';
/// The shadow's byte for a non-ASCII character that is neither a word character nor space.
const OTHER: u8 = 0x7f;

/// `text` as searched: itself when it is ASCII, otherwise its ASCII shadow (see the module).
pub fn ascii_shadow(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c as u8);
            continue;
        }
        let byte = if regex_syntax::is_word_character(c) {
            WORD
        } else if c.is_whitespace() {
            b' '
        } else {
            OTHER
        };
        out.extend(std::iter::repeat_n(byte, c.len_utf8()));
    }
    Cow::Owned(String::from_utf8(out).expect("ASCII bytes only"))
}

/// A text and the haystack its regexes search (see the module).
pub struct Hay<'a> {
    text: &'a str,
    shadow: Cow<'a, str>,
}

impl<'a> Hay<'a> {
    pub fn new(text: &'a str) -> Hay<'a> {
        Hay {
            text,
            shadow: ascii_shadow(text),
        }
    }

    /// The text itself.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Whether `re` matches somewhere.
    pub fn is_match(&self, re: &Regex) -> bool {
        re.is_match(&self.shadow)
    }

    /// The matches of `re`, left to right, as spans of the text: `(start, end, slice)`.
    pub fn find_iter<'h>(
        &'h self,
        re: &'h Regex,
    ) -> impl Iterator<Item = (usize, usize, &'a str)> + 'h {
        re.find_iter(&self.shadow)
            .filter_map(|m| Some((m.start(), m.end(), self.text.get(m.range())?)))
    }

    /// The matches of `re` with their groups, left to right.
    pub fn captures_iter<'h>(&'h self, re: &'h Regex) -> impl Iterator<Item = Groups<'a>> + 'h {
        re.captures_iter(&self.shadow).filter_map(|c| {
            let groups: Vec<Option<&'a str>> = c
                .iter()
                .map(|g| g.and_then(|g| self.text.get(g.range())))
                .collect();
            // A group that matched but does not fall on character boundaries: left out.
            let whole = c
                .iter()
                .zip(&groups)
                .all(|(g, t)| g.is_none() || t.is_some());
            whole.then_some(Groups(groups))
        })
    }

    /// The pieces of the text between the matches of `re` (as `Regex::split`).
    pub fn split(&self, re: &Regex) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut last = 0;
        for m in re.find_iter(&self.shadow) {
            if let (Some(piece), true) = (
                self.text.get(last..m.start()),
                self.text.is_char_boundary(m.end()),
            ) {
                out.push(piece);
                last = m.end();
            }
        }
        out.push(&self.text[last..]);
        out
    }
}

/// A match's groups as text (group 0 the whole match); a group that took no part is `None`.
pub struct Groups<'a>(Vec<Option<&'a str>>);

impl<'a> Groups<'a> {
    pub fn get(&self, i: usize) -> Option<&'a str> {
        self.0.get(i).copied().flatten()
    }
}

impl std::ops::Index<usize> for Groups<'_> {
    type Output = str;

    /// Group `i`; panics when it took no part, as `regex::Captures` does.
    fn index(&self, i: usize) -> &str {
        self.get(i)
            .unwrap_or_else(|| panic!("no group {i} in this match"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shadow_keeps_offsets_and_word_boundaries() {
        let text = "Café “De Kroon” – één ê’s\u{a0}😀 x";
        let shadow = ascii_shadow(text);
        assert!(shadow.is_ascii());
        assert_eq!(shadow.len(), text.len());
        for (i, _) in text.char_indices() {
            assert!(shadow.is_char_boundary(i));
        }
        let words = Regex::new(r"\b\w+\b").unwrap();
        let original: Vec<_> = words.find_iter(text).map(|m| m.range()).collect();
        let shadowed: Vec<_> = words.find_iter(&shadow).map(|m| m.range()).collect();
        assert_eq!(original, shadowed);
        assert!(matches!(ascii_shadow("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn matches_name_the_original_text() {
        let re = Regex::new(r"(?i)\b(kroon|straat)\b\s*(\d+)?").unwrap();
        let hay = Hay::new("De Kroon 12 in de Röntgenstraat, “straat” ê");
        let found: Vec<_> = hay.find_iter(&re).map(|(_, _, s)| s).collect();
        assert_eq!(found, ["Kroon 12", "straat"]);
        let groups: Vec<_> = hay.captures_iter(&re).collect();
        assert_eq!(&groups[0][1], "Kroon");
        assert_eq!(groups[0].get(2), Some("12"));
        assert_eq!(groups[1].get(2), None);
        let clauses = Regex::new(r"[,.]\s*").unwrap();
        assert_eq!(
            Hay::new("één, twee. drié").split(&clauses),
            "één, twee. drié"
                .split(", ")
                .flat_map(|s| s.split(". "))
                .collect::<Vec<_>>()
        );
        assert!(Hay::new("ê straat").is_match(&re));
        assert!(!Hay::new("ê straatje").is_match(&re));
    }
}
