//! The decide stage: from calibrated scores and cues to a label, a confidence, the workshop's
//! "bij twijfel: vragen naar intentie", a reminder to check satisfaction, and an explanation
//! a counter employee can read aloud.
//!
//! One rule of the workshop is applied here on top of the model: *a repeated melding is often
//! a klacht*. When the model's best label is melding, the text itself says it was reported
//! before (a `herhaling` cue, not negated) and klacht has real support, the label becomes
//! klacht and the melding's probability mass moves to klacht: the message is about the same
//! situation, and the writer's point is now that it was not handled.

use crate::domain::{Label, Lang};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::types::{Cue, Family, LabelScores};

/// Thresholds of the decide stage.
#[derive(Debug, Clone, PartialEq)]
pub struct DecideOptions {
    /// Below this confidence a message needs clarification.
    pub min_confidence: f32,
    /// Below this gap between the best two labels a message needs clarification.
    pub min_margin: f32,
    /// Least klacht probability for a text-stated repeat to turn a melding into a klacht.
    pub repeat_min_klacht: f32,
}

impl Default for DecideOptions {
    fn default() -> Self {
        DecideOptions {
            min_confidence: 0.55,
            min_margin: 0.15,
            repeat_min_klacht: 0.10,
        }
    }
}

/// What the decide stage concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The label.
    pub label: Label,
    /// Probability of `label`.
    pub confidence: f32,
    /// Probability per label, in [`Label::ALL`] order, summing to 1.
    pub scores: LabelScores,
    /// Whether the text itself says the issue was reported before.
    pub text_says_repeat: bool,
    /// Why it is a repeat, when it is (in the message's language).
    pub repeat_reason: String,
    /// "Bij twijfel: vragen naar intentie".
    pub needs_clarification: bool,
    /// The question to ask, in the message's language (empty when not needed).
    pub clarifying_question: String,
    /// One or two sentences naming the strongest evidence, in the message's language.
    pub explanation: String,
    /// For a klacht: check and note satisfaction (empty otherwise).
    pub satisfaction_reminder: String,
}

fn ranked(scores: &LabelScores) -> [usize; Label::COUNT] {
    let mut idx: [usize; Label::COUNT] = std::array::from_fn(|i| i);
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Decide on `scores` (calibrated) given the `cues` found in the original text.
pub fn decide(
    scores: LabelScores,
    cues: &[Cue],
    lang: Lang,
    lexicon: &Lexicon,
    opts: &DecideOptions,
) -> Decision {
    let mut scores = scores;
    let repeat_cue = cues
        .iter()
        .find(|c| c.family == Family::Herhaling && !c.negated);
    let order = ranked(&scores);
    let mut label = Label::from_index(order[0]);
    let mut promoted = false;
    if label == Label::Melding
        && repeat_cue.is_some()
        && scores[Label::Klacht.index()] >= opts.repeat_min_klacht
    {
        let k = Label::Klacht.index();
        let m = Label::Melding.index();
        scores[k] += scores[m];
        scores[m] = 0.0;
        label = Label::Klacht;
        promoted = true;
    }
    let order = ranked(&scores);
    let confidence = scores[label.index()];
    let margin = confidence - scores[order[1]];
    // Irony is where models fail most: a sarcasm cue is never silently overruled. When the
    // label is not klacht, the employee asks whether it is meant as a complaint.
    let sarcasm = cues
        .iter()
        .any(|c| c.family == Family::Sarcasme && !c.negated);
    let (needs_clarification, runner_up) = if sarcasm && label != Label::Klacht {
        (true, Label::Klacht)
    } else {
        (
            confidence < opts.min_confidence || margin < opts.min_margin,
            Label::from_index(order[1]),
        )
    };

    let text_says_repeat = repeat_cue.is_some() && matches!(label, Label::Klacht | Label::Melding);
    let repeat_reason = match (text_says_repeat, repeat_cue) {
        (true, Some(c)) => match lang {
            Lang::Nl => format!("De tekst zegt dat het eerder gemeld is (\"{}\").", c.text),
            Lang::En => format!("The text says it was reported before (\"{}\").", c.text),
        },
        _ => String::new(),
    };

    let clarifying_question = if needs_clarification {
        question(label, runner_up, lang)
    } else {
        String::new()
    };
    let satisfaction_reminder = if label == Label::Klacht {
        match lang {
            Lang::Nl => {
                "Check tevredenheid en noteer dit: vraag of de oplossing naar tevredenheid is."
                    .to_string()
            }
            Lang::En => "Check satisfaction and note it: ask whether the solution is satisfactory."
                .to_string(),
        }
    } else {
        String::new()
    };
    let explanation = explain(
        label,
        runner_up,
        needs_clarification,
        promoted,
        cues,
        lang,
        lexicon,
    );
    Decision {
        label,
        confidence,
        scores,
        text_says_repeat,
        repeat_reason,
        needs_clarification,
        clarifying_question,
        explanation,
        satisfaction_reminder,
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

fn explain(
    label: Label,
    runner_up: Label,
    doubtful: bool,
    promoted: bool,
    cues: &[Cue],
    lang: Lang,
    lexicon: &Lexicon,
) -> String {
    // Strongest families that support the label: weight × number of cues, first cue quoted.
    let mut families: Vec<(Family, f32, &str)> = Vec::new();
    for c in cues.iter().filter(|c| c.supports == label && !c.negated) {
        match families.iter_mut().find(|(f, _, _)| *f == c.family) {
            Some(entry) => entry.1 += lexicon.family(c.family).weight,
            None => families.push((c.family, lexicon.family(c.family).weight, c.text.as_str())),
        }
    }
    families.sort_by(|a, b| b.1.total_cmp(&a.1));
    let evidence: Vec<String> = families
        .iter()
        .take(3)
        .map(|(f, _, t)| format!("{} (\"{}\")", lexicon.family(*f).name(lang), t))
        .collect();
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
    let mut first = if promoted {
        match lang {
            Lang::Nl => format!(
                "{head}: een herhaalde melding, en een herhaalde melding is vaak een klacht"
            ),
            Lang::En => {
                format!("{head}: a repeated report, and a repeated report is often a complaint")
            }
        }
    } else {
        head
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
        let sep = if promoted { "; " } else { ": " };
        first.push_str(sep);
        first.push_str(&evidence.join(", "));
        first.push('.');
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(text: &str, family: Family, supports: Label) -> Cue {
        Cue {
            start: 0,
            end: text.chars().count(),
            text: text.into(),
            family,
            supports,
            negated: false,
        }
    }

    fn lex() -> Lexicon {
        Lexicon::builtin().unwrap()
    }

    #[test]
    fn confident_klacht_has_reminder_and_no_question() {
        let d = decide(
            [0.9, 0.05, 0.02, 0.01, 0.02],
            &[cue("teleurgesteld", Family::Ongenoegen, Label::Klacht)],
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(d.label, Label::Klacht);
        assert!(!d.needs_clarification);
        assert!(d.clarifying_question.is_empty());
        assert!(d.satisfaction_reminder.contains("tevredenheid"));
        assert!(d.explanation.contains("teleurgesteld"), "{}", d.explanation);
    }

    #[test]
    fn close_call_asks_about_intention() {
        let d = decide(
            [0.45, 0.40, 0.05, 0.05, 0.05],
            &[],
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert!(d.needs_clarification);
        assert!(d.clarifying_question.contains("klacht"));
        assert!(d.explanation.contains("Twijfel"));
    }

    #[test]
    fn text_stated_repeat_turns_melding_into_klacht() {
        let d = decide(
            [0.3, 0.6, 0.02, 0.02, 0.06],
            &[
                cue("al drie keer", Family::Herhaling, Label::Klacht),
                cue("lantaarnpaal", Family::Object, Label::Melding),
            ],
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(d.label, Label::Klacht);
        assert!(d.text_says_repeat);
        assert!(
            d.explanation.contains("herhaalde melding"),
            "{}",
            d.explanation
        );
        assert!((d.scores.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn explanation_names_a_signal_that_was_outweighed() {
        let d = decide(
            [0.2, 0.05, 0.05, 0.05, 0.65],
            &[cue("te lang", Family::Ongenoegen, Label::Klacht)],
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert!(d.explanation.contains("\"te lang\""), "{}", d.explanation);
        assert!(
            !d.explanation.contains("geen duidelijke"),
            "{}",
            d.explanation
        );
    }

    #[test]
    fn a_sarcasm_cue_is_never_silently_overruled() {
        let d = decide(
            [0.15, 0.02, 0.01, 0.02, 0.80],
            &[cue("tijd zat", Family::Sarcasme, Label::Klacht)],
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(d.label, Label::Overig);
        assert!(d.needs_clarification);
        assert!(
            d.clarifying_question.contains("klacht"),
            "{}",
            d.clarifying_question
        );
    }

    #[test]
    fn english_message_gets_english_texts() {
        let d = decide(
            [0.5, 0.45, 0.0, 0.0, 0.05],
            &[],
            Lang::En,
            &lex(),
            &DecideOptions::default(),
        );
        assert!(
            d.explanation.starts_with("This looks like"),
            "{}",
            d.explanation
        );
        assert!(d.clarifying_question.starts_with("Would you"));
    }
}
