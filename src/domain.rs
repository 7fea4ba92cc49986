//! Domain types shared by every room: labels, channels, messages.
//!
//! These are plain Rust types, independent of the generated protobuf code, so that the
//! pipeline can be used and tested without tonic or tokio.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The five labels of the domain (see `../shared/DOMAIN.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Dissatisfaction with how the municipality behaved or handled something.
    Klacht,
    /// A report of an undesirable situation, mostly in public space.
    Melding,
    /// An objection to a decision with legal effect.
    Bezwaar,
    /// A petition to the municipal council.
    Raadsadres,
    /// Everything else.
    Overig,
}

impl Label {
    /// All labels, in the fixed order used by models and score vectors.
    pub const ALL: [Label; 5] = [
        Label::Klacht,
        Label::Melding,
        Label::Bezwaar,
        Label::Raadsadres,
        Label::Overig,
    ];

    /// Number of labels.
    pub const COUNT: usize = 5;

    /// Position in [`Label::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The label at position `i` of [`Label::ALL`].
    pub fn from_index(i: usize) -> Label {
        Label::ALL[i]
    }

    /// The lower-case name used in JSON, config and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Klacht => "klacht",
            Label::Melding => "melding",
            Label::Bezwaar => "bezwaar",
            Label::Raadsadres => "raadsadres",
            Label::Overig => "overig",
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a string that names no known label or channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}; expected one of: {expected}")]
pub struct UnknownName {
    /// What kind of name was expected ("label", "channel").
    pub kind: &'static str,
    /// The value that was given.
    pub value: String,
    /// The accepted values, comma separated.
    pub expected: &'static str,
}

impl FromStr for Label {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "klacht" => Ok(Label::Klacht),
            "melding" => Ok(Label::Melding),
            "bezwaar" => Ok(Label::Bezwaar),
            "raadsadres" => Ok(Label::Raadsadres),
            "overig" => Ok(Label::Overig),
            _ => Err(UnknownName {
                kind: "label",
                value: s.to_string(),
                expected: "klacht, melding, bezwaar, raadsadres, overig",
            }),
        }
    }
}

/// How a message reached the municipality.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Not said by the caller.
    #[default]
    Unspecified,
    /// Counter (desk) conversation transcript.
    Balie,
    /// Phone conversation transcript.
    Telefoon,
    /// E-mail.
    Email,
    /// Paper letter.
    Brief,
    /// Web form.
    Webformulier,
    /// Chat.
    Chat,
}

impl Channel {
    /// All channels.
    pub const ALL: [Channel; 7] = [
        Channel::Unspecified,
        Channel::Balie,
        Channel::Telefoon,
        Channel::Email,
        Channel::Brief,
        Channel::Webformulier,
        Channel::Chat,
    ];

    /// The lower-case name used in JSON, config and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Unspecified => "unspecified",
            Channel::Balie => "balie",
            Channel::Telefoon => "telefoon",
            Channel::Email => "email",
            Channel::Brief => "brief",
            Channel::Webformulier => "webformulier",
            Channel::Chat => "chat",
        }
    }

    /// Conversations with turns (desk and phone).
    pub fn is_conversation(self) -> bool {
        matches!(self, Channel::Balie | Channel::Telefoon)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "unspecified" => Ok(Channel::Unspecified),
            "balie" | "counter" => Ok(Channel::Balie),
            "telefoon" | "phone" => Ok(Channel::Telefoon),
            "email" | "e-mail" | "mail" => Ok(Channel::Email),
            "brief" | "letter" => Ok(Channel::Brief),
            "webformulier" | "webform" | "form" => Ok(Channel::Webformulier),
            "chat" => Ok(Channel::Chat),
            _ => Err(UnknownName {
                kind: "channel",
                value: s.to_string(),
                expected: "balie, telefoon, email, brief, webformulier, chat",
            }),
        }
    }
}

/// Dutch month names, January first (dates in letters, place names that are not places).
pub const DUTCH_MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// Language of a message, as far as the pipeline needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Dutch.
    Nl,
    /// English.
    En,
}

impl Lang {
    /// ISO 639-1 code.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }
}

/// One message as it reached the municipality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Idempotency key from the caller (generated when the caller gave none).
    pub id: String,
    /// The text as received. Cue offsets point into this text, in Unicode scalar values.
    pub text: String,
    /// How it reached the municipality.
    pub channel: Channel,
    /// E-mail address, phone number or "name, postcode"; may be empty. Personal data: never logged.
    pub sender: String,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// E-mail subject line, if any.
    pub subject: String,
}

impl Message {
    /// A message with the given text, received now, with a fresh id and no other data.
    pub fn new(text: impl Into<String>) -> Message {
        Message {
            id: uuid::Uuid::new_v4().to_string(),
            text: text.into(),
            channel: Channel::Unspecified,
            sender: String::new(),
            received_at: Utc::now(),
            subject: String::new(),
        }
    }

    /// Builder-style: set the channel.
    pub fn with_channel(mut self, channel: Channel) -> Message {
        self.channel = channel;
        self
    }
}

/// Whether a message repeats an earlier report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepeatOutcome {
    /// It repeats an earlier report.
    pub is_repeat: bool,
    /// Ids of the earlier messages, when known.
    pub previous_message_ids: Vec<String>,
    /// Why, in the message's language.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// The message id (the caller's, or generated).
    pub id: String,
    /// The label.
    pub label: Label,
    /// Probability of `label`.
    pub confidence: f32,
    /// Probability per label.
    pub scores: std::collections::BTreeMap<String, f32>,
    /// Language of the message (explanations are in it).
    pub language: Lang,
    /// The evidence, in text order.
    pub cues: Vec<crate::pipeline::types::Cue>,
    /// Repeat decision.
    pub repeat: RepeatOutcome,
    /// Other senders' recent reports about the same issue (a hotspot when high).
    pub similar_reports: u32,
    /// The same submission again within minutes: the earlier message's id.
    pub duplicate_of: Option<String>,
    /// "Bij twijfel: vragen naar intentie".
    pub needs_clarification: bool,
    /// The question to ask, when in doubt.
    pub clarifying_question: String,
    /// One or two sentences a counter employee can read aloud.
    pub explanation: String,
    /// For a klacht: check and note satisfaction.
    pub satisfaction_reminder: String,
    /// The intake queue it goes (or would go) to.
    pub queue: String,
    /// The routing rule that chose the queue.
    pub route_rule: String,
    /// Handling deadline from the legal terms.
    pub due_at: chrono::DateTime<chrono::Utc>,
    /// Warnings for staff (in the message's language), e.g. a bezwaar filed late, or where
    /// to refer the writer.
    pub warnings: Vec<String>,
    /// For an overig about another body or a claim for damages: where it belongs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<crate::pipeline::explain::Referral>,
    /// Id of the scorer.
    pub model: String,
}
