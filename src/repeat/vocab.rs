//! The vocabularies of repeat detection, built into the binary from `data/`: what is wrong
//! (`problems.toml`), which request or case a message is about (`processes.toml`, with the
//! municipality's term for each), case references ("kenmerk 2026-0412"), and whether a message
//! asks where something stays. Compiled once.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::hay::Hay;

const PROBLEMS: &str = include_str!("../../data/problems.toml");
const PROCESSES: &str = include_str!("../../data/processes.toml");

fn alternation(phrases: &[String]) -> Regex {
    let mut p: Vec<&str> = phrases.iter().map(String::as_str).collect();
    p.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    RegexBuilder::new(&format!(r"\b(?:{})\b", p.join("|")))
        .case_insensitive(true)
        .build()
        .expect("data/problems.toml and data/processes.toml compile (tested)")
}

/// A problem: its name, its own phrases, and its context phrases (`~` in the file: "donker"
/// says a lamp is out in a lamp report, and only when it is dark in any other).
struct Problem {
    name: String,
    re: Option<Regex>,
    context: Option<Regex>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProblems {
    problems: BTreeMap<String, Vec<String>>,
    relations: Relations,
}

/// How problems relate, for the same-issue decision (`[relations]` in `problems.toml`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Relations {
    /// No state of the object: never in conflict with another problem.
    neutral: Vec<String>,
    /// Something happened to the object: a new issue where the earlier message named none.
    events: Vec<String>,
    /// Groups of problems that may be one state told two ways.
    compatible: Vec<Vec<String>>,
}

/// `problems.toml` compiled: the problems with their regexes, and how they relate.
struct Problems {
    list: Vec<Problem>,
    relations: Relations,
}

fn compiled_problems() -> &'static Problems {
    static P: OnceLock<Problems> = OnceLock::new();
    P.get_or_init(|| {
        let raw: RawProblems =
            toml::from_str(PROBLEMS).expect("data/problems.toml is valid (tested)");
        let list = raw
            .problems
            .into_iter()
            .map(|(name, phrases)| {
                let (context, own): (Vec<String>, Vec<String>) =
                    phrases.into_iter().partition(|p| p.starts_with('~'));
                let context: Vec<String> = context.iter().map(|p| p[1..].to_string()).collect();
                let some = |v: &[String]| (!v.is_empty()).then(|| alternation(v));
                Problem {
                    name,
                    re: some(&own),
                    context: some(&context),
                }
            })
            .collect();
        Problems {
            list,
            relations: raw.relations,
        }
    })
}

fn problems() -> &'static Vec<Problem> {
    &compiled_problems().list
}

fn relations() -> &'static Relations {
    &compiled_problems().relations
}

/// Whether `problem` names no state of the object (danger, the municipality's handling).
pub fn is_neutral(problem: &str) -> bool {
    relations().neutral.iter().any(|p| p == problem)
}

/// Whether `problem` is an event: something happened to the object.
pub fn is_event(problem: &str) -> bool {
    relations().events.iter().any(|p| p == problem)
}

/// Whether problems `a` and `b` may be the same state of an object told two ways.
pub fn compatible(a: &str, b: &str) -> bool {
    a == b
        || relations()
            .compatible
            .iter()
            .any(|g| g.iter().any(|p| p == a) && g.iter().any(|p| p == b))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcesses {
    process: Vec<RawProcess>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcess {
    name: String,
    term_days: u32,
    #[serde(rename = "match")]
    phrases: Vec<String>,
}

/// A kind of request or case, with the municipality's term for it.
pub struct Process {
    /// Its name (stored in the history).
    pub name: String,
    /// Days the municipality has to answer or decide.
    pub term_days: u32,
    re: Regex,
}

fn processes() -> &'static Vec<Process> {
    static P: OnceLock<Vec<Process>> = OnceLock::new();
    P.get_or_init(|| {
        let raw: RawProcesses =
            toml::from_str(PROCESSES).expect("data/processes.toml is valid (tested)");
        raw.process
            .into_iter()
            .map(|p| Process {
                re: alternation(&p.phrases),
                name: p.name,
                term_days: p.term_days,
            })
            .collect()
    })
}

/// The problems (what is wrong) `text` names by their own phrases, by name, sorted.
pub fn problems_in(text: &str) -> Vec<String> {
    let hay = Hay::new(text);
    problems()
        .iter()
        .filter(|p| p.re.as_ref().is_some_and(|re| hay.is_match(re)))
        .map(|p| p.name.clone())
        .collect()
}

/// The problems `text` names only by context phrases ("het is donker"), by name, sorted: they
/// count towards the same problem, never towards a conflict of problems. `own`: the problems
/// it names itself ([`problems_in`]).
pub fn context_problems_in(text: &str, own: &[String]) -> Vec<String> {
    let hay = Hay::new(text);
    problems()
        .iter()
        .filter(|p| !own.contains(&p.name))
        .filter(|p| p.context.as_ref().is_some_and(|re| hay.is_match(re)))
        .map(|p| p.name.clone())
        .collect()
}

/// The kinds of request or case `text` is about, by name, sorted.
pub fn processes_in(text: &str) -> Vec<String> {
    let hay = Hay::new(text);
    let mut v: Vec<String> = processes()
        .iter()
        .filter(|p| hay.is_match(&p.re))
        .map(|p| p.name.clone())
        .collect();
    v.sort();
    v
}

/// The term for a request of unknown kind (a case reference only): the Awb's reasonable term
/// for an answer without a statutory one (art. 4:13 lid 2 Awb: eight weeks).
pub const DEFAULT_TERM_DAYS: u32 = 56;

/// The term in days of the process `name` ([`DEFAULT_TERM_DAYS`] when unknown).
pub fn term_days(name: &str) -> u32 {
    processes()
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.term_days)
        .unwrap_or(DEFAULT_TERM_DAYS)
}

static_regex!(
    case_re,
    r"(?ix)
            \b(?:uw\s+|ons\s+|our\s+|your\s+)?
            (?:kenmerk|zaaknummer|zaak|dossiernummer|dossier|referentienummer|referentie|
               aanvraagnummer|registratienummer|meldingsnummer|melding(?:nummer)?|klachtnummer|
               aanslagnummer|beschikkingsnummer|reference|ref|case(?:\s+number)?|
               application(?:\s+number)?|file(?:\s+number)?|nr|nummer|no)
            \.?\s*[:\#]?\s*
            ([A-Z0-9](?:[A-Z0-9./-]*[0-9])?)"
);

fn bare_case_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Reference-shaped tokens on their own: WOO-2026-0042, Z/24/12345, 2026-0412, BZ2026.117.
    RE.get_or_init(|| {
        Regex::new(
            r"\b(?:[A-Z]{1,5}[-/.]?\d{2,4}[-/.]\d{2,7}|\d{4}[-/.]\d{3,7}|[A-Z]{2,4}\d{4,10})\b",
        )
        .expect("bare case pattern compiles")
    })
}

/// Case references in `text`, normalised (upper case, separators dropped). At least four
/// characters with a digit; a plain year or a date is none. Never stored as they are: the
/// caller keys them.
pub fn case_refs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |raw: &str| {
        let n: String = raw
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let digits = n.chars().filter(char::is_ascii_digit).count();
        let looks_like_year = n.len() == 4 && digits == 4;
        if n.len() >= 4 && digits >= 3 && !looks_like_year && !out.contains(&n) {
            out.push(n);
        }
    };
    let hay = Hay::new(text);
    for c in hay.captures_iter(case_re()) {
        push(&c[1]);
    }
    for (_, _, s) in hay.find_iter(bare_case_re()) {
        // Dates (2026-03-12) and phone numbers (0612-345678) are no cases.
        if s.len() == 10 && s.chars().filter(|c| *c == '-').count() == 2 || s.starts_with('0') {
            continue;
        }
        push(s);
    }
    out.sort();
    out
}

static_regex!(
    status_re,
    r"(?i)\b(?:waar blijft|(?:ik )?hoor (?:maar )?(?:niks|niets|niemand)|niemand (?:meer )?(?:gehoord|gesproken)|(?:heb|hoor) ik (?:nog )?(?:steeds )?(?:niks|niets)|helemaal (?:niks|niets|niemand) (?:gehoord|ontvangen)|nog steeds (?:heb ik )?(?:niks|niets)|nooit (?:meer )?teruggebeld|niet teruggebeld|hoe staat het (?:met|ervoor)|stand van zaken|nooit (?:meer )?(?:iets|wat|een (?:reactie|antwoord|bericht)) (?:gehoord|ontvangen|vernomen|gekregen)|nooit (?:meer )?(?:iets )?(?:gehoord|vernomen)|niets meer (?:gehoord|vernomen|ontvangen)|daarna niets meer|niets (?:meer )?vernomen|(?:wettelijke |beslis)?termijn (?:is )?(?:ruim |al )?(?:verstreken|overschreden|voorbij)|nog (?:altijd )?geen (?:besluit|beslissing|uitspraak|antwoord|reactie)|never heard|no (?:response|reply) (?:yet|since)|deadline has passed|(?:term|deadline) (?:has )?(?:passed|expired)|nog (?:steeds )?(?:niets|niks|geen (?:reactie|antwoord|besluit|beslissing|bericht))|niets (?:meer )?(?:van u )?gehoord|niks gehoord|geen reactie (?:meer )?(?:ontvangen|gehad|gekregen)|wanneer (?:krijg|hoor|komt)|al (?:weken|maanden) (?:geleden|niets|niks)|status of my|what is the status|(?:hebben|heb) (?:\w+ )?(?:niets|niks) ontvangen|(?:er )?heeft niemand (?:\w+ )?(?:gebeld|gereageerd|contact opgenomen)|niemand (?:heeft )?(?:gebeld|teruggebeld|gereageerd)|wat is er met (?:de|mijn|onze) (?:\w+ )?(?:aanvraag|vraag|melding|bezwaar) gebeurd|(?:received|had) nothing|nobody (?:has )?(?:called|contacted|replied)|(?:laten )?weten hoe het (?:\w+ ){0,4}?(?:ervoor )?staat|nothing since|no (?:decision|answer|reply) (?:yet|so far)|(?:has|have) not (?:yet )?(?:been )?(?:decided|answered|received)|not (?:yet )?received (?:a|any) (?:decision|answer|reply)|any (?:news|update)|still (?:waiting|haven.t heard|no (?:reply|answer|decision))|haven.t heard|heard nothing|when will i (?:hear|get)|(?:geen|nooit (?:een|enige|ooit)?|nooit)\s+(?:enkele\s+)?(?:brief|bericht|reactie|antwoord|bevestiging|ontvangstbevestiging|beslissing|besluit|beschikking|uitnodiging|telefoontje|keuring|afspraak|mail|e-mail)\s+(?:meer\s+)?(?:gehad|ontvangen|gekregen|gezien)|(?:never|not)\s+(?:got|received|had|gotten)\s+(?:a|an|any)\s+(?:reply|answer|decision|confirmation|letter|call|response)|no\s+(?:confirmation|acknowledg(?:e)?ment)|nobody\s+(?:has\s+)?(?:come|been)\s+(?:round|by)|niemand\s+(?:is\s+)?(?:langs\s+)?(?:geweest|gekomen))"
);

static_regex!(
    fixed_re,
    r"(?i)\b(?:is|zijn|werd|werden|was|waren|al|netjes|keurig|snel|inmiddels|intussen|hebben|heeft|hebt)\s+(?:\w+\s+){0,3}?(?:opgelost|gerepareerd|gemaakt|hersteld|vervangen|opgeruimd|schoongemaakt|opgehaald|weggehaald|verwijderd|leeggehaald|geleegd|doorgespoten|ontstopt|gesnoeid|gemaaid|rechtgezet|vastgezet|teruggeplaatst|afgezet)\b|\b(?:brandt|brandde|brandden|branden|doet|deed|deden|doen|werkt|werkte|werken|loopt|spuit|spoot)\s+(?:\w+\s+){0,2}?weer\b|\bweer\s+(?:licht|in orde|schoon|heel|vrij|begaanbaar)\b|\b(?:hangt|hangen|staat|staan|zit|zitten)\s+(?:\w+\s+)?weer\s+(?:\w+\s+){0,2}?(?:vast|recht|rechtop|aan\s+(?:zijn|haar|z'n|de|het)|op\s+(?:zijn|haar|z'n)\s+(?:plek|plaats))\b|\b(?:is|are)\s+back\s+(?:up|in\s+place|on\s+(?:its|the)\s+\w+)\b|\bweer\s+(?:werkt|brandt|branden|doet|open\s+kan|dicht\s+kan)\b|\b(?:zien|zie|ruiken|ruik|horen|hoor|see|smell|hear)\s+(?:\w+\s+)?(?:geen|nothing|no)\s+(?:\w+\s+)?(?:meer|more|anymore)\b|\bno\s+more\s+(?:\w+\s+)?(?:rats|smell|noise|rubbish|water)\b|\bis\s+(?:weg|verdwenen)\b|\b(?:is|zijn)\s+(?:weer\s+|nu\s+)?(?:schoon|leeg|opgeruimd)\b|\b(?:is|are)\s+(?:now\s+)?(?:clean|empty|clear)\s+(?:again|now)\b|\b(?:sinds|na|since|after)\s+(?:de|het|die|jullie|u|uw|the|your|you|they)?\s*(?:\w+\s+){0,2}?(?:reparatie|herstel|vervanging|repair|fix|fixed|repaired|replaced|gerepareerd|gemaakt|vervangen|hersteld)\b|\b(?:has|have|was|were|got|been|is|are)\s+(?:\w+\s+){0,2}?(?:fixed|repaired|cleaned|cleared|removed|replaced|collected|emptied|sorted|unblocked|trimmed|pruned|mended|restored)\b|\b(?:works|working|fine)\s+again\b|\bworks\s+fine\b|\bcame\s+(?:by|round)\s+(?:\w+\s+){0,3}?(?:and\s+)?(?:fixed|cleaned|cleared|repaired)"
);

/// Words that turn a fix into its absence or into a wish ("is nog steeds niet gemaakt",
/// "moet gemaakt worden", "has not been fixed", "needs to be repaired").
const NOT_FIXED: &[&str] = &[
    "niet", "nooit", "moet", "moeten", "moest", "kan", "kunnen", "zal", "zullen", "zou", "zouden",
    "graag", "wil", "willen", "wordt", "worden", "te", "not", "never", "yet", "should", "must",
    "will", "would", "can", "could", "to", "needs", "need", "hasn't", "haven't", "wasn't",
    "weren't", "isn't", "aren't", "still", "wanneer", "when", "of", "if", "als",
];

/// Whether `text` says the issue has been dealt with ("is gemaakt", "brandt weer", "has been
/// fixed", "sinds de reparatie") — with thanks or without, and not negated or wished for
/// ("is nog steeds niet opgehaald", "moet gemaakt worden", "has not been emptied").
pub fn says_fixed(text: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !(c.is_alphanumeric() || c == '\''))
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    Hay::new(text)
        .find_iter(fixed_re())
        .any(|(start, end, inside)| {
            let before = words(&text[..start]);
            let inside = words(inside);
            let after = words(&text[end..]);
            let negated = |w: &String| NOT_FIXED.contains(&w.as_str()) || w.ends_with("n't");
            !inside.iter().any(negated)
                && !before.iter().rev().take(2).any(negated)
                && !after
                    .first()
                    .is_some_and(|w| ["worden", "wordt", "be", "te"].contains(&w.as_str()))
        })
}

static_regex!(
    clause_re,
    r"(?i)[.!?;\n]+|,?\s+\b(?:maar|alleen|helaas|but|however|only)\b"
);

/// The problems `text` names outside the clauses that say something was fixed ("de lamp
/// brandt weer, dank. Maar nu is de paal aangereden" names `ongeluk`; "de stank is weg"
/// names none): a message that tells of a fix and of a problem besides reports that problem.
/// The municipality's handling and danger are no problem of their own here.
pub fn problems_besides_fix(text: &str) -> Vec<String> {
    let rest: Vec<&str> = Hay::new(text)
        .split(clause_re())
        .into_iter()
        .filter(|c| !says_fixed(c))
        .collect();
    problems_in(&rest.join(". "))
        .into_iter()
        .filter(|p| p != "geen_reactie" && p != "gevaarlijk")
        .collect()
}

static_regex!(
    still_re,
    r"(?i)\b(?:nog\s+(?:steeds|altijd)|nog\s+precies\s+zo|(?:staat|ligt|zit|hangt|is)\s+er\s+nog|still|remains?)\b"
);

/// Whether `text` says a problem persists ("nog steeds", "ligt er nog", "still"): a fix it
/// mentions is of something else.
pub fn says_still(text: &str) -> bool {
    Hay::new(text).is_match(still_re())
}

/// Whether `text` asks where a request or report stays ("waar blijft het", "nog niets gehoord").
pub fn asks_status(text: &str) -> bool {
    Hay::new(text).is_match(status_re())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_name_only_problems_that_exist() {
        let r = relations();
        let names: Vec<&String> = problems().iter().map(|p| &p.name).collect();
        for p in r
            .neutral
            .iter()
            .chain(&r.events)
            .chain(r.compatible.iter().flatten())
        {
            assert!(names.contains(&p), "[relations] names unknown problem {p}");
        }
        assert!(is_neutral("geen_reactie") && !is_neutral("kapot"));
        assert!(is_event("ongeluk") && !is_event("uit"));
        assert!(compatible("uit", "kapot") && compatible("vies", "vies"));
        assert!(!compatible("uit", "ongeluk"));
    }

    #[test]
    fn vocabularies_compile_and_find_what_is_wrong() {
        assert!(problems().len() >= 15);
        assert!(processes().len() >= 10);
        assert_eq!(
            problems_in("De lantaarnpaal brandt niet, het is pikkedonker."),
            ["uit"]
        );
        let p = problems_in("Een auto heeft de lantaarnpaal aangereden, hij staat scheef.");
        assert!(
            p.contains(&"kapot".to_string()) && !p.contains(&"uit".to_string()),
            "{p:?}"
        );
        assert_eq!(problems_in("The street light is out again."), ["uit"]);
        let dark = "Als het donker is struikel je over de losse tegel.";
        assert_eq!(problems_in(dark), ["los"]);
        assert_eq!(context_problems_in(dark, &problems_in(dark)), ["uit"]);
        assert_eq!(
            processes_in("Mijn aanvraag voor een scootmobiel (Wmo)"),
            ["wmo"]
        );
        assert_eq!(term_days("woo"), 28);
    }

    #[test]
    fn case_references_are_found_normalised_and_dates_are_not() {
        assert_eq!(case_refs("Uw kenmerk: 2026-0412, zie brief"), ["20260412"]);
        assert_eq!(
            case_refs("Over WOO-2026-0042 heb ik niets gehoord"),
            ["WOO20260042"]
        );
        assert!(case_refs("Op 2026-03-12 belde ik, in 2025 ook al.").is_empty());
        assert!(case_refs("nummer 12").is_empty());
    }

    #[test]
    fn fixes_are_recognised() {
        assert!(says_fixed(
            "Ze zijn gisteren het riool komen doorspuiten, de stank is weg."
        ));
        assert!(says_fixed("De lamp brandt weer, dank!"));
        assert!(says_fixed("The drain has been cleaned this morning."));
        assert!(says_fixed("Het grofvuil is netjes opgehaald."));
        assert!(!says_fixed("Het stinkt weer uit de put."));
        assert!(!says_fixed("Wanneer wordt het opgehaald?"));
        assert!(!says_fixed("Het grofvuil is nog steeds niet opgehaald."));
        assert!(!says_fixed("De bank is gevaarlijk en moet gemaakt worden."));
        assert!(!says_fixed("The container has not been emptied in weeks."));
        assert!(!says_fixed("It still hasn't been repaired."));
        assert!(says_fixed(
            "Hij brandde net weer sinds de reparatie van vorige maand."
        ));
        assert!(says_fixed(
            "The lamp post works fine since you fixed it in January."
        ));
        assert!(says_fixed("Het net is inmiddels vervangen, dank!"));
        assert!(says_fixed("Even laten weten dat de container weer werkt."));
        assert!(says_fixed(
            "De bestrijder is geweest en we zien geen ratten meer."
        ));
        assert!(says_fixed(
            "Even iets positiefs: de afvalbak hangt weer aan zijn paal. Dank daarvoor."
        ));
        assert!(says_still("Maar de zitting is nog steeds doorgebroken."));
        assert!(
            problems_besides_fix("Ze zijn het riool komen doorspuiten, de stank is weg.")
                .is_empty()
        );
        assert_eq!(
            problems_besides_fix(
                "De lamp brandt weer, dank! Maar nu is de paal aangereden door een bus."
            ),
            ["ongeluk"]
        );
    }

    #[test]
    fn status_questions_are_recognised() {
        assert!(asks_status("Waar blijft mijn vergunning?"));
        assert!(asks_status("Ik heb nog steeds niets gehoord."));
        assert!(asks_status("What is the status of my application?"));
        assert!(asks_status(
            "We zijn zeven weken verder en hebben niets ontvangen."
        ));
        assert!(asks_status(
            "Het is nu acht weken, er heeft niemand gebeld."
        ));
        assert!(asks_status(
            "Sindsdien heb ik geen brief gehad, geen keuring, niets."
        ));
        assert!(asks_status("Ik heb geen enkele bevestiging gehad."));
        assert!(asks_status("I never received a decision on it."));
        assert!(!asks_status("De lamp is kapot."));
    }
}
