//! The issue signature of a message: where (locations and landmarks), what (topics: the
//! object), what is wrong with it (problems), which request or case it is about (processes and
//! keyed case references), how it was worded (a MinHash sketch of its content words) and what
//! it means (the encoder's semantic sketch, see [`super::semantic`]).
//!
//! What is stored is only this signature: location keys without house numbers, topic, problem
//! and process names (those named only by context words apart), whether the message said the
//! issue persists, case references as keyed hashes, 32 hash minima and 256 sign bits — never
//! the text. Signatures stored before a field existed read it as empty.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::repeat::address;
use crate::repeat::semantic::SemanticSketch;
use crate::repeat::vocab;

const TOPICS: &str = include_str!("../../data/topics.toml");
const MINHASH_K: usize = 32;

/// Where, what and how a message speaks of its issue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// Location keys (`merelstraat`, `brink`, `lm:jumbo`; postcodes `pc:1234ab` until
    /// [`Signature::key_personal`] keys them as `pc#…`).
    pub locations: Vec<String>,
    /// Topics from `data/topics.toml` (`verlichting`, `afval`, …).
    pub topics: Vec<String>,
    /// MinHash sketch over content words (32 minima; empty for a text without content words).
    pub sketch: Vec<u32>,
    /// What is wrong (`data/problems.toml`): `uit`, `kapot`, `gedumpt`, ….
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Problems named only by context phrases ("donker" in a report about a tile): they count
    /// towards the same problem, never towards a conflict of problems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_problems: Vec<String>,
    /// The message says the issue persists ("nog steeds", "still"): an accident it tells of
    /// happened *because* of the open issue, not to it. Only a new message's is read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub says_still: bool,
    /// Which kinds of request or case it is about (`data/processes.toml`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<String>,
    /// Case references ("kenmerk 2026-0412"): in the clear only until [`Signature::key_personal`]
    /// replaces them by keyed hashes, which is done before anything is stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<String>,
    /// Topics named only by context words (`~` in `data/topics.toml`: "stoep", "auto",
    /// "donker"), which often say where or how rather than what: they count towards the same
    /// topic, never towards a conflict of topics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_topics: Vec<String>,
    /// The encoder's semantic sketch, when the encoder ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic: Option<SemanticSketch>,
}

/// A topic word: the word, and whether it is a context word (`~word` in the file).
type TopicWord = (String, bool);

fn topics_table() -> &'static Vec<(String, Vec<TopicWord>)> {
    static T: OnceLock<Vec<(String, Vec<TopicWord>)>> = OnceLock::new();
    T.get_or_init(|| {
        let raw: BTreeMap<String, Vec<String>> =
            toml::from_str(TOPICS).expect("data/topics.toml is valid (tested)");
        raw.into_iter()
            .map(|(name, words)| {
                let words = words
                    .into_iter()
                    .map(|w| match w.strip_prefix('~') {
                        Some(c) => (c.to_string(), true),
                        None => (w, false),
                    })
                    .collect();
                (name, words)
            })
            .collect()
    })
}

/// The names of the topics in `data/topics.toml`.
pub fn topic_names() -> Vec<String> {
    topics_table().iter().map(|(n, _)| n.clone()).collect()
}

/// Endings of inflection and diminutive after a topic word ("lampen", "bankje", "tiles").
const ENDINGS: &[&str] = &[
    "", "s", "es", "en", "n", "e", "je", "jes", "tje", "tjes", "pje", "pjes",
];

/// Whether topic word `w` names token `t`. A long word (six letters or more) anywhere in the
/// token ("lantaarn" in "lantaarnpaal"). A short word as the whole token, inflected
/// ("lampen", "bankje"), or as the head of a Dutch compound ("straatlamp", "zitbank"), never
/// inside another word: not "tree" in "street", "bush" in "bushalte", "paal" in "bepaald",
/// "hole" in "whole", "bank" in "bankafschrift". [`TopicIndex`] finds the same words for a
/// token without trying each; this is its reference.
#[cfg(test)]
fn names(t: &str, w: &str) -> bool {
    let wl = w.chars().count();
    if wl >= 6 {
        return t.contains(w);
    }
    if wl <= 3 {
        return t == w;
    }
    ENDINGS.iter().any(|e| {
        t.strip_suffix(e).is_some_and(|stem| {
            stem == w
                || stem
                    .strip_suffix(w)
                    .is_some_and(|head| head.chars().count() >= 3)
        })
    })
}

/// A topic word as the index keeps it: its topic (index into [`topics_table`]), its length
/// in chars, and whether it is a context word.
#[derive(Debug, Clone, Copy)]
struct TopicHit {
    topic: usize,
    len: usize,
    context: bool,
}

/// The topic words of one kind (single tokens, or two tokens in a row), indexed by the rule
/// of [`names`]: words of three chars or fewer by the whole token; of four or five by the
/// token's stem without an ending, and by the stem's last four or five chars after a head of
/// at least three; of six or more by an Aho-Corasick search inside the token. About 200
/// words tried one by one on every token and pair was the larger part of a signature.
struct WordIndex {
    whole: std::collections::HashMap<String, Vec<TopicHit>>,
    short: std::collections::HashMap<String, Vec<TopicHit>>,
    long: Option<aho_corasick::AhoCorasick>,
    long_hits: Vec<TopicHit>,
}

impl WordIndex {
    fn new<'a>(words: impl Iterator<Item = (&'a str, TopicHit)>) -> WordIndex {
        let mut whole: std::collections::HashMap<String, Vec<TopicHit>> = Default::default();
        let mut short: std::collections::HashMap<String, Vec<TopicHit>> = Default::default();
        let mut long_words = Vec::new();
        let mut long_hits = Vec::new();
        for (w, hit) in words {
            match hit.len {
                0..=3 => whole.entry(w.to_string()).or_default().push(hit),
                4 | 5 => short.entry(w.to_string()).or_default().push(hit),
                _ => {
                    long_words.push(w.to_string());
                    long_hits.push(hit);
                }
            }
        }
        let long = (!long_words.is_empty()).then(|| {
            aho_corasick::AhoCorasick::new(&long_words).expect("topic words make an automaton")
        });
        WordIndex {
            whole,
            short,
            long,
            long_hits,
        }
    }

    /// Every topic word that names token `t` (a word may come more than once).
    fn find(&self, t: &str, out: &mut Vec<TopicHit>) {
        if let Some(v) = self.whole.get(t) {
            out.extend(v);
        }
        // Where each char of `t` starts: a stem is a prefix of `t`, so its chars are the first
        // of these.
        let starts: Vec<usize> = t.char_indices().map(|(i, _)| i).collect();
        for e in ENDINGS {
            let Some(stem) = t.strip_suffix(e) else {
                continue;
            };
            if let Some(v) = self.short.get(stem) {
                out.extend(v);
            }
            // The stem's last four or five chars, after a head of at least three.
            let chars = starts.partition_point(|&i| i < stem.len());
            for k in [4usize, 5] {
                if chars >= k + 3 {
                    if let Some(v) = self.short.get(&stem[starts[chars - k]..]) {
                        out.extend(v);
                    }
                }
            }
        }
        if let Some(ac) = &self.long {
            for m in ac.find_overlapping_iter(t) {
                out.push(self.long_hits[m.pattern().as_usize()]);
            }
        }
    }
}

/// [`topics_table`] indexed: one index for single tokens, one for two tokens in a row.
struct TopicIndex {
    single: WordIndex,
    pair: WordIndex,
}

fn topic_index() -> &'static TopicIndex {
    static I: OnceLock<TopicIndex> = OnceLock::new();
    I.get_or_init(|| {
        let words = |pairs: bool| {
            topics_table()
                .iter()
                .enumerate()
                .flat_map(|(topic, (_, words))| {
                    words.iter().map(move |(w, context)| {
                        let hit = TopicHit {
                            topic,
                            len: w.chars().count(),
                            context: *context,
                        };
                        (w.as_str(), hit)
                    })
                })
                .filter(move |(w, _)| w.contains(' ') == pairs)
        };
        TopicIndex {
            single: WordIndex::new(words(false)),
            pair: WordIndex::new(words(true)),
        }
    })
}

/// The topics token (or pair) `t` names, each with whether only by a context word: per
/// topic its longest word naming `t` (a topic word before a context word of the same length),
/// and of those only the topics whose word is the longest of all ("lantaarnpaal" is lighting,
/// not street furniture for its "paal").
fn token_topics(t: &str, hits: &mut Vec<TopicHit>) -> Vec<(usize, bool)> {
    hits.clear();
    let index = topic_index();
    let words = if t.contains(' ') {
        &index.pair
    } else {
        &index.single
    };
    words.find(t, hits);
    let longest = hits.iter().map(|h| h.len).max().unwrap_or(0);
    let mut out: Vec<(usize, bool)> = Vec::new();
    for topic in hits.iter().map(|h| h.topic) {
        if out.iter().any(|(k, _)| *k == topic) {
            continue;
        }
        let best = hits
            .iter()
            .filter(|h| h.topic == topic)
            .max_by_key(|h| (h.len, !h.context))
            .expect("the topic has a hit");
        if best.len == longest {
            out.push((topic, best.context));
        }
    }
    out
}

const STOP: &[&str] = &[
    "de", "het", "een", "en", "van", "ik", "je", "u", "uw", "mijn", "is", "dat", "die", "op",
    "aan", "met", "voor", "bij", "er", "niet", "nog", "al", "ook", "maar", "naar", "om", "te",
    "in", "zijn", "wordt", "was", "heb", "heeft", "hebben", "deze", "dit", "wat", "wel", "dan",
    "the", "and", "is", "it", "of", "to", "a", "my", "at", "on", "for", "this", "that", "there",
    "graag", "kunt", "kan", "wilt", "please", "could", "steeds", "nu", "weer", "meer", "geen",
];

/// Content words of the lower-cased words: no stop words, at least 3 letters, cut to 6 characters as a
/// crude stem ("tegels" and "tegel" meet).
fn content_words(lower: &[String]) -> Vec<String> {
    lower
        .iter()
        .filter(|w| {
            w.chars().count() >= 3
                && !STOP.contains(&w.as_str())
                && !w.chars().all(|c| c.is_ascii_digit())
        })
        .map(|w| w.chars().take(6).collect())
        .collect()
}

fn hash(seed: u32, word: &str) -> u32 {
    // FNV-1a 32 with a seed: stable across builds and platforms.
    let mut h: u32 = 0x811c_9dc5 ^ seed.wrapping_mul(0x9e37_79b9);
    for b in word.as_bytes() {
        h ^= *b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h ^ (h >> 15)
}

impl Signature {
    /// The signature of `text` (the normalised evidence of a message).
    pub fn of(text: &str) -> Signature {
        let locations: Vec<String> = address::extract(text).into_iter().map(|l| l.key).collect();
        // A street's name names no object ("Vondelplantsoen", "Lantaarnpad"); a word glued
        // before it ("Straatverlichting Kievitstraat") still may.
        let street_words: Vec<&str> = locations
            .iter()
            .filter(|l| !l.starts_with("lm") && !l.starts_with("pc"))
            .filter_map(|l| l.rsplit(' ').next())
            .collect();
        let lower: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        // Each word counts for the topic of its longest matching topic word: a
        // "lantaarnpaal" is lighting, not street furniture for its "paal"; a
        // "fietsstoplicht" is traffic, not lighting for its "licht".
        let mut topics: Vec<String> = Vec::new();
        let mut context_topics: Vec<String> = Vec::new();
        // Tokens and pairs of tokens in a row ("bus stop", "street light").
        let pairs: Vec<String> = lower.windows(2).map(|w| w.join(" ")).collect();
        let mut hits = Vec::new();
        for t in lower
            .iter()
            .filter(|t| !street_words.contains(&t.as_str()))
            .chain(&pairs)
        {
            for (topic, context) in token_topics(t, &mut hits) {
                let name = &topics_table()[topic].0;
                let into = if context {
                    &mut context_topics
                } else {
                    &mut topics
                };
                if !into.contains(name) {
                    into.push(name.clone());
                }
            }
        }
        topics.sort();
        context_topics.retain(|t| !topics.contains(t));
        context_topics.sort();
        let mut words = content_words(&lower);
        words.sort();
        words.dedup();
        let sketch = if words.is_empty() {
            Vec::new()
        } else {
            (0..MINHASH_K as u32)
                .map(|seed| {
                    words
                        .iter()
                        .map(|w| hash(seed, w))
                        .min()
                        .expect("non-empty")
                })
                .collect()
        };
        let problems = vocab::problems_in(text);
        Signature {
            locations,
            topics,
            context_topics,
            sketch,
            context_problems: vocab::context_problems_in(text, &problems),
            problems,
            says_still: vocab::says_still(text),
            processes: vocab::processes_in(text),
            cases: vocab::case_refs(text),
            semantic: None,
        }
    }

    /// With the semantic sketch of the message (from the encoder's sketch source).
    pub fn with_semantic(mut self, semantic: Option<SemanticSketch>) -> Signature {
        self.semantic = semantic;
        self
    }

    /// Replace what could point to a person by keyed hashes (HMAC-SHA256 under `secret`, 16
    /// hex digits): case references (`k:…`) and postcodes (`pc#…`; a six-character postcode
    /// is a handful of houses). Two messages about the same case or postcode still meet, but
    /// what is stored cannot be read back or guessed without the secret. Done before
    /// anything is stored.
    pub fn key_personal(&mut self, secret: &[u8]) {
        let keyed = |domain: &[u8], value: &str| {
            crate::repeat::sender::keyed_hex(secret, domain, value)[..16].to_string()
        };
        for c in &mut self.cases {
            if !c.starts_with("k:") {
                *c = format!("k:{}", keyed(b"case:", c));
            }
        }
        for l in &mut self.locations {
            if let Some(pc) = l.strip_prefix("pc:") {
                *l = format!("pc#{}", keyed(b"postcode:", pc));
            }
        }
    }

    /// The estimated cosine of the two messages' meaning, when both have a comparable
    /// semantic sketch.
    pub fn meaning(&self, other: &Signature) -> Option<f32> {
        self.semantic.as_ref()?.cosine(other.semantic.as_ref()?)
    }

    /// Named places (streets, named places and landmarks, postcodes): not the bare kind of a
    /// landmark ("a playground").
    fn named_places(&self) -> impl Iterator<Item = &String> {
        self.locations.iter().filter(|l| !l.starts_with("lmt:"))
    }

    /// Streets and places named without a landmark kind (`merelstraat`, `brink`).
    fn streets(&self) -> impl Iterator<Item = &String> {
        self.locations
            .iter()
            .filter(|l| !l.starts_with("lm") && !l.starts_with("pc"))
    }

    /// The kind of each landmark (`basisschool` for `lm:basisschool de regenboog` and
    /// `lmt:basisschool`).
    fn landmark_kinds(&self) -> Vec<&str> {
        self.locations
            .iter()
            .filter_map(|l| {
                l.strip_prefix("lmt:").or_else(|| {
                    l.strip_prefix("lm:")
                        .map(|n| n.split(' ').next().unwrap_or(n))
                })
            })
            .collect()
    }

    /// Whether the two name a place in common.
    pub fn same_named_place(&self, other: &Signature) -> bool {
        self.named_places()
            .any(|l| other.named_places().any(|o| o == l))
    }

    /// Whether the two name the same kind of landmark ("the playground").
    pub fn same_place_kind(&self, other: &Signature) -> bool {
        let theirs = other.landmark_kinds();
        self.landmark_kinds().iter().any(|k| theirs.contains(k))
    }

    /// Whether both name streets, and none in common (a landmark beside a street is no
    /// conflict: "bij de Lidl" may be on the street named before).
    pub fn place_conflict(&self, other: &Signature) -> bool {
        self.streets().next().is_some()
            && other.streets().next().is_some()
            && !self.streets().any(|s| other.streets().any(|o| o == s))
    }

    /// Whether both name a topic by its own words, and none in common, not even by a context
    /// word ("scherven op de stoep" at a bus shelter is no paving issue).
    pub fn topic_conflict(&self, other: &Signature) -> bool {
        fn all(s: &Signature) -> impl Iterator<Item = &String> {
            s.topics.iter().chain(&s.context_topics)
        }
        !self.topics.is_empty()
            && !other.topics.is_empty()
            && !all(self).any(|t| all(other).any(|o| o == t))
    }

    /// Whether the two name the same problem, by its own phrases on at least one side ("het
    /// is donker" twice is no shared problem, "brandt niet" and "nog steeds donker" is).
    pub fn same_problem(&self, other: &Signature) -> bool {
        self.problems
            .iter()
            .any(|p| other.problems.contains(p) || other.context_problems.contains(p))
            || other
                .problems
                .iter()
                .any(|p| self.context_problems.contains(p))
    }

    /// Whether both name a problem of the object, and none of the same kind or one that
    /// goes with it ("out" then "hit by a car"; "dirty" then "broken"). See
    /// [`vocab::compatible`]: damage in its many words (broken, loose, a hole) is one kind, a
    /// broken lamp is a lamp that is out, and dumped rubbish that smells or draws rats is the
    /// same rubbish. Danger and the municipality's handling ("geen reactie") are no state of
    /// the object ([`vocab::is_neutral`]).
    pub fn problem_conflict(&self, other: &Signature) -> bool {
        fn states(s: &Signature) -> Vec<&str> {
            s.problems
                .iter()
                .map(String::as_str)
                .filter(|p| !vocab::is_neutral(p))
                .collect()
        }
        fn all(s: &Signature) -> Vec<&str> {
            s.problems
                .iter()
                .chain(&s.context_problems)
                .map(String::as_str)
                .collect()
        }
        let (a, b) = (states(self), states(other));
        !a.is_empty()
            && !b.is_empty()
            && !all(self)
                .iter()
                .any(|x| all(other).iter().any(|y| vocab::compatible(x, y)))
    }

    /// Whether this message tells of an event (a car hit it, vandals, the storm blew it over)
    /// that the earlier one did not: something new happened to the object, a new issue even
    /// at the same place — unless it says the issue persists ("de stronken staan er nog
    /// steeds, er is iemand tegenaan gereden": the accident is the open issue's consequence).
    pub fn new_event_since(&self, earlier: &Signature) -> bool {
        let has = |s: &Signature| s.problems.iter().any(|p| vocab::is_event(p));
        has(self) && !has(earlier) && !self.says_still
    }

    /// Whether the two name the same case reference (compare keyed with keyed).
    pub fn same_case(&self, other: &Signature) -> bool {
        self.cases.iter().any(|c| other.cases.contains(c))
    }

    /// Whether the two are about the same kind of request.
    pub fn same_process(&self, other: &Signature) -> bool {
        self.processes.iter().any(|p| other.processes.contains(p))
    }

    /// Estimated Jaccard similarity of the two texts' content words.
    pub fn wording(&self, other: &Signature) -> f32 {
        if self.sketch.len() != MINHASH_K || other.sketch.len() != MINHASH_K {
            return 0.0;
        }
        let same = self
            .sketch
            .iter()
            .zip(&other.sketch)
            .filter(|(a, b)| a == b)
            .count();
        same as f32 / MINHASH_K as f32
    }

    /// Whether the two share a location.
    pub fn same_place(&self, other: &Signature) -> bool {
        self.locations.iter().any(|l| other.locations.contains(l))
    }

    /// Whether the two share a topic, by its own words or by context words.
    pub fn same_topic(&self, other: &Signature) -> bool {
        let all = |s: &Signature| -> Vec<String> {
            s.topics.iter().chain(&s.context_topics).cloned().collect()
        };
        let theirs = all(other);
        all(self).iter().any(|t| theirs.contains(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &Signature, b: &Signature) -> bool {
        use crate::repeat::pair::{Pair, PairModel};
        let m = PairModel::builtin();
        m.score(&Pair::of(a, b, 14.0, false)).probability >= m.threshold
    }

    /// The topics of token `t` the slow way: every topic word tried with [`names`].
    fn token_topics_by_trying_each(t: &str) -> Vec<(usize, bool)> {
        let matches: Vec<(usize, usize, bool)> = topics_table()
            .iter()
            .enumerate()
            .filter_map(|(topic, (_, words))| {
                words
                    .iter()
                    .filter(|(w, _)| w.contains(' ') == t.contains(' ') && names(t, w))
                    .map(|(w, context)| (w.chars().count(), *context))
                    .max_by_key(|(len, context)| (*len, !*context))
                    .map(|(len, context)| (topic, len, context))
            })
            .collect();
        let longest = matches.iter().map(|(_, len, _)| *len).max().unwrap_or(0);
        matches
            .into_iter()
            .filter(|(_, len, _)| *len == longest)
            .map(|(topic, _, context)| (topic, context))
            .collect()
    }

    #[test]
    fn the_index_finds_the_topics_trying_each_word_finds() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/corpus");
        let mut tokens = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).expect("data/corpus") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("readable");
            let lower: Vec<String> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect();
            tokens.extend(lower.windows(2).map(|w| w.join(" ")));
            tokens.extend(lower);
        }
        // Words the rule keeps apart, and the topic words themselves with every ending.
        tokens.extend(
            [
                "street",
                "bushalte",
                "bepaald",
                "whole",
                "bankafschrift",
                "zitbank",
            ]
            .map(String::from),
        );
        for (_, words) in topics_table() {
            for (w, _) in words {
                tokens.extend(ENDINGS.iter().map(|e| format!("{w}{e}")));
                tokens.insert(format!("straat{w}"));
            }
        }
        assert!(tokens.len() > 10_000, "{}", tokens.len());
        let mut hits = Vec::new();
        let mut named = 0;
        for t in &tokens {
            let mut fast = token_topics(t, &mut hits);
            let mut slow = token_topics_by_trying_each(t);
            fast.sort();
            slow.sort();
            assert_eq!(fast, slow, "{t}");
            named += usize::from(!slow.is_empty());
        }
        assert!(named > 1000, "{named}");
    }

    #[test]
    fn topics_file_parses() {
        assert!(topics_table().len() >= 10);
        let lamp = Signature::of("De lantaarnpaal is uit.");
        assert_eq!(lamp.topics, ["verlichting"]);
    }

    #[test]
    fn same_light_in_other_words_is_the_same_issue() {
        let a = Signature::of(
            "De lantaarnpaal bij Lijsterlaan 14 brandt niet meer, het is daar donker.",
        );
        let b =
            Signature::of("Nog steeds geen licht bij Lijsterlaan 14, sindsdien niets veranderd.");
        assert!(same(&a, &b), "{a:?} {b:?}");
    }

    #[test]
    fn another_object_at_the_same_place_is_another_issue() {
        let a = Signature::of("Bij de bakker aan de Brink zit een stoeptegel los.");
        let b = Signature::of("Bij de Brink groeit een struik ver over het fietspad.");
        assert!(a.same_place(&b));
        assert!(!same(&a, &b));
    }

    #[test]
    fn another_place_is_another_issue() {
        let a = Signature::of("Bij de ingang van het Wilhelminapark staat een stoeptegel scheef.");
        let b = Signature::of("Op de Dorpsstraat hangt een verkeersbord los aan de paal.");
        assert!(!same(&a, &b));
    }

    #[test]
    fn english_crossing_with_other_words_for_the_bin() {
        let a = Signature::of(
            "The underground container for household waste where Stationsweg meets Irisstraat is full.",
        );
        let b = Signature::of("The bin at Stationsweg/Irisstraat is still overflowing.");
        assert!(same(&a, &b));
    }

    #[test]
    fn another_state_of_the_same_object_is_a_problem_conflict() {
        let out = Signature::of("De lantaarnpaal bij de Vaartkade brandt niet.");
        let broken = Signature::of("De lantaarnpaal bij de Vaartkade is kapot.");
        let down = Signature::of("De lantaarnpaal bij de Vaartkade ligt plat op de stoep.");
        assert!(!out.problem_conflict(&broken));
        assert!(out.problem_conflict(&down));
        let dirty = Signature::of("Het bankje in het park is smerig.");
        let snapped = Signature::of("Het bankje in het park is doorgebroken.");
        assert!(dirty.problem_conflict(&snapped));
        let dumped = Signature::of("Vuilniszakken gedumpt bij de Lekdijk.");
        let smell = Signature::of("Bij de Lekdijk stinkt het vreselijk, overal ratten.");
        assert!(!dumped.problem_conflict(&smell));
    }

    #[test]
    fn identical_texts_have_wording_one() {
        let a = Signature::of("Er ligt grofvuil naast de container.");
        assert_eq!(a.wording(&a.clone()), 1.0);
        assert_eq!(Signature::of("").wording(&a), 0.0);
    }

    #[test]
    fn signature_keeps_no_house_numbers_or_text() {
        let s = Signature::of("Mijn naam is Jan, Merelstraat 22, tel 0612345678");
        assert_eq!(s.locations, ["merelstraat"]);
        assert!(s.topics.is_empty());
        assert_eq!(s.sketch.len(), 32);
    }
}

/// Print the signatures of the texts in the JSON-lines file `SIGNATURES_OF` (one `{"text"}`
/// per line): what repeat detection sees of a message, for working on the vocabularies.
/// `SIGNATURES_OF=file cargo test --release --lib print_signatures -- --ignored --nocapture`
#[cfg(test)]
#[test]
#[ignore]
fn print_signatures() {
    let Ok(path) = std::env::var("SIGNATURES_OF") else {
        return;
    };
    for line in std::fs::read_to_string(path).expect("readable").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let text = v["text"].as_str().unwrap_or("");
        let s = Signature::of(text);
        println!(
            "{} | loc {:?} | topics {:?} ~{:?} | problems {:?} | processes {:?} | status {}",
            v["id"].as_str().unwrap_or(""),
            s.locations,
            s.topics,
            s.context_topics,
            s.problems,
            s.processes,
            vocab::asks_status(text)
        );
    }
}
