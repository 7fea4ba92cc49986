//! Exercise sets for training sessions (`data/training/oefenen.jsonl`, built into the binary):
//! messages written for the project with their label, the signals a trainer points at and a
//! short teaching note. Used by the Oefenen and zaalmodus pages and by `herken quiz`.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::domain::{Channel, Label};

const OEFENEN: &str = include_str!("../data/training/oefenen.jsonl");

/// One exercise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exercise {
    /// Stable id, e.g. `basis-01`.
    pub id: String,
    /// The set it belongs to (`basis`, `gevorderd`, `english`).
    pub set: String,
    /// The message.
    pub text: String,
    /// How it arrived.
    pub channel: Channel,
    /// `nl` or `en`.
    pub lang: String,
    /// The right answer.
    pub label: Label,
    /// The hard case of DOMAIN.md it practises (empty for a plain one).
    #[serde(default)]
    pub case: String,
    /// The phrases a trainer points at, each literally in `text`.
    #[serde(default)]
    pub cues: Vec<String>,
    /// Why the answer is what it is, for the trainee.
    pub teaching_note: String,
}

/// The sets in the order they are offered, with a Dutch description.
pub const SETS: &[(&str, &str)] = &[
    ("basis", "Basis: De vijf soorten berichten."),
    (
        "gevorderd",
        "Gevorderd: De lastige gevallen uit de workshop.",
    ),
    ("english", "English: Berichten van toeristen en expats."),
];

/// Every exercise, in file order.
pub fn all() -> &'static [Exercise] {
    static ALL: OnceLock<Vec<Exercise>> = OnceLock::new();
    ALL.get_or_init(|| {
        OEFENEN
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).expect("data/training/oefenen.jsonl is valid (tested)")
            })
            .collect()
    })
}

/// The exercises of one set (`None` or "alle" for all of them).
pub fn set(name: Option<&str>) -> Vec<&'static Exercise> {
    all()
        .iter()
        .filter(|e| match name {
            None | Some("alle") | Some("") => true,
            Some(n) => e.set == n,
        })
        .collect()
}

/// Whether `name` is a known set (or "alle").
pub fn is_set(name: &str) -> bool {
    name == "alle" || SETS.iter().any(|(s, _)| *s == name)
}

/// A deterministic shuffle (xorshift64*, Fisher–Yates) so a trainer can replay a round.
pub fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut v = items.to_vec();
    let mut s = seed ^ 0x9e37_79b9_7f4a_7c15;
    if s == 0 {
        s = 1;
    }
    for i in (1..v.len()).rev() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        let r = s.wrapping_mul(0x2545_f491_4f6c_dd1d);
        v.swap(i, (r % (i as u64 + 1)) as usize);
    }
    v
}

/// Character ranges (in Unicode scalar values) of the trainer's cues in the text, in text
/// order, without overlaps.
pub fn cue_spans(e: &Exercise) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for cue in &e.cues {
        if let Some(b) = e.text.find(cue.as_str()) {
            let start = e.text[..b].chars().count();
            spans.push((start, start + cue.chars().count()));
        }
    }
    spans.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for s in spans {
        match out.last_mut() {
            Some(last) if s.0 < last.1 => last.1 = last.1.max(s.1),
            _ => out.push(s),
        }
    }
    out
}

/// A label typed by a person: the Dutch name, its first letter, or the English name.
pub fn parse_answer(s: &str) -> Option<Label> {
    let s = s.trim().to_lowercase();
    Some(match s.as_str() {
        "k" | "klacht" | "complaint" => Label::Klacht,
        "m" | "melding" | "report" => Label::Melding,
        "b" | "bezwaar" | "objection" => Label::Bezwaar,
        "r" | "raadsadres" | "petition" => Label::Raadsadres,
        "o" | "overig" | "other" => Label::Overig,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sets_load_cover_every_label_and_their_cues_are_in_the_text() {
        let all = all();
        assert!(all.len() >= 60, "{} exercises", all.len());
        for l in Label::ALL {
            assert!(all.iter().any(|e| e.label == l), "no exercise for {l}");
        }
        for e in all {
            assert!(is_set(&e.set), "{}: unknown set {}", e.id, e.set);
            assert!(!e.teaching_note.trim().is_empty(), "{}: no note", e.id);
            for c in &e.cues {
                assert!(
                    e.text.contains(c.as_str()),
                    "{}: cue {c:?} not in text",
                    e.id
                );
            }
            assert!(cue_spans(e).len() <= e.cues.len());
        }
        let ids: std::collections::BTreeSet<&str> = all.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), all.len(), "ids are unique");
    }

    #[test]
    fn shuffling_is_a_permutation_and_repeatable() {
        let v: Vec<u32> = (0..50).collect();
        let a = shuffled(&v, 7);
        assert_eq!(a, shuffled(&v, 7));
        assert_ne!(a, v);
        let mut s = a.clone();
        s.sort_unstable();
        assert_eq!(s, v);
    }

    #[test]
    fn answers_are_read_as_people_type_them() {
        assert_eq!(parse_answer(" K "), Some(Label::Klacht));
        assert_eq!(parse_answer("Bezwaar"), Some(Label::Bezwaar));
        assert_eq!(parse_answer("petition"), Some(Label::Raadsadres));
        assert_eq!(parse_answer("x"), None);
    }

    #[test]
    fn cue_spans_merge_overlaps_and_count_characters() {
        let e = Exercise {
            id: "t".into(),
            set: "basis".into(),
            text: "Één lamp is kapot, al weken kapot".into(),
            channel: Channel::Email,
            lang: "nl".into(),
            label: Label::Melding,
            case: String::new(),
            cues: vec!["lamp is kapot".into(), "kapot, al".into(), "weken".into()],
            teaching_note: "n".into(),
        };
        assert_eq!(cue_spans(&e), vec![(4, 21), (22, 27)]);
    }
}
