//! The lexicon: reviewable TOML files in `data/lexicon/` (families.toml, nl.toml, en.toml,
//! instanties.toml), compiled once into one case-insensitive regex per family and language.
//! The family `instantie` comes from instanties.toml (organisations that do not act for the
//! municipality, with their names), in both languages, so that an explanation can name the
//! body to refer the writer to ([`Lexicon::body`]).
//!
//! The files are built into the binary, so it runs from any directory; `lexicon_dir` in the
//! configuration loads another copy instead (a complaint coordinator's edits, say) without a
//! rebuild. A phrase that does not compile, or a family that does not exist, is an error that
//! names the file, the family and the phrase.
//!
//! Matching: a family's phrases are one alternation on Unicode word boundaries,
//! `\b(?:…)\b`, longest phrase first, found left to right without overlaps. Unicode `\b`
//! makes regex's lazy DFA give up on any text with a non-ASCII byte (é, ë, €, curly quotes)
//! and fall back to the PikeVM over the whole text, the slowest of its engines. So
//! [`Phrases`] finds the same matches in three steps: a regex of the phrases' beginnings
//! (`starts`: each phrase up to its first repetition, so `tegel\w*` is `tegel`; no word
//! boundaries) finds the next place a phrase can start, with a literal search or a small
//! lazy DFA on any text; a `\b` check there drops starts inside a word; and only then the
//! whole pattern runs, anchored at that place, over the few bytes of the phrase. Every match
//! of the whole pattern starts where some phrase's beginning matches, and an anchored search
//! finds there the match the unanchored search finds, so the matches are the same (test
//! `three_step_matching_finds_what_the_single_regex_finds`, over the corpus and the practice
//! texts). The beginnings, not the whole phrases: a `\w*` in a large alternation made the
//! lazy DFA build states without end.

use std::collections::BTreeMap;
use std::path::Path;

use regex::{Regex, RegexBuilder};
use regex_automata::util::look::LookMatcher;
use regex_automata::util::syntax;
use regex_automata::{meta, Anchored, Input};
use regex_syntax::hir::{Hir, HirKind};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::domain::{Label, Lang};
use crate::error::{Error, Result};
use crate::pipeline::types::Family;

const BUILTIN_FAMILIES: &str = include_str!("../../../data/lexicon/families.toml");
const BUILTIN_NL: &str = include_str!("../../../data/lexicon/nl.toml");
const BUILTIN_EN: &str = include_str!("../../../data/lexicon/en.toml");
const BUILTIN_BODIES: &str = include_str!("../../../data/lexicon/instanties.toml");

/// A body that does not act for the municipality (instanties.toml).
#[derive(Debug, Clone)]
pub struct Body {
    /// Its name in a Dutch sentence ("de Belastingdienst").
    pub nl: String,
    /// Its name in an English sentence.
    pub en: String,
    re: Regex,
}

impl Body {
    /// The name to use in `lang`.
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Nl => &self.nl,
            Lang::En => &self.en,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBodies {
    /// Places named after a body ("NS-station", "naast het ziekenhuis"): a body's name inside
    /// one is where something is, not whom the message is about.
    #[serde(default)]
    places: Vec<String>,
    body: Vec<RawBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBody {
    nl: String,
    en: String,
    #[serde(rename = "match")]
    patterns: Vec<String>,
}

/// What a family means, from families.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyInfo {
    /// The label its cues support.
    pub supports: Label,
    /// Prior strength, used to rank cues in explanations.
    pub weight: f32,
    /// Name shown to Dutch-speaking staff.
    pub nl: String,
    /// Name shown in English explanations.
    pub en: String,
}

impl FamilyInfo {
    /// The name to show in `lang`.
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Nl => &self.nl,
            Lang::En => &self.en,
        }
    }
}

/// A match of a lexicon phrase, in byte offsets into the searched text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Byte start.
    pub start: usize,
    /// Byte end, exclusive.
    pub end: usize,
    /// The phrase's family.
    pub family: Family,
}

/// The compiled lexicon.
#[derive(Debug, Clone)]
pub struct Lexicon {
    info: Vec<FamilyInfo>,
    bodies: Vec<Body>,
    nl: Vec<Phrases>,
    en: Vec<Phrases>,
    // Per language: phrases inside which a family's cues do not count (`not_<family>` in the
    // language files; `places` in instanties.toml, for both languages).
    masks_nl: Vec<Mask>,
    masks_en: Vec<Mask>,
    phrase_count: usize,
    sha256: String,
}

impl Lexicon {
    /// The lexicon built into the binary (from `data/lexicon/` at build time).
    pub fn builtin() -> Result<Lexicon> {
        Lexicon::parse(
            ("built-in families.toml", BUILTIN_FAMILIES),
            ("built-in nl.toml", BUILTIN_NL),
            ("built-in en.toml", BUILTIN_EN),
            ("built-in instanties.toml", BUILTIN_BODIES),
        )
    }

    /// Load the four files from `dir`.
    pub fn from_dir(dir: &Path) -> Result<Lexicon> {
        let read = |name: &str| -> Result<(String, String)> {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            Ok((path.display().to_string(), text))
        };
        let (fam_name, fam) = read("families.toml")?;
        let (nl_name, nl) = read("nl.toml")?;
        let (en_name, en) = read("en.toml")?;
        let (b_name, bodies) = read("instanties.toml")?;
        Lexicon::parse(
            (&fam_name, &fam),
            (&nl_name, &nl),
            (&en_name, &en),
            (&b_name, &bodies),
        )
    }

    fn parse(
        families: (&str, &str),
        nl: (&str, &str),
        en: (&str, &str),
        bodies: (&str, &str),
    ) -> Result<Lexicon> {
        let raw: BTreeMap<String, FamilyInfo> =
            toml::from_str(families.1).map_err(|e| Error::Lexicon {
                file: families.0.to_string(),
                problem: e.to_string(),
            })?;
        let mut info: Vec<Option<FamilyInfo>> = vec![None; Family::ALL.len()];
        for (name, fi) in raw {
            let fam: Family =
                name.parse()
                    .map_err(|e: crate::domain::UnknownName| Error::Lexicon {
                        file: families.0.to_string(),
                        problem: e.to_string(),
                    })?;
            info[fam.index()] = Some(fi);
        }
        let info: Vec<FamilyInfo> = info
            .into_iter()
            .zip(Family::ALL)
            .map(|(fi, fam)| {
                fi.ok_or_else(|| Error::Lexicon {
                    file: families.0.to_string(),
                    problem: format!("family [{fam}] is missing"),
                })
            })
            .collect::<Result<_>>()?;
        let (mut nl_re, mut masks_nl, n1) = compile_language(nl.0, nl.1)?;
        let (mut en_re, mut masks_en, n2) = compile_language(en.0, en.1)?;
        let (bodies_compiled, places, family_re, n3) = compile_bodies(bodies.0, bodies.1)?;
        nl_re.push(family_re.clone());
        en_re.push(family_re);
        if let Some(places) = places {
            masks_nl.push(places.clone());
            masks_en.push(places);
        }
        let mut hasher = Sha256::new();
        for part in [families.1, nl.1, en.1, bodies.1] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        Ok(Lexicon {
            info,
            bodies: bodies_compiled,
            nl: nl_re,
            en: en_re,
            masks_nl,
            masks_en,
            phrase_count: n1 + n2 + n3,
            sha256: hex::encode(hasher.finalize()),
        })
    }

    /// Drops the hits that overlap one of their family's masks ("de raad" in "de Raad van
    /// State", "ziekenhuis" in "achter het ziekenhuis").
    fn drop_masked(&self, text: &str, lang: Lang, hits: &mut Vec<Hit>) {
        let masks = match lang {
            Lang::Nl => &self.masks_nl,
            Lang::En => &self.masks_en,
        };
        for mask in masks {
            if !hits.iter().any(|h| h.family == mask.family) {
                continue;
            }
            let spans: Vec<(usize, usize)> = mask
                .re
                .find_iter(text)
                .map(|m| (m.start(), m.end()))
                .collect();
            if spans.is_empty() {
                continue;
            }
            hits.retain(|h| {
                h.family != mask.family || !spans.iter().any(|&(s, e)| s < h.end && h.start < e)
            });
        }
    }

    /// The body an `instantie` cue's text names.
    pub fn body(&self, cue_text: &str) -> Option<&Body> {
        self.bodies.iter().find(|b| b.re.is_match(cue_text))
    }

    /// What `family` means.
    pub fn family(&self, family: Family) -> &FamilyInfo {
        &self.info[family.index()]
    }

    /// SHA-256 over the three source files: which lexicon a model was trained with.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Number of phrases over both languages.
    pub fn phrase_count(&self) -> usize {
        self.phrase_count
    }

    /// All phrase matches in `text` for `lang`, sorted by start (longest first on equal start).
    pub fn find(&self, text: &str, lang: Lang) -> Vec<Hit> {
        let set = match lang {
            Lang::Nl => &self.nl,
            Lang::En => &self.en,
        };
        let mut hits = Vec::new();
        for phrases in set {
            phrases.find_into(text, &mut hits);
        }
        self.drop_masked(text, lang, &mut hits);
        hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        hits
    }
}

/// A family's phrases: `\b(?:…)\b`, and a regex of their beginnings to find where a match
/// can start (see the module's notes).
#[derive(Debug, Clone)]
struct Phrases {
    family: Family,
    whole: meta::Regex,
    // None when a beginning can match the empty string: then `whole` alone searches, as the
    // steps assume every match is at least a byte long.
    starts: Option<meta::Regex>,
    #[cfg(test)]
    pattern: String,
}

impl Phrases {
    /// The matches of `whole` in `text`, left to right without overlaps, as
    /// `Regex::find_iter` finds them.
    fn find_into(&self, text: &str, hits: &mut Vec<Hit>) {
        let hay = text.as_bytes();
        let hit = |m: regex_automata::Match| Hit {
            start: m.start(),
            end: m.end(),
            family: self.family,
        };
        let Some(starts) = &self.starts else {
            hits.extend(self.whole.find_iter(hay).map(hit));
            return;
        };
        let look = LookMatcher::new();
        let mut at = 0;
        while at < hay.len() {
            let Some(start) = starts.search(&Input::new(hay).span(at..hay.len())) else {
                break;
            };
            let s = start.start();
            // `\b` before the phrase; most starts inside a word end here. (The check only
            // fails to answer without Unicode tables; then `whole` decides.)
            if look.is_word_unicode(hay, s).unwrap_or(true) {
                let anchored = Input::new(hay).span(s..hay.len()).anchored(Anchored::Yes);
                if let Some(m) = self.whole.search(&anchored) {
                    at = m.end();
                    hits.push(hit(m));
                    continue;
                }
            }
            // The next char: a match starts on a char boundary.
            at = s + text[s..].chars().next().map_or(1, char::len_utf8);
        }
    }
}

/// The lexicon's regex engine settings (regex's defaults otherwise); `prefilter`: look for
/// literals first.
fn engine(prefilter: bool) -> meta::Builder {
    let mut b = meta::Builder::new();
    b.syntax(syntax::Config::new().case_insensitive(true))
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(64 << 20))
                .onepass_size_limit(Some(64 << 20))
                .auto_prefilter(prefilter),
        );
    b
}

/// A regex that matches a beginning of every string `h` matches (so it matches wherever `h`
/// can start): a sequence up to its first repetition or assertion, each branch of an
/// alternation so. `h` itself when no shorter one that needs at least one char is at hand.
fn beginnings(h: &Hir) -> Hir {
    let cut = match h.kind() {
        HirKind::Concat(parts) => {
            let n = parts
                .iter()
                .take_while(|p| !matches!(p.kind(), HirKind::Repetition(_) | HirKind::Look(_)))
                .count();
            Hir::concat(parts[..n].to_vec())
        }
        HirKind::Alternation(branches) => {
            Hir::alternation(branches.iter().map(beginnings).collect())
        }
        HirKind::Capture(c) => beginnings(&c.sub),
        _ => return h.clone(),
    };
    match cut.properties().minimum_len() {
        Some(n) if n > 0 => cut,
        _ => h.clone(),
    }
}

/// One alternation of `phrases` on word boundaries, longest first.
fn alternation(file: &str, what: &str, phrases: &mut Vec<String>) -> Result<Regex> {
    validate(file, what, phrases)?;
    let pattern = format!(r"\b(?:{})\b", phrases.join("|"));
    RegexBuilder::new(&pattern)
        .case_insensitive(true)
        .size_limit(64 << 20)
        .build()
        .map_err(|e| Error::Lexicon {
            file: file.to_string(),
            problem: format!("{what}: {e}"),
        })
}

/// Check each phrase, then sort them longest first and drop duplicates.
fn validate(file: &str, what: &str, phrases: &mut Vec<String>) -> Result<()> {
    for p in phrases.iter() {
        if p.trim().is_empty() {
            return Err(Error::Lexicon {
                file: file.to_string(),
                problem: format!("{what}: empty phrase"),
            });
        }
        Regex::new(p).map_err(|e| Error::Lexicon {
            file: file.to_string(),
            problem: format!("{what}, phrase {p:?}: {e}"),
        })?;
    }
    // Longer phrases first, so an alternation prefers "al drie keer gemeld" over "al".
    phrases.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    phrases.dedup();
    Ok(())
}

/// A family's [`Phrases`].
fn family_phrases(
    file: &str,
    what: &str,
    family: Family,
    phrases: &mut Vec<String>,
) -> Result<Phrases> {
    validate(file, what, phrases)?;
    let inner = format!("(?:{})", phrases.join("|"));
    let pattern = format!(r"\b{inner}\b");
    let fail = |e: String| Error::Lexicon {
        file: file.to_string(),
        problem: format!("{what}: {e}"),
    };
    // Only ever searched anchored: a literal prefilter would not be used.
    let whole = engine(false)
        .build(&pattern)
        .map_err(|e| fail(e.to_string()))?;
    // The beginnings come from the alternation as one pattern, so that a flag a phrase sets
    // for the phrases after it counts as it does in `whole`.
    let hir = syntax::parse_with(&inner, &syntax::Config::new().case_insensitive(true))
        .map_err(|e| fail(e.to_string()))?;
    let begin = beginnings(&hir);
    let starts = match begin.properties().minimum_len() {
        Some(0) => None,
        _ => Some(
            engine(true)
                .build_from_hir(&begin)
                .map_err(|e| fail(e.to_string()))?,
        ),
    };
    Ok(Phrases {
        family,
        whole,
        starts,
        #[cfg(test)]
        pattern,
    })
}

/// Phrases inside which the cues of `family` do not count.
#[derive(Debug, Clone)]
struct Mask {
    family: Family,
    re: Regex,
}

/// What instanties.toml compiles to: the bodies, the places named after them (the `instantie`
/// family's mask), the family's regex over all bodies, and the number of body phrases.
type CompiledBodies = (Vec<Body>, Option<Mask>, Phrases, usize);

/// The bodies of instanties.toml, the places named after them, and the `instantie` family's
/// regex over all bodies.
fn compile_bodies(file: &str, text: &str) -> Result<CompiledBodies> {
    let raw: RawBodies = toml::from_str(text).map_err(|e| Error::Lexicon {
        file: file.to_string(),
        problem: e.to_string(),
    })?;
    let mut all = Vec::new();
    let mut bodies = Vec::new();
    for b in raw.body {
        let mut phrases = b.patterns.clone();
        if phrases.is_empty() {
            return Err(Error::Lexicon {
                file: file.to_string(),
                problem: format!("body {:?}: no match phrases", b.nl),
            });
        }
        let re = alternation(file, &format!("body {:?}", b.nl), &mut phrases)?;
        all.extend(b.patterns);
        bodies.push(Body {
            nl: b.nl,
            en: b.en,
            re,
        });
    }
    let count = all.len();
    let family = family_phrases(file, "family instantie", Family::Instantie, &mut all)?;
    let mut places = raw.places;
    let places = if places.is_empty() {
        None
    } else {
        Some(Mask {
            family: Family::Instantie,
            re: alternation(file, "places", &mut places)?,
        })
    };
    Ok((bodies, places, family, count))
}

/// A language file: each family's phrases, the masks (`not_<family>`), the phrase count.
fn compile_language(file: &str, text: &str) -> Result<(Vec<Phrases>, Vec<Mask>, usize)> {
    let raw: BTreeMap<String, Vec<String>> = toml::from_str(text).map_err(|e| Error::Lexicon {
        file: file.to_string(),
        problem: e.to_string(),
    })?;
    let mut out = Vec::new();
    let mut masks = Vec::new();
    let mut count = 0;
    for (name, mut phrases) in raw {
        let masked = name.strip_prefix("not_");
        let family: Family =
            masked
                .unwrap_or(&name)
                .parse()
                .map_err(|e: crate::domain::UnknownName| Error::Lexicon {
                    file: file.to_string(),
                    problem: e.to_string(),
                })?;
        if masked.is_some() {
            let re = alternation(file, &format!("[{name}]"), &mut phrases)?;
            masks.push(Mask { family, re });
            continue;
        }
        if family == Family::Instantie {
            return Err(Error::Lexicon {
                file: file.to_string(),
                problem: "family instantie takes its phrases from instanties.toml".into(),
            });
        }
        count += phrases.len();
        out.push(family_phrases(
            file,
            &format!("family {name}"),
            family,
            &mut phrases,
        )?);
    }
    Ok((out, masks, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_lexicon_compiles_with_every_family() {
        let lex = Lexicon::builtin().unwrap();
        assert!(lex.phrase_count() > 300);
        for f in Family::ALL {
            assert!(!lex.family(f).nl.is_empty());
        }
    }

    /// The error of a lexicon with the built-in families, `nl` as nl.toml (en.toml empty unless
    /// `nl` is the built-in one) and `bodies` as instanties.toml.
    fn parse_error(nl: &str, bodies: &str) -> String {
        let en = if nl == BUILTIN_NL { BUILTIN_EN } else { "" };
        Lexicon::parse(
            ("f.toml", BUILTIN_FAMILIES),
            ("nl.toml", nl),
            ("en.toml", en),
            ("b.toml", bodies),
        )
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn unknown_family_is_named() {
        let err = parse_error("boosheid = ['boos']", BUILTIN_BODIES);
        assert!(err.contains("nl.toml") && err.contains("boosheid"), "{err}");
        // A mask names its family the same way.
        let err = parse_error("not_boosheid = ['niet boos']", BUILTIN_BODIES);
        assert!(err.contains("nl.toml") && err.contains("boosheid"), "{err}");
        // And a bad mask phrase is named.
        let err = parse_error("not_raad = ['(raad']", BUILTIN_BODIES);
        assert!(err.contains("not_raad") && err.contains("(raad"), "{err}");
    }

    #[test]
    fn bad_phrase_is_named() {
        let err = parse_error("ongenoegen = ['(boos']", BUILTIN_BODIES);
        assert!(err.contains("(boos"), "{err}");
    }

    #[test]
    fn bodies_are_found_and_named_in_both_languages() {
        let lex = Lexicon::builtin().unwrap();
        let text = "Ik ben woedend op de Belastingdienst en het UWV.";
        let bodies: Vec<&str> = lex
            .find(text, Lang::Nl)
            .iter()
            .filter(|h| h.family == Family::Instantie)
            .map(|h| lex.body(&text[h.start..h.end]).unwrap().nl.as_str())
            .collect();
        assert_eq!(bodies, ["de Belastingdienst", "het UWV"]);
        let en = "My landlord ignores me.";
        let h = lex.find(en, Lang::En);
        let h = h.iter().find(|h| h.family == Family::Instantie).unwrap();
        assert_eq!(
            lex.body(&en[h.start..h.end]).unwrap().en,
            "the housing corporation or landlord"
        );
        // Capitals only where the word has another meaning: "een duo" is no DUO.
        assert!(lex
            .find("Een duo jongeren gooide stenen.", Lang::Nl)
            .iter()
            .all(|h| h.family != Family::Instantie));
        // A body's name as a place is no body.
        for place in [
            "De fietsenstalling bij het NS-station staat vol wrakken.",
            "Het pad achter het ziekenhuis is donker.",
            "The lamppost next to the hospital is broken.",
        ] {
            let hits = lex.find(place, Lang::Nl);
            assert!(
                hits.iter().all(|h| h.family != Family::Instantie),
                "{place}: {hits:?}"
            );
        }
        for body in [
            "De NS laat de lift bij het station kapot.",
            "Ik heb een klacht bij het ziekenhuis ingediend.",
        ] {
            let hits = lex.find(body, Lang::Nl);
            assert!(
                hits.iter().any(|h| h.family == Family::Instantie),
                "{body}: {hits:?}"
            );
        }
        // Nor is the Raad van State the council.
        let raad = |t: &str| {
            lex.find(t, Lang::Nl)
                .iter()
                .filter(|h| h.family == Family::Raad)
                .count()
        };
        assert_eq!(raad("Wij gaan in beroep bij de Raad van State."), 0);
        assert_eq!(raad("Wij vragen de raad dit te heroverwegen."), 1);
        // Bodies acting for the municipality are not other bodies.
        assert!(lex
            .find("De regiotaxi kwam weer niet.", Lang::Nl)
            .iter()
            .all(|h| h.family != Family::Instantie));
    }

    #[test]
    fn a_report_said_to_be_the_first_is_no_repeat() {
        let lex = Lexicon::builtin().unwrap();
        let repeats = |t: &str, lang: Lang| {
            lex.find(t, lang)
                .iter()
                .filter(|h| h.family == Family::Herhaling)
                .count()
        };
        for t in [
            "De leuning zit los. Dit is nog nooit eerder gemeld.",
            "Ik heb het niet eerder doorgegeven, maar de leuning zit los.",
            "Voor zover ik weet heeft niemand dit eerder gemeld.",
            "Ik weet niet of iemand het al eerder gemeld heeft.",
        ] {
            assert_eq!(repeats(t, Lang::Nl), 0, "{t}");
        }
        for t in [
            "The railing has come loose. Not reported before.",
            "I haven't reported this before.",
            "I haven’t reported this before.",
            "Nobody has reported it before, I think.",
            "Not sure if anyone has reported this before.",
        ] {
            assert_eq!(repeats(t, Lang::En), 0, "{t}");
        }
        // Said to be reported before, it still is; a mask covers only its own phrase.
        assert_eq!(
            repeats("De leuning zit los, ik heb het al eerder gemeld.", Lang::Nl),
            1
        );
        assert_eq!(
            repeats("I reported it before and nothing happened.", Lang::En),
            2
        );
        assert_eq!(
            repeats(
                "Niemand kwam kijken. Ik heb het al eerder gemeld.",
                Lang::Nl
            ),
            1
        );
    }

    #[test]
    fn a_body_without_phrases_or_with_a_bad_one_is_named() {
        let err = parse_error(BUILTIN_NL, "[[body]]\nnl = 'X'\nen = 'X'\nmatch = ['(x']");
        assert!(err.contains("b.toml") && err.contains("(x"), "{err}");
    }

    /// The single regex per family the lexicon searched with before the two steps: the
    /// reference the two steps must agree with.
    /// (The places named after bodies are dropped the same way in both.)
    struct Reference(Vec<(Family, Regex)>, Vec<(Family, Regex)>, Lexicon);

    impl Reference {
        fn of(lex: &Lexicon) -> Reference {
            let compile = |set: &[Phrases]| {
                set.iter()
                    .map(|p| {
                        let re = RegexBuilder::new(&p.pattern)
                            .case_insensitive(true)
                            .size_limit(64 << 20)
                            .build()
                            .unwrap();
                        (p.family, re)
                    })
                    .collect()
            };
            Reference(compile(&lex.nl), compile(&lex.en), lex.clone())
        }

        fn find(&self, text: &str, lang: Lang) -> Vec<Hit> {
            let set = match lang {
                Lang::Nl => &self.0,
                Lang::En => &self.1,
            };
            let mut hits = Vec::new();
            for (family, re) in set {
                hits.extend(re.find_iter(text).map(|m| Hit {
                    start: m.start(),
                    end: m.end(),
                    family: *family,
                }));
            }
            self.2.drop_masked(text, lang, &mut hits);
            hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
            hits
        }
    }

    #[test]
    fn three_step_matching_finds_what_the_single_regex_finds() {
        let lex = Lexicon::builtin().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        let mut files: Vec<_> = std::fs::read_dir(root.join("corpus"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        files.sort();
        files.push(root.join("training").join("oefenen.jsonl"));
        let mut texts = Vec::new();
        for f in &files {
            for line in std::fs::read_to_string(f).unwrap().lines() {
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let text = v["text"].as_str().unwrap().to_string();
                // The stage searches the normalised text; the raw one has more to trip on.
                let normalized =
                    crate::pipeline::normalize::normalize(&text, crate::domain::Channel::Email);
                texts.push(normalized.text);
                texts.push(text);
            }
        }
        assert!(texts.len() > 10_000, "{} texts", texts.len());
        let reference = Reference::of(&lex);
        // Both cores: the reference is the slow engine this replaces.
        let mismatches: Vec<String> = std::thread::scope(|s| {
            let workers: Vec<_> = texts
                .chunks(texts.len().div_ceil(2))
                .map(|part| {
                    let (lex, reference) = (&lex, &reference);
                    s.spawn(move || {
                        let mut bad = Vec::new();
                        for (i, t) in part.iter().enumerate() {
                            for lang in [Lang::Nl, Lang::En] {
                                if lex.find(t, lang) != reference.find(t, lang) {
                                    bad.push(format!("text {i} of its half, {lang:?}"));
                                }
                            }
                        }
                        bad
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }

    #[test]
    fn three_step_matching_agrees_on_awkward_phrases_and_texts() {
        // Phrases that start or end with a non-word char, non-ASCII letters at the edges, a
        // longer phrase whose end is inside a word (the shorter one must then win), case
        // folding beyond ASCII, and a phrase that can match the empty string.
        let nl = r#"
            ongenoegen = ['één', 'ab', 'abc', 'ab?c', '€ \d+', 'zo!', '(?:x|)', 'café\w*', 'ÉÉN keer']
            herhaling = ['al', 'al weer', 'ëxtra', 'über', '\w*heid']
        "#;
        let lex = Lexicon::parse(
            ("f.toml", BUILTIN_FAMILIES),
            ("nl.toml", nl),
            ("en.toml", ""),
            ("b.toml", BUILTIN_BODIES),
        )
        .unwrap();
        let texts = [
            "één keer, Één, geen-één, éénmaal",
            "abcd ab abc, xabc ab-c abbc ac",
            "€ 12 en €12, prijs€ 3 zo! zo!x zoo! (zo!)",
            "cafés café café-au-lait CAFÉ's x xx",
            "al alweer al weer, ëxtra ÜBER über-alles überall",
            "vrijheid, gezondheid en hééél-heid",
            "",
            "é",
            "zo!",
        ];
        let reference = Reference::of(&lex);
        for t in texts {
            assert_eq!(lex.find(t, Lang::Nl), reference.find(t, Lang::Nl), "{t}");
        }
        assert!(lex.nl.iter().any(|p| p.starts.is_none()));
    }

    #[test]
    fn longest_phrase_wins_and_words_are_whole() {
        let lex = Lexicon::builtin().unwrap();
        let hits = lex.find("Ik heb het al drie keer gemeld.", Lang::Nl);
        assert!(hits.iter().any(|h| h.family == Family::Herhaling
            && &"Ik heb het al drie keer gemeld."[h.start..h.end] == "al drie keer"));
        // "stuk" must not match inside "stukje"? It may not match inside "stukken".
        assert!(lex
            .find("de stukken zijn opgestuurd", Lang::Nl)
            .iter()
            .all(|h| h.family != Family::Situatie));
    }
}
