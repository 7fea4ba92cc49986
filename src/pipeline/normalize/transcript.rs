//! Counter and phone transcripts: keep what the citizen says, drop staff turns and labels.
//!
//! A message is a transcript when at least two lines start with a speaker label ("Burger:",
//! "[10:32] Medewerker:") and at least one of the speakers is staff. A line without a label
//! continues the previous turn; lines before the first label are dropped with the staff turns.

use super::offsets::Line;
use super::{Fate, RemovedReason};

static_regex!(
    label_re,
    r"^(?:(?:\[[^\]]{0,40}\]|\(\d[^)]{0,30}\)|\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)\s*(?:[-–]\s*)?)?(?P<label>\p{L}[^:\[\]()]{0,40}?)\s*(?:[\[(][^\])]{0,30}[\])]\s*)?:\s*"
);

static_regex!(
    timestamp_re,
    r"^[\[(]?\s*(?:\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4},?\s*)?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\s*[\])]?$"
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Staff,
    Citizen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineClass {
    /// A speaker label of `prefix` chars (timestamp, label, colon, spaces) and the speaker's role.
    Label { prefix: usize, role: Role },
    /// Only a timestamp.
    Timestamp,
    /// Anything else: continues the current turn.
    Text,
}

const STAFF: &[&str] = &[
    "medewerker",
    "medewerkster",
    "kcc",
    "gemeente",
    "baliemedewerker",
    "baliemedewerkster",
    "ambtenaar",
    "agent",
    "employee",
    "staff",
    "officer",
    "operator",
    "klantcontact",
    "klantcontactcentrum",
    "callcenter",
    "consulent",
    "handhaver",
    "boa",
    "helpdesk",
    "klantenservice",
    "servicedesk",
];

const STAFF_SUFFIXES: &[&str] = &[
    "medewerker",
    "medewerkster",
    "ambtenaar",
    "consulent",
    "handhaver",
];

const CITIZEN: &[&str] = &[
    "burger",
    "klant",
    "beller",
    "belster",
    "inwoner",
    "inwoonster",
    "bewoner",
    "bewoonster",
    "bezoeker",
    "bezoekster",
    "aanvrager",
    "aanvraagster",
    "melder",
    "klager",
    "indiener",
    "cliënt",
    "client",
    "cliënte",
    "resident",
    "caller",
    "citizen",
    "customer",
    "visitor",
    "complainant",
];

const TITLES: &[&str] = &[
    "mevrouw", "meneer", "mevr", "mvr", "mw", "dhr", "heer", "mr", "mrs", "ms", "miss", "sir",
];

/// Keys that look like labels but are not speakers.
const NOT_SPEAKERS: &[&str] = &[
    "onderwerp",
    "datum",
    "tijd",
    "van",
    "aan",
    "cc",
    "bcc",
    "subject",
    "from",
    "to",
    "date",
    "sent",
    "verzonden",
    "re",
    "fw",
    "fwd",
    "tel",
    "telefoon",
    "telefoonnummer",
    "mobiel",
    "e-mail",
    "email",
    "mail",
    "adres",
    "postcode",
    "woonplaats",
    "kenmerk",
    "betreft",
    "referentie",
    "zaaknummer",
    "ps",
    "p.s",
    "nb",
    "n.b",
    "let op",
    "opmerking",
    "notitie",
    "note",
    "locatie",
    "plaats",
    "naam",
    "bijlage",
    "bijlagen",
    "web",
    "website",
    "www",
    "http",
    "https",
    "transcript",
    "gesprek",
    "samenvatting",
    "kanaal",
    "categorie",
    "status",
    "prioriteit",
    "vraag",
    "antwoord",
    "actie",
    "klacht",
    "melding",
    "bezwaar",
    "reden",
    "conclusie",
    "toelichting",
    "omschrijving",
    "beschrijving",
    "time",
    "address",
    "phone",
    "name",
];

/// The role of a speaker label, or None when the label is not a speaker.
fn classify_label(label: &str) -> Option<Role> {
    let label = label.trim();
    let lower = label.to_lowercase();
    let bare = lower.trim_end_matches('.');
    if bare == "mw" {
        return Some(Role::Staff);
    }
    let words: Vec<&str> = bare
        .split(|c: char| c.is_whitespace() || "-/_,&+".contains(c))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > 5 {
        return None;
    }
    for w in &words {
        if STAFF.contains(w) || STAFF_SUFFIXES.iter().any(|s| w.ends_with(s)) {
            return Some(Role::Staff);
        }
        if CITIZEN.contains(w) {
            return Some(Role::Citizen);
        }
    }
    let titled = TITLES.contains(&words[0]) || (words[0] == "de" && words.get(1) == Some(&"heer"));
    if titled {
        return Some(Role::Citizen);
    }
    if words.len() > 3 || NOT_SPEAKERS.contains(&bare) || NOT_SPEAKERS.contains(&words[0]) {
        return None;
    }
    let capitalized = label.chars().next().is_some_and(char::is_uppercase);
    let name_like = words.iter().all(|w| {
        w.chars()
            .all(|c| c.is_alphanumeric() || c == '\'' || c == '’')
    });
    (capitalized && name_like).then_some(Role::Citizen)
}

/// One to three capitalized words without punctuation: "Utrecht", "Den Haag".
fn is_place_name(rest: &str) -> bool {
    let words: Vec<&str> = rest.split_whitespace().collect();
    (1..=3).contains(&words.len())
        && words.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars()
                    .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        })
}

fn classify(text: &str) -> LineClass {
    if timestamp_re().is_match(text) {
        return LineClass::Timestamp;
    }
    let Some(caps) = label_re().captures(text) else {
        return LineClass::Text;
    };
    let whole = caps.get(0).expect("match");
    if text[whole.end()..].starts_with("//") {
        return LineClass::Text;
    }
    let label = &caps["label"];
    if label.trim().eq_ignore_ascii_case("gemeente") && is_place_name(&text[whole.end()..]) {
        // A form field ("Gemeente: Utrecht"), not the municipality speaking.
        return LineClass::Text;
    }
    match classify_label(label) {
        Some(role) => LineClass::Label {
            prefix: text[..whole.end()].chars().count(),
            role,
        },
        None => LineClass::Text,
    }
}

/// Detect a transcript among the kept lines and, when it is one, drop staff turns and citizen
/// labels. Returns None when the text is not a transcript, else the number of citizen turns that
/// kept some text.
pub(crate) fn apply(lines: &[Line], fates: &mut [Fate]) -> Option<usize> {
    let live: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].is_blank() && fates[i] == Fate::Keep)
        .collect();
    let classes: Vec<LineClass> = live.iter().map(|&i| classify(&lines[i].text)).collect();
    let labels = classes
        .iter()
        .filter(|c| matches!(c, LineClass::Label { .. }))
        .count();
    let has_staff = classes.iter().any(|c| {
        matches!(
            c,
            LineClass::Label {
                role: Role::Staff,
                ..
            }
        )
    });
    if labels < 2 || !has_staff {
        return None;
    }

    let mut turns = 0;
    let mut role: Option<Role> = None;
    let mut turn_has_text = false;
    for (&i, class) in live.iter().zip(&classes) {
        match *class {
            LineClass::Timestamp => fates[i] = Fate::Drop(RemovedReason::SpeakerLabel),
            LineClass::Label { prefix, role: r } => {
                if role == Some(Role::Citizen) && turn_has_text {
                    turns += 1;
                }
                role = Some(r);
                turn_has_text = false;
                fates[i] = match r {
                    Role::Staff => Fate::Drop(RemovedReason::StaffTurn),
                    Role::Citizen if prefix >= lines[i].src.len() => {
                        Fate::Drop(RemovedReason::SpeakerLabel)
                    }
                    Role::Citizen => {
                        turn_has_text = true;
                        Fate::StripLabel(prefix)
                    }
                };
            }
            LineClass::Text => match role {
                Some(Role::Citizen) => turn_has_text = true,
                _ => fates[i] = Fate::Drop(RemovedReason::StaffTurn),
            },
        }
    }
    if role == Some(Role::Citizen) && turn_has_text {
        turns += 1;
    }
    Some(turns)
}

#[cfg(test)]
mod tests {
    use super::super::{normalize, RemovedReason, TextKind};
    use super::*;
    use crate::domain::Channel;

    use super::super::removed_texts as removed;

    #[test]
    fn medewerker_burger_keeps_only_citizen_turns() {
        let t = "Medewerker: Goedemiddag, wat kan ik voor u doen?\nBurger: Mijn container is al twee weken niet geleegd.\nMedewerker: Dat spijt me.\nBurger: Ik heb al drie keer gebeld!";
        let n = normalize(t, Channel::Balie);
        assert_eq!(
            n.text,
            "Mijn container is al twee weken niet geleegd.\nIk heb al drie keer gebeld!"
        );
        assert_eq!(n.kind, TextKind::Transcript);
        assert_eq!(n.citizen_turns, 2);
        assert_eq!(
            removed(t, &n, RemovedReason::StaffTurn),
            [
                "Medewerker: Goedemiddag, wat kan ik voor u doen?",
                "Medewerker: Dat spijt me."
            ]
        );
        assert_eq!(
            removed(t, &n, RemovedReason::SpeakerLabel),
            ["Burger: ", "Burger: "]
        );
    }

    #[test]
    fn klant_beller_labels_are_citizens() {
        let t = "KCC: Gemeente Utrecht, goedemorgen.\nBeller: Ik bel over de lantaarnpaal.\nKCC: Welke straat?\nKlant: De Kerkstraat.";
        let n = normalize(t, Channel::Telefoon);
        assert_eq!(n.text, "Ik bel over de lantaarnpaal.\nDe Kerkstraat.");
        assert_eq!(n.citizen_turns, 2);
    }

    #[test]
    fn timestamps_before_labels_are_tolerated() {
        let t = "[10:32] Medewerker: Goedemorgen.\n[10:33] Burger: Ik ben niet teruggebeld.\n[10:34]\nMedewerker: Excuses.";
        let n = normalize(t, Channel::Telefoon);
        assert_eq!(n.text, "Ik ben niet teruggebeld.");
        assert_eq!(n.citizen_turns, 1);
        assert_eq!(
            removed(t, &n, RemovedReason::SpeakerLabel),
            ["[10:33] Burger: ", "[10:34]"]
        );
    }

    #[test]
    fn employee_asking_about_a_complaint_is_not_evidence() {
        let t = "Medewerker: Wilt u een klacht indienen?\nBurger: Nee hoor, ik wil alleen een nieuwe pas.";
        let n = normalize(t, Channel::Balie);
        assert!(!n.text.contains("klacht"));
        assert_eq!(n.text, "Nee hoor, ik wil alleen een nieuwe pas.");
    }

    #[test]
    fn continuation_lines_belong_to_the_previous_turn() {
        let t = "Medewerker: Wat is het probleem?\nik leg het even uit\nBurger: Het gaat om de stoep.\nDie ligt al maanden open.\nEn niemand doet iets.\nMedewerker: Ik noteer het.\nnog een notitie van de medewerker";
        let n = normalize(t, Channel::Balie);
        assert_eq!(
            n.text,
            "Het gaat om de stoep.\nDie ligt al maanden open.\nEn niemand doet iets."
        );
        assert_eq!(n.citizen_turns, 1);
    }

    #[test]
    fn names_and_titles_are_citizen_speakers() {
        let t = "Baliemedewerker: Wat kan ik voor u doen?\nMevr. de Vries: Ik wacht al zes weken op antwoord.\nMw.: Dat zoek ik uit.\nJan: En ik ook!";
        let n = normalize(t, Channel::Balie);
        assert_eq!(n.text, "Ik wacht al zes weken op antwoord.\nEn ik ook!");
        assert_eq!(n.citizen_turns, 2);
    }

    #[test]
    fn label_on_its_own_line_with_text_below() {
        let t = "Medewerker:\nGoedemiddag.\nBurger:\nDe bus kwam weer niet.";
        let n = normalize(t, Channel::Balie);
        assert_eq!(n.text, "De bus kwam weer niet.");
        assert_eq!(n.citizen_turns, 1);
    }

    #[test]
    fn transcript_with_crlf_maps_back() {
        let t = "Medewerker: Goedemiddag.\r\nBurger: Cafe\u{301} is dicht.\r\n";
        let n = normalize(t, Channel::Balie);
        assert_eq!(n.text, "Café is dicht.");
        let (s, e) = n.original_span(0, 4).unwrap();
        let orig: String = t.chars().skip(s).take(e - s).collect();
        assert_eq!(orig, "Cafe\u{301}");
    }

    #[test]
    fn two_citizen_labels_without_staff_are_not_a_transcript() {
        let t = "Jan: ik vind het niks.\nPiet: ik ook niet.";
        let n = normalize(t, Channel::Chat);
        assert_eq!(n.kind, TextKind::Plain);
        assert_eq!(n.text, t);
    }

    #[test]
    fn form_fields_are_not_a_transcript() {
        let t = "Melder: Jan Jansen\nGemeente: Utrecht\nDe stoeptegel voor mijn deur ligt los.";
        let n = normalize(t, Channel::Webformulier);
        assert_eq!(n.kind, TextKind::Plain);
        assert_eq!(n.text, t);
    }

    #[test]
    fn header_like_keys_are_not_speakers() {
        assert_eq!(classify("Onderwerp: klacht"), LineClass::Text);
        assert_eq!(classify("https://example.nl"), LineClass::Text);
        assert_eq!(classify("het probleem is dit: niets"), LineClass::Text);
        assert_eq!(
            classify("Medewerker (KCC): hallo"),
            LineClass::Label {
                prefix: 18,
                role: Role::Staff
            }
        );
        assert_eq!(
            classify("10:32 - Klant: ja"),
            LineClass::Label {
                prefix: 15,
                role: Role::Citizen
            }
        );
        assert_eq!(classify("[10:32]"), LineClass::Timestamp);
        assert_eq!(classify_label("KCC-medewerker"), Some(Role::Staff));
        assert_eq!(
            classify_label("Inwoner gemeente Utrecht"),
            Some(Role::Citizen)
        );
        assert_eq!(classify_label("Dhr. J. de Vries"), Some(Role::Citizen));
        assert_eq!(classify_label("dus"), None);
    }
}
