//! A small Dutch address extractor: where a message is about.
//!
//! It finds
//! - streets by their suffix (`Merelstraat 22`, `Burgemeester Kolfflaan`, `Van Goghstraat`,
//!   `Prins Hendrikkade`), with an optional house number;
//! - crossings (`Spoorlaan/Tulpstraat`, `hoek Smidsweg en Ambachtstraat`) as both streets;
//! - named places after a preposition (`aan de Brink`, `bij de Lidl`, `op het Stationsplein`);
//! - postcodes (`1234 AB`);
//! - landmarks: a school, park, playground, café, shop, station, bus stop, bridge, sports park
//!   (`basisschool De Regenboog` → `lm:basisschool de regenboog`, `bij de Jumbo` → `lm:jumbo`,
//!   `in front of the Albert Heijn` → `lm:albert heijn`), and the kind alone when it has no
//!   name (`het speeltuintje` → `lmt:speeltuin`), Dutch and English kinds meeting on one
//!   name (`playground` → `lmt:speeltuin`).
//!
//! Locations are returned as lower-case keys without house numbers (`merelstraat`,
//! `pc:1234ab`, keyed before storage), the granularity at which two reports are "the same place". House numbers are
//! not kept: they are not needed for that, and they are personal data.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;

use crate::hay::Hay;

const SUFFIXES: &str = "straat|laan|weg|plein|kade|gracht|singel|dijk|pad|steeg|hof|park|dreef|baan|markt|wal|veld|ring|allee|plantsoen|erf|brug|haven|kwartier|boulevard|dam|gors|weide|tuin|hoven|burcht|poort|ven|oord";

/// Capitalised words that follow a preposition but are no place.
const NOT_PLACES: &[&str] = &[
    "gemeente",
    "medewerker",
    "burger",
    "klant",
    "heer",
    "mevrouw",
    "meneer",
    "dinsdag",
    "maandag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "zaterdag",
    "zondag",
    "politie",
    "digid",
    "wmo",
    "woz",
    "the",
    "a",
    "my",
    "our",
    "it",
];

fn street_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // Up to two leading capitalised or particle words, then a word ending in a suffix.
        let pattern = format!(
            r"\b((?:(?:[A-Z][\p{{L}}.'-]+|van|de|der|den|het|ten|ter|'t)\s+){{0,2}}[A-Z][\p{{L}}'-]*(?:{SUFFIXES}))\b(?:\s+(\d+)\s?([a-zA-Z])?\b)?"
        );
        Regex::new(&pattern).expect("street pattern compiles")
    })
}

static_regex!(
    place_re,
    r"\b(?:[Aa]an|[Oo]p|[Bb]ij|[Ii]n|[Vv]oor|[Nn]aast|[Aa]chter|[Tt]egenover|[Ll]angs|[Oo]nder|[Nn]ear|[Oo]n|[Aa]t|[Bb]y|[Ii]n)\s+(?:de|het|the|'t)\s+((?:[A-Z][\p{L}'-]+)(?:\s+[A-Z][\p{L}'-]+)?)"
);

static_regex!(postcode_re, r"\b(\d{4})\s?([A-Z]{2})\b");

/// A location found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The key two reports are compared on (lower case, no house number).
    pub key: String,
    /// The house number, when one follows a street.
    pub number: Option<String>,
}

fn normalise(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// All locations in `text`, in order of appearance, without repeats.
pub fn extract(text: &str) -> Vec<Location> {
    let mut out: Vec<Location> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut push = |key: String, number: Option<String>, out: &mut Vec<Location>| {
        if seen.insert(key.clone()) {
            out.push(Location { key, number });
        }
    };
    let hay = Hay::new(text);
    for c in hay.captures_iter(street_re()) {
        let name = c.get(1).unwrap_or("");
        // Strip a leading capitalised word that is an ordinary sentence opener.
        let name = strip_openers(name);
        if name.is_empty() {
            continue;
        }
        let number = c
            .get(2)
            .map(|n| format!("{n}{}", c.get(3).map(str::to_lowercase).unwrap_or_default()));
        let key = normalise(name);
        // "Burgemeester Lelylaan" is also "de Lelylaan", and a word glued before a street
        // ("Glasbak Meidoornstraat vol") is no part of it: the last word is a key too.
        let head = key.rsplit(' ').next().unwrap_or("").to_string();
        push(key.clone(), number.clone(), &mut out);
        if head != key && head.chars().count() >= 6 {
            push(head, number, &mut out);
        }
    }
    for c in hay.captures_iter(place_re()) {
        let name = c.get(1).unwrap_or("");
        let first = name.split_whitespace().next().unwrap_or("").to_lowercase();
        if NOT_PLACES.contains(&first.as_str())
            || crate::domain::DUTCH_MONTHS.contains(&first.as_str())
        {
            continue;
        }
        let key = normalise(name);
        // A place that is also (part of) a street already found adds nothing.
        if out
            .iter()
            .any(|l| l.key == key || l.key.ends_with(&format!(" {key}")))
        {
            continue;
        }
        push(key, None, &mut out);
    }
    for c in hay.captures_iter(postcode_re()) {
        push(
            format!("pc:{}{}", &c[1], c[2].to_lowercase()),
            None,
            &mut out,
        );
    }
    for key in landmarks_in(&hay) {
        push(key, None, &mut out);
    }
    out
}

/// Kinds of landmark: the canonical (Dutch) name and the words for it, Dutch and English
/// (diminutives included).
const LANDMARK_KINDS: &[(&str, &[&str])] = &[
    (
        "basisschool",
        &[
            "basisschool",
            "basisschooltje",
            "primary school",
            "elementary school",
        ],
    ),
    (
        "school",
        &[
            "school",
            "schooltje",
            "schoolplein",
            "middelbare school",
            "high school",
        ],
    ),
    (
        "kinderopvang",
        &[
            "kinderopvang",
            "kinderdagverblijf",
            "crèche",
            "creche",
            "daycare",
            "nursery",
        ],
    ),
    (
        "speeltuin",
        &[
            "speeltuin",
            "speeltuintje",
            "speelplaats",
            "speelplaatsje",
            "speelveld",
            "speelveldje",
            "speeltoestellen",
            "playground",
            "play area",
        ],
    ),
    (
        "trapveld",
        &["trapveld", "trapveldje", "voetbalkooi", "pannaveldje"],
    ),
    ("park", &["park", "parkje", "plantsoen", "plantsoentje"]),
    (
        "sportpark",
        &[
            "sportpark",
            "sportvelden",
            "sportveld",
            "voetbalveld",
            "voetbalvelden",
            "sporthal",
            "tennisbaan",
            "tennisbanen",
            "sports park",
            "sports ground",
            "football pitch",
        ],
    ),
    ("skatebaan", &["skatebaan", "skatepark", "skate park"]),
    ("zwembad", &["zwembad", "swimming pool"]),
    ("bibliotheek", &["bibliotheek", "bieb", "library"]),
    (
        "buurthuis",
        &[
            "buurthuis",
            "wijkcentrum",
            "dorpshuis",
            "community centre",
            "community center",
        ],
    ),
    ("kerk", &["kerk", "kerkje", "moskee", "church", "mosque"]),
    (
        "begraafplaats",
        &["begraafplaats", "kerkhof", "cemetery", "graveyard"],
    ),
    (
        "kinderboerderij",
        &["kinderboerderij", "petting zoo", "city farm"],
    ),
    (
        "station",
        &[
            "station",
            "treinstation",
            "stationsplein",
            "railway station",
            "train station",
        ],
    ),
    (
        "bushalte",
        &[
            "bushalte",
            "bushokje",
            "halte",
            "tramhalte",
            "abri",
            "bus stop",
            "tram stop",
        ],
    ),
    (
        "parkeergarage",
        &[
            "parkeergarage",
            "parkeerterrein",
            "parkeerplaats",
            "car park",
            "parking lot",
            "parking garage",
        ],
    ),
    (
        "brug",
        &[
            "brug",
            "bruggetje",
            "fietsbrug",
            "voetgangersbrug",
            "viaduct",
            "bridge",
            "footbridge",
        ],
    ),
    (
        "tunnel",
        &[
            "tunnel",
            "tunneltje",
            "fietstunnel",
            "onderdoorgang",
            "underpass",
            "subway",
        ],
    ),
    ("rotonde", &["rotonde", "roundabout"]),
    (
        "kruispunt",
        &[
            "kruispunt",
            "kruising",
            "oversteekplaats",
            "zebrapad",
            "crossing",
            "crossroads",
            "junction",
            "zebra crossing",
        ],
    ),
    ("markt", &["markt", "marktplein", "market square"]),
    (
        "winkelcentrum",
        &[
            "winkelcentrum",
            "winkelstraat",
            "shopping centre",
            "shopping center",
            "mall",
        ],
    ),
    ("supermarkt", &["supermarkt", "supermarket"]),
    (
        "horeca",
        &[
            "café",
            "cafe",
            "kroeg",
            "bar",
            "restaurant",
            "snackbar",
            "cafetaria",
            "frituur",
            "pizzeria",
            "pub",
            "takeaway",
        ],
    ),
    (
        "winkel",
        &[
            "bakker", "bakkerij", "slager", "apotheek", "drogist", "kapper", "shop", "pharmacy",
            "bakery",
        ],
    ),
    (
        "zorg",
        &[
            "huisarts",
            "huisartsenpraktijk",
            "gezondheidscentrum",
            "ziekenhuis",
            "tandarts",
            "gp",
            "doctor's",
            "hospital",
        ],
    ),
    (
        "gemeentehuis",
        &[
            "gemeentehuis",
            "stadhuis",
            "stadskantoor",
            "city hall",
            "town hall",
        ],
    ),
    (
        "tankstation",
        &[
            "tankstation",
            "benzinepomp",
            "petrol station",
            "gas station",
        ],
    ),
    (
        "flat",
        &[
            "flat",
            "portiekflat",
            "galerij",
            "portiek",
            "appartementencomplex",
            "apartment block",
        ],
    ),
    (
        "water",
        &[
            "vijver",
            "vijvertje",
            "sloot",
            "vaart",
            "singel",
            "gracht",
            "haven",
            "steiger",
            "pond",
            "canal",
            "ditch",
        ],
    ),
    ("bos", &["bos", "bosje", "bosjes", "woods", "forest"]),
];

/// Chains and brands that name a place on their own ("bij de Jumbo").
const CHAINS: &[(&str, &[&str])] = &[
    ("albert heijn", &["albert heijn", "ah", "appie"]),
    ("jumbo", &["jumbo"]),
    ("lidl", &["lidl"]),
    ("aldi", &["aldi"]),
    ("plus", &["plus supermarkt", "de plus"]),
    ("dirk", &["dirk", "dirk van den broek"]),
    ("coop", &["coop"]),
    ("spar", &["spar"]),
    ("hema", &["hema"]),
    ("kruidvat", &["kruidvat"]),
    ("action", &["de action", "the action"]),
    ("etos", &["etos"]),
    ("mcdonalds", &["mcdonald's", "mcdonalds", "mac"]),
    ("gamma", &["gamma"]),
    ("praxis", &["praxis"]),
];

fn landmark_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let mut words: Vec<&str> = LANDMARK_KINDS
            .iter()
            .flat_map(|(_, w)| w.iter().copied())
            .collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        let kinds = words
            .iter()
            .map(|w| regex::escape(w))
            .collect::<Vec<_>>()
            .join("|");
        // A kind, then optionally its name: capitalised words (with Dutch particles), or a
        // quoted name.
        Regex::new(&format!(
            r#"(?i:\b({kinds})\b)(?:\s+((?:(?:[A-Z][\p{{L}}'&-]+|de|het|van|der|den|'t)\s+){{0,2}}[A-Z][\p{{L}}'&-]+|'[^']{{2,40}}'|"[^"]{{2,40}}"))?"#
        ))
        .expect("landmark pattern compiles")
    })
}

fn chain_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let mut words: Vec<&str> = CHAINS.iter().flat_map(|(_, w)| w.iter().copied()).collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        let alt = words
            .iter()
            .map(|w| regex::escape(w))
            .collect::<Vec<_>>()
            .join("|");
        // Chains after a place preposition only, so "plus" or "mac" in a sentence is no shop.
        Regex::new(&format!(
            r"(?i)\b(?:bij|naast|voor|achter|tegenover|bij de ingang van|near|by|outside|in front of|behind|opposite|next to|at)\s+(?:de|het|the|'t)?\s*({alt})\b"
        ))
        .expect("chain pattern compiles")
    })
}

/// Landmark keys in `text`: `lm:<kind or chain> <name>` for named ones, `lmt:<kind>` for an
/// unnamed kind.
pub fn landmarks(text: &str) -> Vec<String> {
    landmarks_in(&Hay::new(text))
}

fn landmarks_in(hay: &Hay) -> Vec<String> {
    let mut out = Vec::new();
    for c in hay.captures_iter(landmark_re()) {
        let word = c[1].to_lowercase();
        let Some((kind, _)) = LANDMARK_KINDS
            .iter()
            .find(|(_, w)| w.contains(&word.as_str()))
        else {
            continue;
        };
        match c.get(2) {
            Some(name) => {
                let is_street = Hay::new(name).is_match(street_re());
                let name = normalise(name.trim_matches(|c| c == '\'' || c == '"'));
                let first = name.split_whitespace().next().unwrap_or("");
                if is_street
                    || NOT_PLACES.contains(&first)
                    || crate::domain::DUTCH_MONTHS.contains(&first)
                {
                    out.push(format!("lmt:{kind}"));
                } else {
                    out.push(format!("lm:{kind} {name}"));
                }
            }
            None => out.push(format!("lmt:{kind}")),
        }
    }
    for c in hay.captures_iter(chain_re()) {
        let word = c[1].to_lowercase();
        if let Some((chain, _)) = CHAINS.iter().find(|(_, w)| w.contains(&word.as_str())) {
            out.push(format!("lm:{chain}"));
        }
    }
    out
}

/// Words that start sentences and are capitalised for that reason only.
fn strip_openers(name: &str) -> &str {
    const OPENERS: &[&str] = &[
        "De",
        "Het",
        "Een",
        "In",
        "Op",
        "Bij",
        "Aan",
        "Voor",
        "Naast",
        "Achter",
        "Ook",
        "Nog",
        "Die",
        "Dat",
        "Deze",
        "Hier",
        "Daar",
        "Mijn",
        "Onze",
        "Uw",
        "Hoek",
        "Kruising",
        "The",
        "At",
        "On",
        "Near",
        "Corner",
        "Goedemorgen",
        "Goedemiddag",
        "Beste",
        "Hallo",
        "Hoi",
    ];
    let mut rest = name.trim();
    loop {
        let Some((first, tail)) = rest.split_once(char::is_whitespace) else {
            return rest;
        };
        // A leading lower-case word ("van de Koestraat") is never part of the name; particles
        // inside a name start with a capital when they lead ("Van Goghstraat").
        if OPENERS.contains(&first) || first.chars().next().is_some_and(char::is_lowercase) {
            rest = tail.trim_start();
        } else {
            return rest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Streets, places and postcodes (landmarks have their own test).
    fn keys(text: &str) -> Vec<String> {
        extract(text)
            .into_iter()
            .map(|l| l.key)
            .filter(|k| !k.starts_with("lm"))
            .collect()
    }

    #[test]
    fn street_with_house_number() {
        let l = extract("De lantaarnpaal voor Merelstraat 22 brandt niet.");
        assert_eq!(l[0].key, "merelstraat");
        assert_eq!(l[0].number.as_deref(), Some("22"));
        let l = extract("bij Eikenlaan 14a");
        assert_eq!(l[0].number.as_deref(), Some("14a"));
    }

    #[test]
    fn multi_word_streets() {
        // The full name, and its last word: people say "de Kolfflaan" too, and a word glued
        // before a street ("Glasbak Meidoornstraat") is no part of it.
        assert_eq!(
            keys("in de tunnel onder de Burgemeester Kolfflaan"),
            ["burgemeester kolfflaan", "kolfflaan"]
        );
        assert_eq!(
            keys("Ik woon aan de Van Goghstraat 3"),
            ["van goghstraat", "goghstraat"]
        );
        assert_eq!(
            keys("langs de Prins Hendrikkade"),
            ["prins hendrikkade", "hendrikkade"]
        );
        assert_eq!(
            keys("Glasbak Meidoornstraat vol."),
            ["glasbak meidoornstraat", "meidoornstraat"]
        );
    }

    #[test]
    fn lower_case_particles_before_a_street_are_not_its_name() {
        assert_eq!(
            keys("een gat in het wegdek van de Koestraat"),
            ["koestraat"]
        );
        assert_eq!(
            keys("op de kruising van de Hoefweg en de Gildestraat"),
            ["hoefweg", "gildestraat"]
        );
    }

    #[test]
    fn crossings_give_both_streets() {
        assert_eq!(
            keys("the corner of Stationsweg and Irisstraat"),
            ["stationsweg", "irisstraat"]
        );
        assert_eq!(
            keys("bij de kruising Hoefweg/Gildestraat"),
            ["hoefweg", "gildestraat"]
        );
    }

    #[test]
    fn named_places_after_a_preposition() {
        assert_eq!(
            keys("Bij de bakker aan de Brink zit een tegel los"),
            ["brink"]
        );
        assert_eq!(keys("vlak na de drempel bij de Lidl"), ["lidl"]);
        assert!(keys("Op de Dorpsstraat, bij de bushalte").contains(&"dorpsstraat".to_string()));
    }

    #[test]
    fn sentence_openers_and_dates_are_not_places() {
        assert!(keys("Op maandag bel ik de Gemeente weer").is_empty());
        assert_eq!(keys("Hoek Smidsweg"), ["smidsweg"]);
    }

    #[test]
    fn postcodes() {
        assert_eq!(keys("mijn adres is 1234 AB"), ["pc:1234ab"]);
    }

    #[test]
    fn landmarks_named_unnamed_and_in_english() {
        let k = landmarks("Naast basisschool De Regenboog ligt glas.");
        assert!(
            k.contains(&"lm:basisschool de regenboog".to_string()),
            "{k:?}"
        );
        assert!(landmarks("bij de Jumbo staat een kapotte lamp").contains(&"lm:jumbo".to_string()));
        let k = landmarks("The lamp in front of the Albert Heijn is out.");
        assert!(k.contains(&"lm:albert heijn".to_string()), "{k:?}");
        assert_eq!(
            landmarks("het speeltuintje achter de flat"),
            ["lmt:speeltuin", "lmt:flat"]
        );
        assert_eq!(
            landmarks("the playground behind our block"),
            ["lmt:speeltuin"]
        );
        // No house numbers in landmark keys either.
        assert!(extract("bushalte Dorpsstraat 12")
            .iter()
            .all(|l| !l.key.contains("12")));
        // A street after a landmark kind is the street, not the landmark's name.
        assert_eq!(
            landmarks("bij de kruising Smidsweg/Ambachtstraat"),
            ["lmt:kruispunt"]
        );
    }

    #[test]
    fn nothing_in_a_text_without_places() {
        assert!(keys("ik ben al weken niet teruggebeld").is_empty());
    }
}
