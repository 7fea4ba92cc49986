//! Evidence against a trainer's marks: `herken eval FILE --evidence`.
//!
//! A labelled file may carry, per message, `cues`: the phrases (exact substrings of the text)
//! a complaint trainer highlights as the evidence for its label. Against them:
//! - **recall**: of the marked phrases, the share that some shown cue overlaps (any cue, of
//!   any family or label, negated or not: what the trainer sees highlighted);
//! - **precision**: of the cues that back the chosen label (its `supports` is the predicted
//!   label, not negated), the share that overlaps a marked phrase;
//! - **coverage**: the share of the texts' characters that some cue highlights (the union of
//!   the cue spans over all characters), so that highlighting everything does not pass.
//!
//! All three are micro-averaged (pooled over messages), overall, per gold label and per
//! language. Offsets are in Unicode scalar values, as the cues' are. A marked phrase that
//! does not occur in the text is counted as unlocated and left out of recall.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::Label;
use crate::pipeline::types::Cue;

/// One message to score: its text, labels, the trainer's marked phrases and herken's cues.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The message id (for the list of misses).
    pub id: &'a str,
    /// The original text the cue offsets point into.
    pub text: &'a str,
    /// The right label.
    pub gold: Label,
    /// The label herken chose.
    pub predicted: Label,
    /// The language group ("nl", "en").
    pub lang: &'a str,
    /// The trainer's marked phrases.
    pub marked: &'a [String],
    /// herken's cues, offsets into `text`.
    pub cues: &'a [Cue],
}

/// Pooled counts of one group of messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Messages.
    pub messages: usize,
    /// Marked phrases found in their texts.
    pub marked: usize,
    /// Marked phrases overlapped by some cue.
    pub marked_covered: usize,
    /// Marked phrases not found in the text (left out of recall).
    pub unlocated: usize,
    /// Cues that back the chosen label.
    pub backing: usize,
    /// Cues that back the chosen label and overlap a marked phrase.
    pub backing_on_mark: usize,
    /// Characters of the texts.
    pub chars: usize,
    /// Characters under some cue.
    pub chars_highlighted: usize,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.messages += o.messages;
        self.marked += o.marked;
        self.marked_covered += o.marked_covered;
        self.unlocated += o.unlocated;
        self.backing += o.backing;
        self.backing_on_mark += o.backing_on_mark;
        self.chars += o.chars;
        self.chars_highlighted += o.chars_highlighted;
    }

    /// Share of marked phrases overlapped by a cue (0 when there are none).
    pub fn recall(&self) -> f64 {
        ratio(self.marked_covered, self.marked)
    }

    /// Share of backing cues that overlap a marked phrase (0 when there are none).
    pub fn precision(&self) -> f64 {
        ratio(self.backing_on_mark, self.backing)
    }

    /// Share of characters highlighted.
    pub fn coverage(&self) -> f64 {
        ratio(self.chars_highlighted, self.chars)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// A marked phrase no cue overlaps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    /// The message id.
    pub id: String,
    /// The gold label.
    pub label: Label,
    /// The marked phrase.
    pub phrase: String,
}

/// The evidence scores of a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// All messages with marks.
    pub all: Counts,
    /// Per gold label.
    pub by_label: BTreeMap<String, Counts>,
    /// Per language.
    pub by_lang: BTreeMap<String, Counts>,
    /// Marked phrases no cue overlaps, in file order.
    pub misses: Vec<Miss>,
}

/// The char spans (start, end) of every occurrence of `phrase` in `text`.
fn occurrences(text: &str, phrase: &str) -> Vec<(usize, usize)> {
    if phrase.is_empty() {
        return Vec::new();
    }
    let len = phrase.chars().count();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(phrase) {
        let byte = from + at;
        let start = text[..byte].chars().count();
        out.push((start, start + len));
        // Next search from the char after this occurrence's first char.
        from = byte + text[byte..].chars().next().map_or(1, char::len_utf8);
    }
    out
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Score one message; the misses are appended to `misses`.
pub fn score_item(item: &Item<'_>, misses: &mut Vec<Miss>) -> Counts {
    let chars = item.text.chars().count();
    let mut c = Counts {
        messages: 1,
        chars,
        ..Counts::default()
    };
    let spans: Vec<(usize, usize)> = item
        .cues
        .iter()
        .map(|q| (q.start.min(chars), q.end.min(chars)))
        .filter(|(s, e)| s < e)
        .collect();
    let mut marks: Vec<(usize, usize)> = Vec::new();
    for phrase in item.marked {
        let occ = occurrences(item.text, phrase);
        if occ.is_empty() {
            c.unlocated += 1;
            continue;
        }
        c.marked += 1;
        if occ.iter().any(|o| spans.iter().any(|s| overlaps(*o, *s))) {
            c.marked_covered += 1;
        } else {
            misses.push(Miss {
                id: item.id.to_string(),
                label: item.gold,
                phrase: phrase.clone(),
            });
        }
        marks.extend(occ);
    }
    for q in item
        .cues
        .iter()
        .filter(|q| q.supports == item.predicted && !q.negated)
    {
        c.backing += 1;
        if marks.iter().any(|m| overlaps(*m, (q.start, q.end))) {
            c.backing_on_mark += 1;
        }
    }
    let mut lit = vec![false; chars];
    for (s, e) in spans {
        lit[s..e].iter_mut().for_each(|x| *x = true);
    }
    c.chars_highlighted = lit.iter().filter(|x| **x).count();
    c
}

/// Score every item (items without marked phrases should be left out by the caller).
pub fn report(items: &[Item<'_>]) -> Report {
    let mut r = Report::default();
    for item in items {
        let c = score_item(item, &mut r.misses);
        r.all.add(&c);
        r.by_label
            .entry(item.gold.as_str().to_string())
            .or_default()
            .add(&c);
        r.by_lang.entry(item.lang.to_string()).or_default().add(&c);
    }
    r
}

/// The report as a readable table with the misses below it.
pub fn render(r: &Report, skipped: usize) -> String {
    let mut s = format!(
        "evidence against the marked phrases ({} messages, {} phrases{}{})\n",
        r.all.messages,
        r.all.marked,
        if r.all.unlocated > 0 {
            format!(", {} not found in their text", r.all.unlocated)
        } else {
            String::new()
        },
        if skipped > 0 {
            format!("; {skipped} lines without cues skipped")
        } else {
            String::new()
        }
    );
    s.push_str(&format!(
        "{:<14} {:>4} {:>7} {:>7} {:>9} {:>7} {:>9}\n",
        "", "n", "phrases", "recall", "precision", "cues", "coverage"
    ));
    let row = |name: &str, c: &Counts| {
        format!(
            "{:<14} {:>4} {:>7} {:>7.3} {:>9.3} {:>7} {:>8.1}%\n",
            name,
            c.messages,
            c.marked,
            c.recall(),
            c.precision(),
            c.backing,
            100.0 * c.coverage()
        )
    };
    s.push_str(&row("all", &r.all));
    for l in Label::ALL {
        if let Some(c) = r.by_label.get(l.as_str()) {
            s.push_str(&row(&format!("  {}", l.as_str()), c));
        }
    }
    for (lang, c) in &r.by_lang {
        s.push_str(&row(&format!("  lang {lang}"), c));
    }
    s.push_str("(cues: cues backing the chosen label, the denominator of precision)\n");
    if !r.misses.is_empty() {
        s.push_str(&format!(
            "\nmarked phrases no cue overlaps ({}):\n",
            r.misses.len()
        ));
        for m in &r.misses {
            s.push_str(&format!("- {} [{}] \"{}\"\n", m.id, m.label, m.phrase));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::types::Family;

    /// A cue on the first occurrence of `phrase` in `text`.
    fn cue(text: &str, phrase: &str, supports: Label) -> Cue {
        let (start, end) = occurrences(text, phrase)[0];
        Cue {
            start,
            end,
            text: phrase.into(),
            family: Family::Ongenoegen,
            supports,
            negated: false,
            from_model: false,
            weight: 0.0,
        }
    }

    fn item<'a>(text: &'a str, marked: &'a [String], cues: &'a [Cue]) -> Item<'a> {
        Item {
            id: "m1",
            text,
            gold: Label::Klacht,
            predicted: Label::Klacht,
            lang: "nl",
            marked,
            cues,
        }
    }

    #[test]
    fn occurrences_are_in_chars_and_all_found() {
        assert_eq!(occurrences("één en één", "één"), vec![(0, 3), (7, 10)]);
        assert_eq!(occurrences("aaa", "aa"), vec![(0, 2), (1, 3)]);
        assert!(occurrences("abc", "x").is_empty());
        assert!(occurrences("abc", "").is_empty());
    }

    #[test]
    fn hand_computed_example() {
        // 40 chars; two marked phrases, one covered; three cues, two back klacht, one of
        // which lies on a mark; the melding cue neither counts for nor against precision.
        let text = "Straatlamp kapot. Ik bel nu al weken ééé";
        assert_eq!(text.chars().count(), 40);
        let marked = vec!["al weken".to_string(), "Straatlamp kapot".to_string()];
        let cues = vec![
            cue(text, "Straatlamp", Label::Melding),
            cue(text, "bel", Label::Klacht),
            cue(text, "weken", Label::Klacht),
        ];
        let mut misses = Vec::new();
        let c = score_item(&item(text, &marked, &cues), &mut misses);
        assert_eq!((c.marked, c.marked_covered), (2, 2));
        assert_eq!((c.backing, c.backing_on_mark), (2, 1));
        assert_eq!(c.chars_highlighted, 10 + 3 + 5);
        assert!((c.coverage() - 18.0 / 40.0).abs() < 1e-9);
        assert!(misses.is_empty());
    }

    #[test]
    fn an_uncovered_phrase_is_a_miss_and_touching_is_not_overlap() {
        let text = "nooit gebeld, niemand reageert";
        let marked = vec!["niemand reageert".to_string()];
        // Ends exactly where the phrase begins: no overlap.
        let cues = vec![cue(text, "nooit gebeld, ", Label::Klacht)];
        let mut misses = Vec::new();
        let c = score_item(&item(text, &marked, &cues), &mut misses);
        assert_eq!((c.marked, c.marked_covered), (1, 0));
        assert_eq!((c.backing, c.backing_on_mark), (1, 0));
        assert_eq!(misses.len(), 1);
        assert_eq!(misses[0].phrase, "niemand reageert");
    }

    #[test]
    fn negated_cues_and_cues_for_other_labels_do_not_count_for_precision() {
        let text = "geen klacht maar een vraag";
        let marked = vec!["een vraag".to_string()];
        let mut negated = cue(text, "klacht", Label::Klacht);
        negated.negated = true;
        let cues = vec![negated, cue(text, "vraag", Label::Overig)];
        let mut it = item(text, &marked, &cues);
        it.predicted = Label::Overig;
        it.gold = Label::Overig;
        let r = report(&[it]);
        assert_eq!((r.all.backing, r.all.backing_on_mark), (1, 1));
        assert_eq!(r.all.recall(), 1.0);
        assert_eq!(r.by_label["overig"].messages, 1);
        assert_eq!(r.by_lang["nl"].marked, 1);
    }

    #[test]
    fn unlocated_phrases_are_left_out_and_empty_groups_score_zero() {
        let text = "lamp kapot";
        let marked = vec!["not in the text".to_string()];
        let r = report(&[item(text, &marked, &[])]);
        assert_eq!((r.all.marked, r.all.unlocated), (0, 1));
        assert_eq!(r.all.recall(), 0.0);
        assert_eq!(r.all.precision(), 0.0);
        assert_eq!(r.all.coverage(), 0.0);
        assert!(render(&r, 3).contains("3 lines without cues skipped"));
    }

    #[test]
    fn overlapping_cues_count_their_characters_once() {
        let text = "abcdefghij";
        let marked = vec!["cde".to_string()];
        let cues = vec![
            cue(text, "abcd", Label::Klacht),
            cue(text, "cdef", Label::Klacht),
        ];
        let r = report(&[item(text, &marked, &cues)]);
        assert_eq!(r.all.chars_highlighted, 6);
        assert_eq!(r.all.precision(), 1.0);
    }
}
