//! Language detection: Dutch or English.
//!
//! Method: count frequent function words of each language ("de", "het", "niet", … vs "the",
//! "and", "not", …) in the text and pick the language with more hits, Dutch on a tie.
//! Why: only two languages matter here, messages are short and full of Dutch names and street
//! names that fool character-statistics detectors, and a word count is explainable, needs no
//! model and costs a microsecond. Dutch wins ties because it is the municipality's language.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::domain::Lang;

const DUTCH: &[&str] = &[
    "de", "het", "een", "en", "ik", "je", "jij", "u", "uw", "wij", "we", "niet", "geen", "van",
    "is", "dat", "die", "op", "met", "voor", "zijn", "wordt", "worden", "mijn", "er", "ook", "al",
    "nog", "maar", "naar", "bij", "om", "te", "heb", "heeft", "hebben", "was", "kan", "kunt",
    "wil", "graag", "dit", "deze", "wat", "waarom", "hoe", "wel", "dan", "als", "uit", "over",
    "nu", "weer", "door", "zou", "moet", "gemeente", "geachte", "groet", "mij", "ons", "onze",
];

const ENGLISH: &[&str] = &[
    "the",
    "and",
    "i",
    "is",
    "not",
    "to",
    "of",
    "a",
    "my",
    "it",
    "for",
    "with",
    "this",
    "that",
    "you",
    "your",
    "was",
    "have",
    "has",
    "been",
    "are",
    "be",
    "we",
    "our",
    "no",
    "on",
    "at",
    "in",
    "can",
    "would",
    "please",
    "why",
    "how",
    "what",
    "there",
    "they",
    "from",
    "but",
    "again",
    "still",
    "do",
    "does",
    "did",
    "will",
    "just",
    "me",
    "dear",
    "regards",
    "thanks",
    "municipality",
];

fn sets() -> &'static (HashSet<&'static str>, HashSet<&'static str>) {
    static SETS: OnceLock<(HashSet<&'static str>, HashSet<&'static str>)> = OnceLock::new();
    SETS.get_or_init(|| {
        (
            DUTCH.iter().copied().collect(),
            ENGLISH.iter().copied().collect(),
        )
    })
}

/// Detect the language of `text`: Dutch or English.
pub fn detect(text: &str) -> Lang {
    let (nl, en) = sets();
    let (mut n, mut e) = (0u32, 0u32);
    for word in text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .take(400)
    {
        let w = word.to_lowercase();
        if nl.contains(w.as_str()) {
            n += 1;
        }
        if en.contains(w.as_str()) {
            e += 1;
        }
    }
    if e > n {
        Lang::En
    } else {
        Lang::Nl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dutch_complaint_is_dutch() {
        assert_eq!(
            detect("Ik ben al drie keer niet teruggebeld door de gemeente."),
            Lang::Nl
        );
    }

    #[test]
    fn english_complaint_is_english() {
        assert_eq!(
            detect("I reported the broken street light on Merelstraat twice and nothing happened."),
            Lang::En
        );
    }

    #[test]
    fn dutch_wins_a_tie() {
        assert_eq!(detect("Merelstraat 22"), Lang::Nl);
        assert_eq!(detect(""), Lang::Nl);
    }

    #[test]
    fn english_with_dutch_names_is_english() {
        assert_eq!(
            detect("Dear gemeente Utrecht, my WOZ beschikking for Oudegracht 12 is wrong and I want it reviewed."),
            Lang::En
        );
    }
}
