//! Types that pass between the pipeline's stages: cue families, cues, scores.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::{Label, UnknownName};

/// A family of cues: cues that mean the same thing for recognition (see `data/lexicon/families.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Dissatisfaction ("teleurgesteld", "niet serieus genomen").
    Ongenoegen,
    /// Reported before ("al drie keer gemeld", "nog steeds niet").
    Herhaling,
    /// What the complainant expects (excuses, herstel, schadevergoeding).
    Verwachting,
    /// Treatment by staff ("onbeleefd", "verkeerd doorverbonden").
    Bejegening,
    /// Handling: no reaction, not called back, too slow, promise not kept.
    Proces,
    /// Sarcasm ("tijd zat", "fijn hoor").
    Sarcasme,
    /// The word "klacht" itself: weak evidence, it does not decide.
    Klachtwoord,
    /// Decision and bezwaar vocabulary (besluit, kenmerk, aanslag).
    Besluit,
    /// Council and policy (gemeenteraad, verordening, griffie).
    Raad,
    /// Objects in public space (lantaarnpaal, stoeptegel, container).
    Object,
    /// An undesirable situation (kapot, gedumpt, overlast).
    Situatie,
    /// Information questions and products (hoe kan ik, paspoort).
    Vraag,
    /// Thanks and compliments.
    Dank,
    /// Negation ("geen klacht", "not a complaint").
    Ontkenning,
    /// A body that does not act for the municipality (Belastingdienst, CAK, UWV, NS, a
    /// woningcorporatie): the municipality can only refer the writer (`data/lexicon/instanties.toml`).
    Instantie,
    /// A claim for damages (aansprakelijkstelling): it has its own legal route.
    Schadeclaim,
}

impl Family {
    /// All families, in feature order.
    pub const ALL: [Family; 16] = [
        Family::Ongenoegen,
        Family::Herhaling,
        Family::Verwachting,
        Family::Bejegening,
        Family::Proces,
        Family::Sarcasme,
        Family::Klachtwoord,
        Family::Besluit,
        Family::Raad,
        Family::Object,
        Family::Situatie,
        Family::Vraag,
        Family::Dank,
        Family::Ontkenning,
        Family::Instantie,
        Family::Schadeclaim,
    ];

    /// Position in [`Family::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in the lexicon, config and the `Cue.family` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ongenoegen => "ongenoegen",
            Family::Herhaling => "herhaling",
            Family::Verwachting => "verwachting",
            Family::Bejegening => "bejegening",
            Family::Proces => "proces",
            Family::Sarcasme => "sarcasme",
            Family::Klachtwoord => "klachtwoord",
            Family::Besluit => "besluit",
            Family::Raad => "raad",
            Family::Object => "object",
            Family::Situatie => "situatie",
            Family::Vraag => "vraag",
            Family::Dank => "dank",
            Family::Ontkenning => "ontkenning",
            Family::Instantie => "instantie",
            Family::Schadeclaim => "schadeclaim",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Family {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Family::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == s.trim())
            .ok_or_else(|| UnknownName {
                kind: "cue family",
                value: s.to_string(),
                expected: "ongenoegen, herhaling, verwachting, bejegening, proces, sarcasme, klachtwoord, besluit, raad, object, situatie, vraag, dank, ontkenning, instantie, schadeclaim",
            })
    }
}

/// One piece of evidence found in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    /// Start, in Unicode scalar values into the ORIGINAL message text.
    pub start: usize,
    /// End (exclusive), in Unicode scalar values into the original message text.
    pub end: usize,
    /// Exactly the original text between `start` and `end`.
    pub text: String,
    /// The family the phrase belongs to.
    pub family: Family,
    /// The label the family supports.
    pub supports: Label,
    /// Inside a negation ("geen klacht"): shown, but not counted as support.
    pub negated: bool,
    /// Found by the model (`crate::pipeline::attribution`), not by a lexicon phrase: its
    /// family is the nearest lexicon family of the label it supports.
    #[serde(default)]
    pub from_model: bool,
    /// Its share of the log-odds of the chosen label on the sparse model, for a cue
    /// that backs that label (0 for other cues, or when there is no sparse model): what the
    /// explanation ranks the evidence by.
    #[serde(default)]
    pub weight: f32,
}

/// A probability (or score) per label, in [`Label::ALL`] order.
pub type LabelScores = [f32; Label::COUNT];
