//! Wording of the decide stage: the label as a phrase, the question to ask when in doubt, the
//! explanation a counter employee reads aloud, and referrals — in the message's language.
//! Kept apart from the decision itself (`decide.rs`) so that what is said can change without
//! touching when it is said.

use crate::domain::{Label, Lang};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::decide::LabelRule;
use crate::pipeline::types::{Cue, Family};

/// Where an overig belongs instead: another body, or the route for claims for damages.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Referral {
    /// The body to refer to, named for the message's language; `None` for a damage claim.
    pub to: Option<String>,
    /// The hint for staff, one sentence in the message's language.
    pub hint: String,
}

impl Referral {
    /// A referral to the body named `name`.
    pub fn body(name: &str, lang: Lang) -> Referral {
        Referral {
            to: Some(name.to_string()),
            hint: match lang {
                Lang::Nl => {
                    format!("Dit lijkt over {name} te gaan, niet over de gemeente: verwijs door.")
                }
                Lang::En => format!(
                    "This seems to be about {name}, not the municipality: refer the writer there."
                ),
            },
        }
    }

    /// A letter whose heading addresses `name`, another body.
    pub fn addressee(name: &str, lang: Lang) -> Referral {
        Referral {
            to: Some(name.to_string()),
            hint: match lang {
                Lang::Nl => format!(
                    "Dit bericht is gericht aan {name}, niet aan de gemeente: verwijs door."
                ),
                Lang::En => format!(
                    "This message is addressed to {name}, not the municipality: refer the writer there."
                ),
            },
        }
    }

    /// A claim for damages.
    pub fn damage_claim(lang: Lang) -> Referral {
        Referral {
            to: None,
            hint: match lang {
                Lang::Nl => "Dit lijkt een aansprakelijkstelling (schadeclaim): die heeft een eigen route, stuur door naar de schadeafhandeling.".to_string(),
                Lang::En => "This looks like a claim for damages: it has its own route, pass it on to the claims desk.".to_string(),
            },
        }
    }
}

/// The question when in doubt whether a message is about the municipality or about `body`.
pub fn referral_question(body: &str, lang: Lang) -> String {
    match lang {
        Lang::Nl => format!(
            "Gaat het om iets wat de gemeente heeft gedaan, of om {body}? Over {body} kunnen wij u alleen doorverwijzen."
        ),
        Lang::En => format!(
            "Is this about something the municipality did, or about {body}? About {body} we can only refer you."
        ),
    }
}

/// The reminder for a klacht: check and note satisfaction (the workshop's last step).
pub fn satisfaction_reminder(lang: Lang) -> &'static str {
    match lang {
        Lang::Nl => "Check tevredenheid en noteer dit: vraag of de oplossing naar tevredenheid is.",
        Lang::En => "Check satisfaction and note it: ask whether the solution is satisfactory.",
    }
}

/// The label as a noun phrase in `lang`.
pub fn label_phrase(label: Label, lang: Lang) -> &'static str {
    match (label, lang) {
        (Label::Klacht, Lang::Nl) => "een klacht",
        (Label::Melding, Lang::Nl) => "een melding",
        (Label::Bezwaar, Lang::Nl) => "een bezwaar tegen een besluit",
        (Label::Raadsadres, Lang::Nl) => "een raadsadres (een verzoek aan de gemeenteraad)",
        (Label::Overig, Lang::Nl) => "geen klacht, melding, bezwaar of raadsadres",
        (Label::Klacht, Lang::En) => "a complaint",
        (Label::Melding, Lang::En) => "a report of a problem",
        (Label::Bezwaar, Lang::En) => "an objection to a decision",
        (Label::Raadsadres, Lang::En) => "a petition to the municipal council",
        (Label::Overig, Lang::En) => "not a complaint, report, objection or petition",
    }
}

/// The question a counter employee can ask when in doubt between `a` and `b`.
pub fn question(a: Label, b: Label, lang: Lang) -> String {
    use Label::*;
    let pair = if a.index() <= b.index() {
        (a, b)
    } else {
        (b, a)
    };
    let s = match (pair, lang) {
        ((Klacht, Melding), Lang::Nl) => "Wilt u dat wij dit als klacht over onze aanpak behandelen, of wilt u vooral dat het probleem wordt opgelost?",
        ((Klacht, Bezwaar), Lang::Nl) => "Bent u het oneens met het besluit zelf (dan kunt u bezwaar maken), of bent u ontevreden over hoe wij met u zijn omgegaan (een klacht)?",
        ((Klacht, Raadsadres), Lang::Nl) => "Wilt u dat de gemeenteraad de regel of het beleid verandert, of bent u ontevreden over hoe de gemeente met u is omgegaan?",
        ((Klacht, Overig), Lang::Nl) => "Wilt u dat wij dit als klacht behandelen, of heeft u vooral een vraag?",
        ((Melding, Bezwaar), Lang::Nl) => "Wilt u een probleem melden, of bent u het oneens met een besluit van de gemeente?",
        ((Melding, Overig), Lang::Nl) => "Wilt u dat wij iets aan deze situatie doen, of heeft u een vraag?",
        ((Bezwaar, Raadsadres), Lang::Nl) => "Wilt u dat een besluit over uw eigen situatie wordt herzien (bezwaar), of wilt u dat de gemeenteraad het beleid verandert?",
        ((Bezwaar, Overig), Lang::Nl) => "Wilt u bezwaar maken tegen dit besluit, of heeft u er een vraag over?",
        ((Melding, Raadsadres), Lang::Nl) => "Wilt u een probleem op straat melden, of wilt u de gemeenteraad vragen het beleid te veranderen?",
        ((Raadsadres, Overig), Lang::Nl) => "Is dit bericht bedoeld voor de gemeenteraad, of heeft u een vraag aan de gemeente?",
        ((Klacht, Melding), Lang::En) => "Would you like us to handle this as a complaint about how we dealt with it, or mainly to get the problem fixed?",
        ((Klacht, Bezwaar), Lang::En) => "Do you disagree with the decision itself (then you can file an objection), or are you unhappy with how we treated you (a complaint)?",
        ((Klacht, Raadsadres), Lang::En) => "Would you like the council to change the rule or policy, or are you unhappy with how the municipality treated you?",
        ((Klacht, Overig), Lang::En) => "Would you like us to handle this as a complaint, or do you mainly have a question?",
        ((Melding, Bezwaar), Lang::En) => "Would you like to report a problem, or do you disagree with a decision of the municipality?",
        ((Melding, Overig), Lang::En) => "Would you like us to do something about this situation, or do you have a question?",
        ((Bezwaar, Raadsadres), Lang::En) => "Would you like a decision about your own situation reviewed (an objection), or the council to change its policy?",
        ((Bezwaar, Overig), Lang::En) => "Would you like to object to this decision, or do you have a question about it?",
        ((Melding, Raadsadres), Lang::En) => "Would you like to report a problem in the street, or ask the council to change its policy?",
        ((Raadsadres, Overig), Lang::En) => "Is this message meant for the municipal council, or do you have a question for the municipality?",
        (_, Lang::Nl) => "Wat wilt u dat wij met uw bericht doen?",
        (_, Lang::En) => "What would you like us to do with your message?",
    };
    s.to_string()
}

/// How a cue the model found is named in a sentence read aloud.
fn model_phrase(text: &str, lang: Lang) -> String {
    match lang {
        Lang::Nl => format!("volgens het model (\"{text}\")"),
        Lang::En => format!("according to the model (\"{text}\")"),
    }
}

/// Up to three pieces of evidence for `label`, strongest first: lexicon cues grouped by
/// family (the family named, its strongest cue quoted) and cues the model found, each on its
/// own. Ranked by the cues' weight (their share of the model's log-odds of the label)
/// when the pipeline computed it, whichever source found them; else by the families' prior
/// weight times their number of cues.
fn strongest_evidence(label: Label, cues: &[Cue], lang: Lang, lexicon: &Lexicon) -> Vec<String> {
    let backing: Vec<&Cue> = cues
        .iter()
        .filter(|c| c.supports == label && !c.negated)
        .collect();
    let weighted = backing.iter().any(|c| c.weight != 0.0);
    // (rank, family or None for a model cue, the cue quoted)
    let mut items: Vec<(f32, Option<Family>, &Cue)> = Vec::new();
    for c in &backing {
        if c.from_model {
            items.push((c.weight, None, c));
            continue;
        }
        let w = if weighted {
            c.weight
        } else {
            lexicon.family(c.family).weight
        };
        match items.iter_mut().find(|(_, f, _)| *f == Some(c.family)) {
            Some(entry) => {
                entry.0 += w;
                if weighted && c.weight > entry.2.weight {
                    entry.2 = c;
                }
            }
            None => items.push((w, Some(c.family), c)),
        }
    }
    items.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Evidence the model weighs against the label is not quoted for it, unless there is no
    // other.
    if weighted && items.iter().any(|i| i.0 > 0.0) {
        items.retain(|i| i.0 > 0.0);
    }
    items
        .iter()
        .take(3)
        .map(|(_, f, c)| match f {
            Some(f) => format!("{} (\"{}\")", lexicon.family(*f).name(lang), c.text),
            None => model_phrase(&c.text, lang),
        })
        .collect()
}

/// The explanation: the label with its strongest evidence (or the referral), and the doubt.
#[allow(clippy::too_many_arguments)]
pub fn explain(
    label: Label,
    runner_up: Label,
    doubtful: bool,
    rule: LabelRule,
    referral: Option<&Referral>,
    cues: &[Cue],
    lang: Lang,
    lexicon: &Lexicon,
) -> String {
    let evidence = strongest_evidence(label, cues, lang, lexicon);
    let head = match lang {
        Lang::Nl => format!("Dit lijkt {}", label_phrase(label, lang)),
        Lang::En => {
            let mut s = format!("This looks like {}", label_phrase(label, lang));
            if let Some(c) = s.get_mut(..1) {
                c.make_ascii_uppercase();
            }
            s
        }
    };
    let mut first = match (rule, lang) {
        (LabelRule::None, _) => head,
        (LabelRule::Repeat, Lang::Nl) => {
            format!("{head}: een herhaalde melding, en een herhaalde melding is vaak een klacht")
        }
        (LabelRule::Repeat, Lang::En) => {
            format!("{head}: a repeated report, and a repeated report is often a complaint")
        }
        (LabelRule::Handling, Lang::Nl) => format!(
            "{head}: een bekend probleem dat volgens de tekst niet wordt opgepakt, en dat is ongenoegen over de afhandeling"
        ),
        (LabelRule::Handling, Lang::En) => format!(
            "{head}: a known problem the text says is not being dealt with, which is dissatisfaction with the handling"
        ),
        (LabelRule::Petition, Lang::Nl) => format!(
            "{head}: een petitie of gezamenlijk verzoek (de schrijvers stellen iets vast en vragen de raad om een besluit), en een petitie aan de gemeente is een raadsadres"
        ),
        (LabelRule::Petition, Lang::En) => format!(
            "{head}: a petition or joint request (the writers state their case and ask the council for a decision), and a petition to the municipality goes to the council"
        ),
        (LabelRule::Addressee, Lang::Nl) => format!(
            "{head}: het bericht is gericht aan een andere instantie, en de gemeente kan dan alleen doorverwijzen"
        ),
        (LabelRule::Addressee, Lang::En) => format!(
            "{head}: the message is addressed to another body, so the municipality can only refer the writer"
        ),
    };
    let elsewhere = cues
        .iter()
        .find(|c| c.supports != label && !c.negated && c.family != Family::Ontkenning);
    if let (true, Some(c)) = (evidence.is_empty(), elsewhere) {
        first.push_str(&match lang {
            Lang::Nl => format!(
                "; er staat een signaal voor {} in (\"{}\"), maar de formulering als geheel weegt zwaarder.",
                c.supports, c.text
            ),
            Lang::En => format!(
                "; there is a signal for {} (\"{}\"), but the wording as a whole weighs more.",
                c.supports, c.text
            ),
        });
    } else if evidence.is_empty() {
        first.push_str(match lang {
            Lang::Nl => "; er staan geen duidelijke signaalwoorden in, de formulering lijkt op eerdere berichten van dit soort.",
            Lang::En => "; there are no clear signal words, the wording resembles earlier messages of this kind.",
        });
    } else {
        let sep = if rule == LabelRule::None { ": " } else { "; " };
        first.push_str(sep);
        first.push_str(&evidence.join(", "));
        first.push('.');
    }
    if let Some(r) = referral {
        first = r.hint.clone();
    }
    let negation = cues.iter().any(|c| c.family == Family::Ontkenning);
    let second = if doubtful {
        match lang {
            Lang::Nl => format!(
                " Twijfel tussen {} en {}: vraag naar de bedoeling.",
                label.as_str(),
                runner_up.as_str()
            ),
            Lang::En => format!(
                " In doubt between {} and {}: ask what the writer intends.",
                label.as_str(),
                runner_up.as_str()
            ),
        }
    } else if negation && label == Label::Klacht {
        match lang {
            Lang::Nl => " De schrijver zegt geen klacht te willen indienen, maar de rest van het bericht wijst wel op ongenoegen over de aanpak.".to_string(),
            Lang::En => " The writer says it is not a complaint, but the rest of the message shows dissatisfaction with how it was handled.".to_string(),
        }
    } else {
        String::new()
    };
    first + &second
}
