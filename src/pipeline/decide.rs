//! The decide stage: from calibrated scores and cues to a label, a confidence, the workshop's
//! "bij twijfel: vragen naar intentie", a reminder to check satisfaction, a referral when the
//! message is about another body or is a claim for damages, and an explanation a counter
//! employee can read aloud (worded in [`super::explain`]).
//!
//! Referral (DOMAIN.md, "only the municipality's own conduct"): an overig that names a body
//! not acting for the municipality (`instantie` cue) says to refer the writer there, naming the
//! body; an overig with a `schadeclaim` cue says that a claim for damages has its own route.
//! When the model is in doubt between such an overig and a klacht or bezwaar, the question
//! asks whether it is about the municipality at all.
//!
//! One rule of the workshop is applied here on top of the model: *a repeated melding is often
//! a klacht*. When the model's best label is melding, the text itself says it was reported
//! before (a `herhaling` cue, not negated) and klacht has real support, the label becomes
//! klacht and the melding's probability mass moves to klacht: the message is about the same
//! situation, and the writer's point is now that it was not handled.

use crate::domain::{Label, Lang};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::explain::{explain, question, referral_question, Referral};
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
    /// For an overig about another body or a claim for damages: where it belongs.
    pub referral: Option<Referral>,
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

    let body = cues
        .iter()
        .filter(|c| c.family == Family::Instantie && !c.negated)
        .find_map(|c| lexicon.body(&c.text));
    let claim = cues
        .iter()
        .any(|c| c.family == Family::Schadeclaim && !c.negated);
    let referral = match (label, body, claim) {
        (Label::Overig, _, true) => Some(Referral::damage_claim(lang)),
        (Label::Overig, Some(b), false) => Some(Referral::body(b.name(lang), lang)),
        _ => None,
    };
    let about_other = |l: Label| l == Label::Overig && body.is_some();
    let clarifying_question = match body {
        Some(b) if needs_clarification && (about_other(label) || about_other(runner_up)) => {
            referral_question(b.name(lang), lang)
        }
        _ if needs_clarification => question(label, runner_up, lang),
        _ => String::new(),
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
        referral.as_ref(),
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
        referral,
    }
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
    fn an_overig_about_another_body_says_where_to_refer() {
        let d = decide(
            [0.1, 0.05, 0.05, 0.02, 0.78],
            &[
                cue("Belastingdienst", Family::Instantie, Label::Overig),
                cue("boos", Family::Ongenoegen, Label::Klacht),
            ],
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(d.label, Label::Overig);
        let r = d.referral.expect("a referral");
        assert_eq!(r.to.as_deref(), Some("de Belastingdienst"));
        assert_eq!(
            d.explanation,
            "Dit lijkt over de Belastingdienst te gaan, niet over de gemeente: verwijs door."
        );
    }

    #[test]
    fn a_klacht_that_names_another_body_is_no_referral_but_doubt_asks_who() {
        let sure = decide(
            [0.8, 0.05, 0.05, 0.02, 0.08],
            &[cue("UWV", Family::Instantie, Label::Overig)],
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(sure.label, Label::Klacht);
        assert!(sure.referral.is_none());
        let doubt = decide(
            [0.45, 0.05, 0.05, 0.02, 0.43],
            &[cue("UWV", Family::Instantie, Label::Overig)],
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert!(doubt.needs_clarification);
        assert!(
            doubt.clarifying_question.contains("het UWV"),
            "{}",
            doubt.clarifying_question
        );
    }

    #[test]
    fn a_damage_claim_has_its_own_route() {
        let d = decide(
            [0.1, 0.1, 0.05, 0.0, 0.75],
            &[cue("aansprakelijk", Family::Schadeclaim, Label::Overig)],
            Lang::En,
            &lex(),
            &DecideOptions::default(),
        );
        let r = d.referral.expect("a referral");
        assert!(r.to.is_none());
        assert!(
            d.explanation.contains("claim for damages"),
            "{}",
            d.explanation
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
