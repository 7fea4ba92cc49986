//! The cue stage: lexicon phrases found in the evidence text, each with its family, the label
//! it supports and whether a negation covers it.
//!
//! Offsets here are in Unicode scalar values into the text that was searched (the normalised
//! evidence); the pipeline maps them back to the original message text.

pub mod lexicon;

pub use lexicon::Lexicon;

use crate::domain::{Label, Lang};
use crate::pipeline::types::Family;

/// A cue in the searched text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextCue {
    /// Start, in chars of the searched text.
    pub start: usize,
    /// End (exclusive), in chars of the searched text.
    pub end: usize,
    /// Its family.
    pub family: Family,
    /// The label its family supports.
    pub supports: Label,
    /// Covered by a negation ("geen klacht"): not counted as support.
    pub negated: bool,
}

/// Find the cues of `lang` in `text`, in text order.
pub fn find(lexicon: &Lexicon, text: &str, lang: Lang) -> Vec<TextCue> {
    let hits = lexicon.find(text, lang);
    if hits.is_empty() {
        return Vec::new();
    }
    let negations: Vec<(usize, usize)> = hits
        .iter()
        .filter(|h| h.family == Family::Ontkenning)
        .map(|h| (h.start, h.end))
        .collect();
    let mut chars = CharIndex::new(text);
    hits.iter()
        .map(|h| {
            let negated = h.family != Family::Ontkenning
                && negations.iter().any(|&(s, e)| s <= h.start && h.end <= e);
            TextCue {
                start: chars.char_at(h.start),
                end: chars.char_at(h.end),
                family: h.family,
                supports: lexicon.family(h.family).supports,
                negated,
            }
        })
        .collect()
}

/// Counts of non-negated cues per family, in [`Family::ALL`] order: the model's cue features.
pub fn family_counts(cues: &[TextCue]) -> [u32; Family::ALL.len()] {
    let mut counts = [0u32; Family::ALL.len()];
    for c in cues.iter().filter(|c| !c.negated) {
        counts[c.family.index()] += 1;
    }
    counts
}

/// Converts byte offsets to char offsets for offsets that mostly increase.
pub(crate) struct CharIndex<'a> {
    text: &'a str,
    byte: usize,
    chars: usize,
}

impl<'a> CharIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        CharIndex {
            text,
            byte: 0,
            chars: 0,
        }
    }

    pub(crate) fn char_at(&mut self, byte: usize) -> usize {
        if byte < self.byte {
            self.byte = 0;
            self.chars = 0;
        }
        self.chars += self.text[self.byte..byte].chars().count();
        self.byte = byte;
        self.chars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        Lexicon::builtin().unwrap()
    }

    fn slice(text: &str, c: &TextCue) -> String {
        text.chars().skip(c.start).take(c.end - c.start).collect()
    }

    #[test]
    fn cues_carry_family_and_label() {
        let text = "Ik ben erg teleurgesteld, ik ben niet teruggebeld.";
        let cues = find(&lex(), text, Lang::Nl);
        let fams: Vec<_> = cues.iter().map(|c| (slice(text, c), c.family)).collect();
        assert!(
            fams.contains(&("teleurgesteld".into(), Family::Ongenoegen)),
            "{fams:?}"
        );
        assert!(
            fams.contains(&("niet teruggebeld".into(), Family::Proces)),
            "{fams:?}"
        );
        assert!(cues
            .iter()
            .all(|c| c.supports == Label::Klacht || c.family != Family::Ongenoegen));
    }

    #[test]
    fn geen_klacht_negates_the_word_klacht() {
        let text = "Ik wil geen klacht indienen, maar de lamp is kapot.";
        let cues = find(&lex(), text, Lang::Nl);
        let klacht = cues
            .iter()
            .find(|c| c.family == Family::Klachtwoord)
            .unwrap();
        assert!(klacht.negated);
        assert!(cues.iter().any(|c| c.family == Family::Ontkenning));
        assert_eq!(family_counts(&cues)[Family::Klachtwoord.index()], 0);
    }

    #[test]
    fn offsets_are_chars_not_bytes() {
        let text = "Café één: ik ben teleurgesteld";
        let cues = find(&lex(), text, Lang::Nl);
        let c = cues
            .iter()
            .find(|c| c.family == Family::Ongenoegen)
            .unwrap();
        assert_eq!(slice(text, c), "teleurgesteld");
    }

    #[test]
    fn english_cues() {
        let text = "I reported it twice already and still nothing. Very disappointed.";
        let cues = find(&lex(), text, Lang::En);
        assert!(cues.iter().any(|c| c.family == Family::Herhaling));
        assert!(cues.iter().any(|c| c.family == Family::Ongenoegen));
    }
}
