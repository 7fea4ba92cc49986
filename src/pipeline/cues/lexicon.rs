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

use std::collections::BTreeMap;
use std::path::Path;

use regex::{Regex, RegexBuilder};
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
    nl: Vec<(Family, Regex)>,
    en: Vec<(Family, Regex)>,
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
        let (mut nl_re, n1) = compile_language(nl.0, nl.1)?;
        let (mut en_re, n2) = compile_language(en.0, en.1)?;
        let (bodies_compiled, family_re, n3) = compile_bodies(bodies.0, bodies.1)?;
        nl_re.push((Family::Instantie, family_re.clone()));
        en_re.push((Family::Instantie, family_re));
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
            phrase_count: n1 + n2 + n3,
            sha256: hex::encode(hasher.finalize()),
        })
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
        for (family, re) in set {
            hits.extend(re.find_iter(text).map(|m| Hit {
                start: m.start(),
                end: m.end(),
                family: *family,
            }));
        }
        hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        hits
    }
}

/// One alternation of `phrases` on word boundaries, longest first.
fn alternation(file: &str, what: &str, phrases: &mut Vec<String>) -> Result<Regex> {
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

/// The bodies of instanties.toml, and the `instantie` family's regex over all of them.
fn compile_bodies(file: &str, text: &str) -> Result<(Vec<Body>, Regex, usize)> {
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
    let family = alternation(file, "family instantie", &mut all)?;
    Ok((bodies, family, count))
}

fn compile_language(file: &str, text: &str) -> Result<(Vec<(Family, Regex)>, usize)> {
    let raw: BTreeMap<String, Vec<String>> = toml::from_str(text).map_err(|e| Error::Lexicon {
        file: file.to_string(),
        problem: e.to_string(),
    })?;
    let mut out = Vec::new();
    let mut count = 0;
    for (name, mut phrases) in raw {
        let family: Family =
            name.parse()
                .map_err(|e: crate::domain::UnknownName| Error::Lexicon {
                    file: file.to_string(),
                    problem: e.to_string(),
                })?;
        if family == Family::Instantie {
            return Err(Error::Lexicon {
                file: file.to_string(),
                problem: "family instantie takes its phrases from instanties.toml".into(),
            });
        }
        count += phrases.len();
        let re = alternation(file, &format!("family {name}"), &mut phrases)?;
        out.push((family, re));
    }
    Ok((out, count))
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

    #[test]
    fn unknown_family_is_named() {
        let err = Lexicon::parse(
            ("f.toml", BUILTIN_FAMILIES),
            ("nl.toml", "boosheid = ['boos']"),
            ("en.toml", ""),
            ("b.toml", BUILTIN_BODIES),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("nl.toml") && err.contains("boosheid"), "{err}");
    }

    #[test]
    fn bad_phrase_is_named() {
        let err = Lexicon::parse(
            ("f.toml", BUILTIN_FAMILIES),
            ("nl.toml", "ongenoegen = ['(boos']"),
            ("en.toml", ""),
            ("b.toml", BUILTIN_BODIES),
        )
        .unwrap_err()
        .to_string();
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
        // Bodies acting for the municipality are not other bodies.
        assert!(lex
            .find("De regiotaxi kwam weer niet.", Lang::Nl)
            .iter()
            .all(|h| h.family != Family::Instantie));
    }

    #[test]
    fn a_body_without_phrases_or_with_a_bad_one_is_named() {
        let err = Lexicon::parse(
            ("f.toml", BUILTIN_FAMILIES),
            ("nl.toml", BUILTIN_NL),
            ("en.toml", BUILTIN_EN),
            ("b.toml", "[[body]]\nnl = 'X'\nen = 'X'\nmatch = ['(x']"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("b.toml") && err.contains("(x"), "{err}");
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
