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
//! a klacht* ("melding gedaan, niet opgelost"). When the model's best label is melding, klacht
//! has real support, and the text itself says it was reported before (a `herhaling` cue, not
//! negated) or that the municipality does not handle it (a `proces` cue: nothing done, no
//! reaction, promises not kept, told first-hand or by a reporter), the label becomes klacht and
//! the melding's probability mass moves to klacht: the message is about a known situation, and
//! the writer's point is that it was not handled.
//!
//! A second rule is the right of petition (Grondwet art. 5, DOMAIN.md): a text in the public
//! form of a petition — the signers state what they find ("wij constateren dat …",
//! "overwegende dat …") and ask for a decision, it calls on readers to sign, or its writers
//! ask the council as "wij" ("Wij vragen de gemeenteraad …") — addressed to
//! the municipality is a raadsadres, also when it mostly describes a situation in public
//! space or contests a general decision. When the model says melding, klacht or bezwaar, the
//! text has that form, no other body is named and raadsadres has real support, the label
//! becomes raadsadres.
//!
//! A third rule reads the heading: a letter addressed to another body ("Aan: Geldmaat",
//! "Petitie aan de Tweede Kamer", "Open brief aan woningcorporatie …") is not about the
//! municipality's own conduct, so whatever its wording, the municipality can only refer the
//! writer (overig, with the addressee as referral), however sure the model is of another label
//! (a least overig support can be configured). It runs
//! first: a repeated report to a housing association is still theirs. [`LabelRule`] says which
//! rule changed a label.

use crate::domain::{Label, Lang};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::explain::{explain, question, referral_question, Referral};
use crate::pipeline::form::{addressee, petition_form, Addressed};
use crate::pipeline::types::{Cue, Family, LabelScores};

/// Thresholds of the decide stage.
#[derive(Debug, Clone, PartialEq)]
pub struct DecideOptions {
    /// Below this confidence a message needs clarification.
    pub min_confidence: f32,
    /// Below this gap between the best two labels a message needs clarification.
    pub min_margin: f32,
    /// Least klacht probability for a text-stated repeat or unhandled report to turn a melding
    /// into a klacht.
    pub repeat_min_klacht: f32,
    /// Least raadsadres probability for the petition form to turn another label into a
    /// raadsadres.
    pub petition_min_raadsadres: f32,
    /// Least overig probability for a heading addressed to another body to turn another
    /// label into an overig.
    pub addressee_min_overig: f32,
}

impl Default for DecideOptions {
    fn default() -> Self {
        DecideOptions {
            min_confidence: 0.55,
            min_margin: 0.15,
            repeat_min_klacht: 0.10,
            petition_min_raadsadres: 0.05,
            addressee_min_overig: 0.0,
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
    /// The label in second place (the other label of a doubt).
    pub runner_up: Label,
    /// The rule that overruled the model's label, if one did.
    pub rule: LabelRule,
}

/// A rule of the workshop or the law that overruled the model's best label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelRule {
    /// None did: the label is the model's.
    None,
    /// A melding became a klacht: the text says the issue was reported before.
    Repeat,
    /// A melding became a klacht: the text says the municipality does not handle a known
    /// problem.
    Handling,
    /// A melding, klacht or bezwaar became a raadsadres: the text is a petition in the public
    /// form (signers who state what they find and ask for a decision), the right of petition.
    Petition,
    /// Another label became an overig: the letter's heading addresses another body (a
    /// minister, a housing association, a company), so the municipality can only refer.
    Addressee,
}

impl Decision {
    /// Word the explanation again for other `cues` (with the model's evidence added, say).
    pub fn explain_again(&mut self, cues: &[Cue], lang: Lang, lexicon: &Lexicon) {
        self.explanation = explain(
            self.label,
            self.runner_up,
            self.needs_clarification,
            self.rule,
            self.referral.as_ref(),
            cues,
            lang,
            lexicon,
        );
    }
}

/// The workshop's rule *"herhaalde melding is vaak een klacht"* on scores: the probability of
/// melding and overig moves to klacht (the message is about the same unresolved issue). The
/// one place the rule changes scores: for a repeat the text states (here) and for one the
/// memory finds (`crate::recognizer`).
pub fn promote_to_klacht(scores: &mut LabelScores) {
    move_to(scores, Label::Melding, Label::Klacht);
    move_to(scores, Label::Overig, Label::Klacht);
}

/// The probability of `from` moves to `to` (a rule overruled the model: the message is what
/// `to` says, and the model's reasons for `from` are part of it).
fn move_to(scores: &mut LabelScores, from: Label, to: Label) {
    let moved = std::mem::take(&mut scores[from.index()]);
    scores[to.index()] += moved;
}

static_regex!(
    /// Herhaling cues that say how often the *situation* recurs ("elke nacht weer", "every time
    /// it rains"), not that it was reported before: evidence of dissatisfaction, but no claim of
    /// an earlier report.
    situation_only_re,
    r"(?i)^(?:telkens(?: weer)?|steeds weer|(?:elke|iedere) keer(?: weer)?|keer op keer|herhaaldelijk|alweer|wederom|andermaal|(?:en )?nu weer|weer zo|weer (?:niet|niets|niks)|alweer niet|every time|each time|keeps happening|again|again and again|repeatedly|yet again|once again)$"
);

static_regex!(
    /// Herhaling cues that count occurrences ("voor de tweede keer", "al drie keer"): of the
    /// situation or of reports, which the sentence around them tells.
    counting_re,
    r"(?i)^(?:voor de .+ keer|al .+ keer|al \S+x|zoveelste keer|meerdere keren|for the .+ time|already (?:twice|.+ times)|twice|several times|\S+ keer|\S+ melding|\S+ time|\S+ times (?:now|already)|vorig\S* \S+ ook|nog steeds|steeds \S+)$"
);

static_regex!(
    /// A situation the text dates to today or yesterday ("sinds gisteren", "sinds vannacht",
    /// "since this morning"): nobody having come yet is no known problem left unhandled.
    fresh_re,
    r"(?i)\b(?:sinds (?:gisteren|eergisteren|gisteravond|gistermiddag|vanochtend|vanmorgen|vannacht|vanmiddag|vandaag|een uur|een half uur|twee uur|een paar uur)|since (?:yesterday|last night|this morning|this afternoon|today|an hour ago))\b"
);

static_regex!(
    /// Words that make a count about reporting ("gemeld", "gebeld", "reported").
    reporting_re,
    r"(?i)\b(?:gemeld|meld\w*|melding\w*|doorgegeven|door te geven|gebeld|bel\w*|gemaild|mail\w*|geschreven|schrijf|aangegeven|klacht\w*|geklaagd|contact|formulier|app|report\w*|called|phoned|emailed|e-mailed|wrote|complain\w*|contacted)\b"
);

/// Whether a cue says the issue was reported (or asked about) before: a herhaling cue that is
/// not only about the situation recurring ("elke nacht weer"), and, when it counts
/// occurrences, one whose sentence in `text` (the message the cue offsets point into) is
/// about reporting.
pub fn claims_earlier_report(c: &Cue, text: &str) -> bool {
    let cue = c.text.trim();
    if c.family != Family::Herhaling || situation_only_re().is_match(cue) {
        return false;
    }
    if !counting_re().is_match(cue) {
        return true;
    }
    let chars: Vec<char> = text.chars().collect();
    let is_end = |ch: char| matches!(ch, '.' | '!' | '?' | '\n');
    let mut from = c.start.min(chars.len());
    while from > 0 && !is_end(chars[from - 1]) {
        from -= 1;
    }
    let mut to = c.end.min(chars.len());
    while to < chars.len() && !is_end(chars[to]) {
        to += 1;
    }
    let sentence: String = chars[from..to].iter().collect();
    reporting_re().is_match(&sentence)
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
    text: &str,
    lang: Lang,
    lexicon: &Lexicon,
    opts: &DecideOptions,
) -> Decision {
    let mut scores = scores;
    let repeat_cue = cues
        .iter()
        .find(|c| !c.negated && claims_earlier_report(c, text));
    let handling_cue = cues
        .iter()
        .any(|c| c.family == Family::Proces && !c.negated && !c.from_model);
    let order = ranked(&scores);
    let mut label = Label::from_index(order[0]);
    let mut rule = LabelRule::None;
    let heading = addressee(text, lexicon).filter(|a| a.kind == Addressed::Other);
    if heading.is_some()
        && label != Label::Overig
        && scores[Label::Overig.index()] >= opts.addressee_min_overig
    {
        rule = LabelRule::Addressee;
        move_to(&mut scores, label, Label::Overig);
        label = Label::Overig;
    }
    if rule == LabelRule::None
        && label == Label::Melding
        && scores[Label::Klacht.index()] >= opts.repeat_min_klacht
    {
        rule = match (repeat_cue.is_some(), handling_cue) {
            (true, _) => LabelRule::Repeat,
            (false, true) if !fresh_re().is_match(text) => LabelRule::Handling,
            (false, _) => LabelRule::None,
        };
        if rule != LabelRule::None {
            promote_to_klacht(&mut scores);
            label = Label::Klacht;
        }
    }
    let other_body = heading.is_some()
        || cues
            .iter()
            .any(|c| c.family == Family::Instantie && !c.negated);
    if rule == LabelRule::None
        && matches!(label, Label::Melding | Label::Klacht | Label::Bezwaar)
        && !other_body
        && scores[Label::Raadsadres.index()] >= opts.petition_min_raadsadres
        && petition_form(text)
    {
        rule = LabelRule::Petition;
        move_to(&mut scores, label, Label::Raadsadres);
        label = Label::Raadsadres;
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

    // The body a heading addresses (named as the lexicon names it, or as the heading does);
    // without such a heading, any body the text names.
    let body = match &heading {
        Some(h) => Some(
            lexicon
                .body(&h.text)
                .map_or_else(|| h.text.clone(), |b| b.name(lang).to_string()),
        ),
        None => cues
            .iter()
            .filter(|c| c.family == Family::Instantie && !c.negated)
            .find_map(|c| lexicon.body(&c.text))
            .map(|b| b.name(lang).to_string()),
    };
    let claim = cues
        .iter()
        .any(|c| c.family == Family::Schadeclaim && !c.negated);
    let referral = match (label, body.as_deref(), claim) {
        (Label::Overig, _, true) => Some(Referral::damage_claim(lang)),
        (Label::Overig, Some(b), false) if heading.is_some() => Some(Referral::addressee(b, lang)),
        (Label::Overig, Some(b), false) => Some(Referral::body(b, lang)),
        _ => None,
    };
    let about_other = |l: Label| l == Label::Overig && body.is_some();
    let clarifying_question = match body.as_deref() {
        Some(b) if needs_clarification && (about_other(label) || about_other(runner_up)) => {
            referral_question(b, lang)
        }
        _ if needs_clarification => question(label, runner_up, lang),
        _ => String::new(),
    };
    let satisfaction_reminder = if label == Label::Klacht {
        crate::pipeline::explain::satisfaction_reminder(lang).to_string()
    } else {
        String::new()
    };
    let explanation = explain(
        label,
        runner_up,
        needs_clarification,
        rule,
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
        runner_up,
        rule,
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
            from_model: false,
            weight: 0.0,
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
            "",
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
            "",
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
            "al drie keer heb ik de kapotte lantaarnpaal gemeld",
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
        assert_eq!(d.rule, LabelRule::Repeat);
    }

    #[test]
    fn unhandled_known_problem_turns_melding_into_klacht() {
        let text =
            "Het riool loopt elke bui over en volgens de bewoners doet de gemeente er niets aan";
        let handling = cue(
            "doet de gemeente er niets aan",
            Family::Proces,
            Label::Klacht,
        );
        let d = decide(
            [0.2, 0.7, 0.01, 0.04, 0.05],
            &[
                handling.clone(),
                cue("riool", Family::Object, Label::Melding),
            ],
            text,
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(d.label, Label::Klacht);
        assert_eq!(d.rule, LabelRule::Handling);
        assert!(!d.text_says_repeat);
        assert!(
            d.explanation.contains("niet wordt opgepakt"),
            "{}",
            d.explanation
        );
        // Without klacht support, a negated cue, or a cue only the model found: a melding.
        for (scores, c) in [
            ([0.05, 0.85, 0.01, 0.04, 0.05], handling.clone()),
            (
                [0.2, 0.7, 0.01, 0.04, 0.05],
                Cue {
                    negated: true,
                    ..handling.clone()
                },
            ),
            (
                [0.2, 0.7, 0.01, 0.04, 0.05],
                Cue {
                    from_model: true,
                    ..handling.clone()
                },
            ),
        ] {
            let d = decide(
                scores,
                &[c],
                text,
                Lang::Nl,
                &lex(),
                &DecideOptions::default(),
            );
            assert_eq!(d.label, Label::Melding);
            assert_eq!(d.rule, LabelRule::None);
        }
    }

    #[test]
    fn problem_of_yesterday_nobody_came_for_stays_melding() {
        // Nobody having come for a matras dumped yesterday is no known problem left unhandled.
        let nobody = cue("Niemand komt", Family::Proces, Label::Klacht);
        for (text, want) in [
            (
                "Sinds gisteren ligt er een matras bij de glasbak. Niemand komt het weghalen.",
                Label::Melding,
            ),
            (
                "There is a sofa on the pavement since this morning. Niemand komt.",
                Label::Melding,
            ),
            (
                "Sinds de zomer ligt er een matras bij de glasbak. Niemand komt het weghalen.",
                Label::Klacht,
            ),
        ] {
            let d = decide(
                [0.2, 0.7, 0.01, 0.04, 0.05],
                std::slice::from_ref(&nobody),
                text,
                Lang::Nl,
                &lex(),
                &DecideOptions::default(),
            );
            assert_eq!(d.label, want, "{text}");
        }
    }

    #[test]
    fn a_petition_in_the_public_form_is_a_raadsadres() {
        let text = "Geef het hondenveld terug\n\nWij, bewoners van de Ooievaarsbuurt,\nconstateren dat het veld is omgeploegd\nen verzoeken de gemeente het terug te leggen.";
        let d = decide(
            [0.1, 0.7, 0.05, 0.1, 0.05],
            &[cue("veld", Family::Object, Label::Melding)],
            text,
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(d.label, Label::Raadsadres);
        assert_eq!(d.rule, LabelRule::Petition);
        assert!(d.explanation.contains("petitie"), "{}", d.explanation);
        assert!((d.scores.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Not when raadsadres has no support, when another body is named, or for an overig.
        let ns = cue("NS", Family::Instantie, Label::Overig);
        for (scores, cues) in [
            ([0.1, 0.78, 0.05, 0.02, 0.05], vec![]),
            ([0.1, 0.7, 0.05, 0.1, 0.05], vec![ns]),
            ([0.1, 0.05, 0.05, 0.1, 0.7], vec![]),
        ] {
            let d = decide(
                scores,
                &cues,
                text,
                Lang::Nl,
                &lex(),
                &DecideOptions::default(),
            );
            assert_ne!(d.label, Label::Raadsadres);
            assert_eq!(d.rule, LabelRule::None);
        }
    }

    #[test]
    fn a_letter_addressed_to_another_body_is_referred() {
        let text = "Geen 7 procent erbij!\n\nAan het bestuur van woningcorporatie Woonkracht\n\nWij constateren dat de huren stijgen en verzoeken u af te zien van de verhoging.";
        let start = text
            .find("woningcorporatie")
            .map(|b| text[..b].chars().count());
        let named = Cue {
            start: start.unwrap(),
            end: start.unwrap() + "woningcorporatie".len(),
            ..cue("woningcorporatie", Family::Instantie, Label::Overig)
        };
        let d = decide(
            [0.1, 0.05, 0.05, 0.7, 0.1],
            &[named],
            text,
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(d.label, Label::Overig);
        assert_eq!(d.rule, LabelRule::Addressee);
        assert!((d.scores.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let r = d.referral.expect("a referral");
        assert_eq!(r.to.as_deref(), Some("de woningcorporatie of verhuurder"));
        assert!(
            d.explanation.starts_with("Dit bericht is gericht aan"),
            "{}",
            d.explanation
        );
        // A heading naming no known body is referred by what it names.
        let d = decide(
            [0.5, 0.1, 0.05, 0.05, 0.3],
            &[],
            "Aan: Geldmaat\n\nBreng de automaat terug!",
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(d.label, Label::Overig);
        assert_eq!(d.referral.and_then(|r| r.to).as_deref(), Some("Geldmaat"));
        // By default also when the model is sure of another label: the heading says whom it
        // is for. Not when the heading addresses the municipality, nor below a configured
        // least overig support.
        let sure = [0.1, 0.09, 0.05, 0.75, 0.01];
        let geldmaat = "Aan: Geldmaat\n\nBreng de automaat terug!";
        let d = decide(
            sure,
            &[],
            geldmaat,
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(d.label, Label::Overig);
        let wary = DecideOptions {
            addressee_min_overig: 0.05,
            ..DecideOptions::default()
        };
        for (scores, text, opts) in [
            (
                [0.1, 0.05, 0.05, 0.7, 0.1],
                "Aan de gemeenteraad\n\nWij vragen een zebrapad.",
                DecideOptions::default(),
            ),
            (sure, geldmaat, wary),
        ] {
            let d = decide(scores, &[], text, Lang::Nl, &lex(), &opts);
            assert_eq!(d.label, Label::Raadsadres, "{text}");
            assert_eq!(d.rule, LabelRule::None);
        }
    }

    #[test]
    fn explanation_names_a_signal_that_was_outweighed() {
        let d = decide(
            [0.2, 0.05, 0.05, 0.05, 0.65],
            &[cue("te lang", Family::Ongenoegen, Label::Klacht)],
            "",
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
            "",
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
            "",
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
            "",
            Lang::Nl,
            &lex(),
            &DecideOptions::default(),
        );
        assert_eq!(sure.label, Label::Klacht);
        assert!(sure.referral.is_none());
        let doubt = decide(
            [0.45, 0.05, 0.05, 0.02, 0.43],
            &[cue("UWV", Family::Instantie, Label::Overig)],
            "",
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
            "",
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
            "",
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

    #[test]
    fn a_recurring_situation_is_no_claim_of_an_earlier_report() {
        for t in [
            "elke keer weer",
            "telkens",
            "every time",
            "again",
            "steeds weer",
        ] {
            assert!(
                !claims_earlier_report(&cue(t, Family::Herhaling, Label::Klacht), t),
                "{t}"
            );
        }
        for t in ["al drie keer gemeld", "nog steeds niet", "already reported"] {
            assert!(
                claims_earlier_report(&cue(t, Family::Herhaling, Label::Klacht), t),
                "{t}"
            );
        }
        // A count is a claim only in a sentence about reporting.
        let text = "Voor de tweede keer is de container niet geleegd. Ik heb het voor de derde keer gemeld.";
        let at = |needle: &str, from: usize| {
            let start = text[from..].find(needle).unwrap() + from;
            let start = text[..start].chars().count();
            Cue {
                start,
                end: start + needle.chars().count(),
                ..cue(needle, Family::Herhaling, Label::Klacht)
            }
        };
        assert!(!claims_earlier_report(&at("Voor de tweede keer", 0), text));
        assert!(claims_earlier_report(&at("voor de derde keer", 0), text));
    }
}
