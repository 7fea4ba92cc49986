//! The form of a letter: what its layout says about where it belongs, apart from its wording.
//!
//! - [`petition_form`]: the public form of a petition (signers state what they find and ask
//!   for a decision, or it calls on readers to sign).
//! - [`addressee`]: the addressee in a letter's heading ("Aan: Geldmaat", "Petitie aan de
//!   Tweede Kamer", "Open brief aan Woonstichting …") and whether it is the municipality,
//!   another body, or cannot be told.
//!
//! Both look at layout and a few fixed words only, so they carry over to genres the model
//! was not trained on; the decide stage combines them with the model's scores.

use regex::Regex;
use std::sync::OnceLock;

use crate::pipeline::cues::Lexicon;

/// What follows "raad van" when the raad is a board, not the council ("de raad van bestuur").
macro_rules! boards {
    () => {
        "bestuur|toezicht|state|commissarissen"
    };
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("form pattern compiles"))
}

/// Whether `text` has the public form of a petition: the signers state what they find and
/// ask for something ("Wij … constateren dat … en verzoeken …", "overwegende dat …", a
/// petition site's English labels around Dutch content), it calls on readers to sign, or
/// writers speaking as "wij" ask the council itself ("Wij vragen de gemeenteraad …", "we call
/// on the council"; not a board, "de raad van bestuur"). Word boundaries are ASCII ones:
/// Unicode `\b` makes regex's lazy DFA give up on any text with a non-ASCII byte and run its
/// slowest engine over the whole message (see `cues::lexicon`), and the words here are ASCII.
pub fn petition_form(text: &str) -> bool {
    static FINDS: OnceLock<Regex> = OnceLock::new();
    static ASKS: OnceLock<Regex> = OnceLock::new();
    static SIGN: OnceLock<Regex> = OnceLock::new();
    static COUNCIL: OnceLock<Regex> = OnceLock::new();
    static BOARD: OnceLock<Regex> = OnceLock::new();
    let council = re(
        &COUNCIL,
        r"(?i)(?-u:\b)(?:wij|we)\s+(?:\w+\s+){0,2}?(?:vragen|verzoeken|roepen|eisen)\s+(?:\w+\s+){0,2}?(?:de\s+)?(?:gemeenteraad|raad|raadsleden|gemeenteraadsleden)(?-u:\b)|(?-u:\b)(?:we|wij)\s+(?:ask|call on|urge)\s+(?:the\s+)?(?:municipal\s+|city\s+|town\s+)?council(?-u:\b)",
    );
    let board = re(
        &BOARD,
        concat!(r"(?i)^\s+van\s+(?:", boards!(), r")(?-u:\b)"),
    );
    let asks_council = || {
        council
            .find_iter(text)
            .any(|m| !board.is_match(&text[m.end()..]))
    };
    let finds = re(
        &FINDS,
        r"(?i)(?-u:\b)(?:constateren|constateert|stellen vast|overwegende|observe|establish)\s+(?:dat|that)(?-u:\b)",
    );
    let asks = re(
        &ASKS,
        r"(?i)(?-u:\b)(?:verzoeken|verzoekt|vragen|vraagt|eisen|roepen|request|ask)(?-u:\b)",
    );
    let sign = re(
        &SIGN,
        r"(?i)(?-u:\b)(?:teken|onderteken|steun)\w*\s+(?:deze|de|onze|ook)\s+petitie(?-u:\b)|(?-u:\b)sign (?:this|the|our) petition(?-u:\b)",
    );
    (finds.is_match(text) && asks.is_match(text)) || sign.is_match(text) || asks_council()
}

/// Whom a letter's heading addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addressed {
    /// The municipality: its council, college, mayor, an alderman, the griffie, a department
    /// or desk, the complaints officer.
    Municipality,
    /// Another body: a minister or parliament, a province or water board, a housing
    /// association, a company, a board or management of an organisation.
    Other,
    /// A person or a team whose employer the heading does not say.
    Unknown,
}

/// The addressee in a letter's heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressee {
    /// What the heading names, trimmed ("de directie van woningstichting Thuisbasis").
    pub text: String,
    /// Where `text` starts in the original text, in chars.
    pub start: usize,
    /// Where `text` ends, in chars (exclusive).
    pub end: usize,
    /// Whom it addresses.
    pub kind: Addressed,
}

/// How many non-empty lines from the top count as the heading.
const HEADING_LINES: usize = 4;
/// Longest addressee line, in words: a longer line is a sentence, not a heading.
const MAX_WORDS: usize = 14;

/// The addressee in the first lines of `text`, when its heading names one: a line that
/// starts "Aan:", "Aan de …", "To:", "T.a.v.", "Voor:", or names the letter's kind and its
/// addressee ("Petitie aan …", "Open brief aan …", "Open letter to …"). E-mail headers with
/// an address ("Aan: info@…") and sentences ("Aan de overkant ligt …") are no heading.
/// Another body is one of the lexicon's (instanties.toml) or an organisation by its kind.
pub fn addressee(text: &str, lexicon: &Lexicon) -> Option<Addressee> {
    static START: OnceLock<Regex> = OnceLock::new();
    static KIND: OnceLock<Regex> = OnceLock::new();
    // "Aan de …" and "To the …" without a colon only as a line of its own (no full stop).
    let start = re(
        &START,
        r"(?i)^(?:(?:aan|to|voor|t\.?a\.?v\.?|ter attentie van|attn\.?|gericht aan)\s*:\s*|(?:aan|to|t\.a\.v\.|ter attentie van|gericht aan)\s+)(\S.*)$",
    );
    let kind = re(
        &KIND,
        r"(?i)\b(?:petitie|open brief|brief|oproep|verzoek|petition|open letter|letter)\s+(?:aan|to)\s*:?\s+(\S.*)$",
    );
    let mut offset = 0usize;
    let mut seen = 0usize;
    for line in text.split('\n') {
        let line_chars = line.chars().count();
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            seen += 1;
            let lead = line.len() - line.trim_start().len();
            let found = start
                .captures(trimmed)
                .filter(|c| {
                    let head = &trimmed[..c.get(1).map_or(0, |m| m.start())];
                    head.contains(':') || !trimmed.ends_with('.')
                })
                .or_else(|| kind.captures(trimmed))
                .and_then(|c| c.get(1));
            if let Some(m) = found {
                // A title after the addressee ("Petitie aan de Tweede Kamer: minder btw") is
                // not part of it.
                let phrase = m.as_str().split([':', '–', '—']).next().unwrap_or_default();
                let phrase = phrase.trim_end_matches([' ', ',', '.', ';', '!']);
                let words = phrase.split_whitespace().count();
                if phrase.contains('@') || words == 0 || words > MAX_WORDS {
                    return None;
                }
                let begin = offset + line[..lead + m.start()].chars().count();
                return Some(Addressee {
                    text: phrase.to_string(),
                    start: begin,
                    end: begin + phrase.chars().count(),
                    kind: addressed(phrase, lexicon),
                });
            }
            if seen == HEADING_LINES {
                return None;
            }
        }
        offset += line_chars + 1;
    }
    None
}

/// Whom `phrase`, an addressee, names: the municipality by its organs and desks; another
/// body when the lexicon knows it ([`Lexicon::body`]) or the phrase names an organisation by
/// its kind (a board, a foundation, a company, an editor), also inside a compound
/// ("ziekenhuisbestuur", "politiechef", where the lexicon's whole words do not reach).
fn addressed(phrase: &str, lexicon: &Lexicon) -> Addressed {
    static MUNICIPAL: OnceLock<Regex> = OnceLock::new();
    static ORGANISATION: OnceLock<Regex> = OnceLock::new();
    let municipal = re(
        &MUNICIPAL,
        concat!(
            r"(?i)gemeente|gemeentelijk|\braad\b(?:\s+van\s+(?:",
            boards!(),
            r"))?|raadsle|fractie|\bcollege\b|burgemeester|wethouder|griffie|stadsdeel|\bB\s*(?:&|en)\s*W\b|\bcouncil|\bmayor|municipal|\balderm|stadswinkel|stadhuis|\bafdeling|\bloket|\bbalie|ombudsman|klacht|wijkteam|handhaving|stadsbeheer|sociale dienst|werkplein|town hall|city hall"
        ),
    );
    let organisation = re(
        &ORGANISATION,
        r"(?i)\bdirectie|bestuur|politie|ziekenhuis|\beerste kamer|kamerleden|provinci|corporatie|\bstichting|\borganisatie|supermarkt|\bB\.?V\.?(?:\s|$)|\bGGZ\b|geldmaat|vervoerder|\bregering|\bgovernment|house of representatives|\bcompany|\bboard of|\bmanagement|\bvereniging|\bclub\b|\bredactie|\beditor",
    );
    // "de raad van bestuur" is a board, not the council.
    let only_boards = municipal
        .find_iter(phrase)
        .all(|m| m.as_str().to_lowercase().starts_with("raad van "));
    if !only_boards {
        Addressed::Municipality
    } else if lexicon.body(phrase).is_some() || organisation.is_match(phrase) {
        Addressed::Other
    } else {
        Addressed::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_petition_in_the_public_form() {
        let text = "Geef het hondenveld terug\n\nWij, bewoners van de Ooievaarsbuurt,\nconstateren dat het veld is omgeploegd\nen verzoeken de gemeente het terug te leggen.";
        assert!(petition_form(text));
        assert!(petition_form("Teken deze petitie voor een zebrapad!"));
        assert!(!petition_form("Ik constateer dat de lamp stuk is."));
        assert!(!petition_form("Wij verzoeken u het besluit te herzien."));
        assert!(petition_form(
            "Boete bij de eerste keer?\n\nWij vragen de gemeenteraad eerst te waarschuwen."
        ));
        assert!(petition_form(
            "We call on the council to keep the library open."
        ));
        assert!(!petition_form(
            "Wij vragen de raad van bestuur de afdeling open te houden."
        ));
        assert!(!petition_form("Ik vraag de gemeenteraad om hulp."));
    }

    fn kind(text: &str) -> Option<Addressed> {
        addressee(text, &Lexicon::builtin().unwrap()).map(|a| a.kind)
    }

    #[test]
    fn the_heading_names_whom_a_letter_addresses() {
        let text = "Pinautomaat terug!\n\nAan: Geldmaat\n\nSinds maart is de automaat weg.";
        let a = addressee(text, &Lexicon::builtin().unwrap()).expect("an addressee");
        assert_eq!(a.text, "Geldmaat");
        assert_eq!(a.kind, Addressed::Other);
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(chars[a.start..a.end].iter().collect::<String>(), "Geldmaat");
        for (t, k) in [
            (
                "Petitie aan de Tweede Kamer: minder btw\n\nWij vragen …",
                Addressed::Other,
            ),
            (
                "Open brief aan Woonstichting Oosterwaarde\n\nGeachte directie,",
                Addressed::Other,
            ),
            (
                "Aan de raad van bestuur van het ziekenhuis\n\nWij …",
                Addressed::Other,
            ),
            (
                "Aan de gemeenteraad van Dalmeer\n\nWij constateren …",
                Addressed::Municipality,
            ),
            (
                "Aan: college van B&W\nOnderwerp: stoep",
                Addressed::Municipality,
            ),
            ("To: the City Council\n\nWe ask …", Addressed::Municipality),
            (
                "Aan de afdeling Vergunningen\n\nIk …",
                Addressed::Municipality,
            ),
            (
                "T.a.v. mevrouw Jansen\n\nGeachte mevrouw,",
                Addressed::Unknown,
            ),
        ] {
            assert_eq!(kind(t), Some(k), "{t}");
        }
        // No heading: a sentence, an e-mail address, a line below the heading.
        for t in [
            "Aan de rand van het park ligt al weken afval.",
            "Voor mijn huis staat een oude bank op de stoep.",
            "Aan: info@example.org\n\nDe lamp is stuk.",
            "Hallo,\n\nDe lamp is stuk.\nNiemand komt.\nAl weken.\nAan: Geldmaat",
        ] {
            assert_eq!(kind(t), None, "{t}");
        }
    }
}
