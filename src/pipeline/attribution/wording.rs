//! The wording the model's evidence is built around: words that never begin or end a phrase
//! of evidence (function words, greetings, months), words of place and time that a phrase never
//! holds, and the kinds of clause a trainer points at ([`Salience`]). Word lists, kept apart from
//! the attribution that uses them so that they can be reviewed like the lexicon.

use crate::domain::Label;
use crate::pipeline::types::Family;

use super::model_family;

/// Words that do not begin or end a phrase of evidence: function words, greetings, names of
/// months and days (a sparse model learns the genre and the season from them too, but no
/// trainer points at them).
pub fn is_filler(word: &str) -> bool {
    const FILLER: &[&str] = &[
        // Dutch
        "de",
        "het",
        "een",
        "en",
        "of",
        "in",
        "op",
        "aan",
        "van",
        "voor",
        "met",
        "bij",
        "naar",
        "om",
        "te",
        "tot",
        "uit",
        "over",
        "door",
        "als",
        "dat",
        "die",
        "dit",
        "deze",
        "wat",
        "wie",
        "er",
        "is",
        "was",
        "zijn",
        "ben",
        "bent",
        "heb",
        "hebt",
        "heeft",
        "hebben",
        "had",
        "ik",
        "je",
        "u",
        "uw",
        "we",
        "wij",
        "ze",
        "zij",
        "hij",
        "mij",
        "me",
        "mijn",
        "ons",
        "onze",
        "hun",
        "haar",
        "zo",
        "ook",
        "al",
        "nog",
        "maar",
        "dan",
        "toen",
        "nu",
        "wel",
        "even",
        "hier",
        "daar",
        "want",
        "omdat",
        "dus",
        "zou",
        "kan",
        "wordt",
        "werd",
        "mevrouw",
        "heer",
        "meneer",
        "geachte",
        "beste",
        "hallo",
        "goedemorgen",
        "goedemiddag",
        "goedenavond",
        "groet",
        "groeten",
        "vriendelijke",
        "hartelijke",
        "maandag",
        "dinsdag",
        "woensdag",
        "donderdag",
        "vrijdag",
        "zaterdag",
        "zondag",
        "medewerker",
        "burger",
        "klant",
        // English
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "of",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "about",
        "as",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "i",
        "my",
        "me",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "being",
        "have",
        "has",
        "had",
        "do",
        "did",
        "so",
        "then",
        "now",
        "there",
        "here",
        "also",
        "just",
        "dear",
        "hello",
        "hi",
        "regards",
        "sincerely",
        "january",
        "february",
        "march",
        "may",
        "june",
        "july",
        "august",
        "october",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    word.chars().all(|c| c.is_ascii_digit())
        || FILLER
            .iter()
            .chain(crate::domain::DUTCH_MONTHS.iter())
            .any(|f| f.eq_ignore_ascii_case(word))
}

/// Words that say where or when, not what went wrong: a name (a capital inside a sentence),
/// a number, a part of the day or a stretch of time. A sparse model learns from them which
/// streets and seasons its corpus talked about; a trainer does not point at them, so a phrase
/// of the model's never holds one.
pub fn is_context(text: &str, start: usize, end: usize) -> bool {
    const WHEN: &[&str] = &[
        "vanochtend",
        "vanmorgen",
        "vanmiddag",
        "vanavond",
        "vannacht",
        "gisteren",
        "gisterochtend",
        "gistermiddag",
        "gisteravond",
        "eergisteren",
        "vandaag",
        "morgen",
        "overmorgen",
        "ochtend",
        "ochtends",
        "middag",
        "middags",
        "avond",
        "avonds",
        "nacht",
        "nachts",
        "weekend",
        "dag",
        "dagen",
        "dagelijks",
        "week",
        "weken",
        "maand",
        "maanden",
        "jaar",
        "jaren",
        "uur",
        "kwartier",
        "minuten",
        "morning",
        "afternoon",
        "evening",
        "night",
        "tonight",
        "yesterday",
        "today",
        "tomorrow",
        "weekend",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "hour",
        "hours",
        "minutes",
    ];
    let word = &text[start..end];
    if word.chars().any(|c| c.is_ascii_digit()) || WHEN.iter().any(|w| w.eq_ignore_ascii_case(word))
    {
        return true;
    }
    // A capital not at the start of a sentence or line: a name of a street, person or place.
    let capital = word.chars().next().is_some_and(char::is_uppercase) && word.chars().count() > 1;
    let before = text[..start].trim_end_matches([' ', '\t', '\'', '"', '(']);
    capital && !before.is_empty() && !before.ends_with(['.', '!', '?', '\n', ':', ';'])
}

/// Wordings a trainer points at that no lexicon family stands for, because they say nothing
/// about the label by themselves: the same request ends a melding, a bezwaar and a raadsadres.
/// A clause with one becomes a cue only when the model confirms that it backs the label chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Salience {
    /// A request: what the writer wants done ("graag …", "ik verzoek u …", "could you …").
    Request,
    /// Nobody, never, nothing: what did not happen.
    Nobody,
    /// A judgement of the writer's own ("ik vind …", "dat kan toch niet").
    Judgement,
    /// A question (the clause ends in a question mark).
    Question,
}

fn salience_res() -> &'static [(Salience, regex::Regex); 3] {
    static RE: std::sync::OnceLock<[(Salience, regex::Regex); 3]> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        let re = |p: &str| {
            regex::RegexBuilder::new(&format!(r"\b(?:{p})\b"))
                .case_insensitive(true)
                .build()
                .expect("salience pattern compiles")
        };
        [
            (
                Salience::Request,
                re(concat!(
                    // Dutch
                    r"graag|verzoek(?:en|t)?|(?:wilt|kunt|zou|zoudt) u|(?:kunnen|willen|zouden|kan|wil) jullie|",
                    r"(?:vraag|vragen) (?:ik |wij |we )?(?:u|jullie|de raad|het college)|",
                    r"(?:ik|wij|we) (?:wil|willen) (?:graag|weten|dat|een)|ik eis|ik verlang|eis ik|",
                    r"wie (?:ruimt|komt|doet|gaat|kan|moet|zorgt)|kan (?:de gemeente|iemand|er iemand)|",
                    r"moet(?:en)? (?:worden|van tafel|weg)|(?:het )?zou fijn zijn|",
                    r"te (?:herzien|heroverwegen|herroepen|vernietigen|verlagen|verhogen|wijzigen|intrekken|",
                    r"aanpassen|schrappen|verbieden|invoeren|steunen|onderzoeken|bekijken|beoordelen|",
                    r"repareren|verwijderen|vervangen|handhaven|terug te draaien|laten (?:\w+ )?(?:uitvoeren|onderzoeken|weghalen|repareren|opruimen))|",
                    // English
                    r"please|(?:could|can|would|will) (?:you|they|someone|somebody|the (?:city|municipality|council|gemeente))|",
                    r"(?:i|we) (?:kindly |hereby |respectfully )?(?:request|ask|urge|call on|demand|want|would like)|",
                    r"(?:i|we)'d like|look into|who (?:will|is going to|can|should)"
                )),
            ),
            (
                Salience::Nobody,
                re(concat!(
                    r"niemand|geen (?:mens|hond|sterveling)|nooit|niets|niks|nergens|helemaal niet|wel degelijk|",
                    r"geen (?:enkele )?(?:reactie|antwoord|bericht|brief|mail|telefoontje|excuses|uitleg|terugkoppeling)|",
                    r"nobody|no[ -]one|never|nothing|not even|no (?:reply|answer|response|word)"
                )),
            ),
            (
                Salience::Judgement,
                re(concat!(
                    r"ik vind|vind ik|(?:dit|dat|het) (?:is|kan|mag) toch|toch (?:niet|helemaal niet)|",
                    r"kan (?:toch )?niet (?:de bedoeling|waar)|gewoon|",
                    r"i find|i think|this is (?:not|really|unacceptable|ridiculous)|how (?:can|is it possible)"
                )),
            ),
        ]
    })
}

/// The kind of wording a trainer points at in `clause`, if any; `question` when it ends in a
/// question mark. The byte offset in `clause` where the wording begins comes with it.
pub fn salience(clause: &str, question: bool) -> Option<(Salience, usize)> {
    for (kind, re) in salience_res() {
        if let Some(m) = re.find(clause) {
            return Some((*kind, m.start()));
        }
    }
    question.then_some((Salience::Question, 0))
}

/// The lexicon family a cue of `kind` backing `label` carries: for a complaint a request is
/// an expectation and what did not happen is handling; otherwise the label's broadest family.
pub fn salient_family(kind: Salience, label: Label) -> Family {
    match (kind, label) {
        (Salience::Request, Label::Klacht) => Family::Verwachting,
        (Salience::Nobody, Label::Klacht) => Family::Proces,
        _ => model_family(label),
    }
}
