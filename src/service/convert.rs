//! Conversions between generated protobuf types and domain types, with validation.

use chrono::{DateTime, TimeZone, Utc};

use crate::config::Limits;
use crate::domain::{Channel, Label, Message};
use crate::error::{Error, Result};
use crate::pb;
use crate::pipeline::normalize;
use crate::recognizer::Outcome;
use crate::service::check_len;

/// A request's message, its fields checked, and its raw e-mail when the text is to be taken
/// from it (decoding is CPU work: [`decode_email`] runs it off the async threads).
#[derive(Debug)]
pub struct Incoming {
    /// The message so far (text empty when it comes from `raw_email`).
    pub message: Message,
    /// The raw e-mail to decode, when `text` was empty.
    pub raw_email: Option<Vec<u8>>,
    /// `received_at` was given by the caller.
    pub received_given: bool,
}

/// Earliest accepted `received_at`: 1970-01-01.
pub const EARLIEST: i64 = 0;
/// First instant no longer accepted as `received_at`: 2100-01-01.
pub const LATEST: i64 = 4_102_444_800;

/// A domain message from a request's message; `field` names it in errors. Every field is
/// checked against `limits` before anything is decoded.
pub fn message_from_pb(m: Option<pb::Message>, field: &str, limits: &Limits) -> Result<Incoming> {
    let m = m.ok_or_else(|| Error::invalid(field, "is missing"))?;
    let channel = channel_from_pb(m.channel).ok_or_else(|| {
        Error::invalid(
            format!("{field}.channel"),
            format!("unknown value {}", m.channel),
        )
    })?;
    let received_at = match m.received_at {
        Some(ts) => Some(timestamp(&ts).ok_or_else(|| {
            Error::invalid(
                format!("{field}.received_at"),
                format!(
                    "{}s is not a time between 1970-01-01 and 2100-01-01",
                    ts.seconds
                ),
            )
        })?),
        None => None,
    };
    if m.raw_email.len() > limits.max_raw_email_bytes {
        return Err(Error::too_long(
            format!("{field}.raw_email"),
            m.raw_email.len(),
            "bytes",
            limits.max_raw_email_bytes,
            "max_raw_email_bytes",
        ));
    }
    let id = if m.message_id.trim().is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        m.message_id
    };
    let message = Message {
        id,
        text: m.text,
        channel,
        sender: m.sender,
        received_at: received_at.unwrap_or_else(Utc::now),
        subject: m.subject,
    };
    check_fields(&message, field, limits)?;
    let raw_email =
        (message.text.trim().is_empty() && !m.raw_email.is_empty()).then_some(m.raw_email);
    Ok(Incoming {
        message,
        raw_email,
        received_given: received_at.is_some(),
    })
}

/// Check the sizes of a message's fields (the text's length is the recognizer's to check).
pub fn check_fields(m: &Message, field: &str, limits: &Limits) -> Result<()> {
    check_len(
        &format!("{field}.message_id"),
        &m.id,
        limits.max_id_chars,
        "max_id_chars",
    )?;
    check_len(
        &format!("{field}.subject"),
        &m.subject,
        limits.max_subject_chars,
        "max_subject_chars",
    )?;
    check_len(
        &format!("{field}.sender"),
        &m.sender,
        limits.max_sender_chars,
        "max_sender_chars",
    )?;
    Ok(())
}

/// Take the text (and sender, subject, date where the caller left them out) from the raw
/// e-mail, when there is one. CPU work: call it off the async threads. Returns the message
/// and, when decoded, the body the cue offsets point into.
pub fn decode_email(
    incoming: Incoming,
    field: &str,
    limits: &Limits,
) -> Result<(Message, Option<String>)> {
    let Incoming {
        mut message,
        raw_email,
        received_given,
    } = incoming;
    let Some(raw) = raw_email else {
        return Ok((message, None));
    };
    let parsed =
        normalize::parse_raw_email_bounded(&raw, limits.max_text_chars).map_err(|e| match e {
            normalize::EmailError::TooLong(n) => Error::invalid(
                format!("{field}.raw_email"),
                format!(
                    "its decoded body has more than the limit of {n} characters (max_text_chars)"
                ),
            ),
            e => Error::invalid(format!("{field}.raw_email"), e.to_string()),
        })?;
    message.text = parsed.body;
    if message.sender.is_empty() {
        message.sender = parsed.sender;
    }
    if message.subject.is_empty() {
        message.subject = parsed.subject;
    }
    // A Date header outside 1970..2100 is the sender's mistake, not the caller's: ignored.
    if !received_given {
        if let Some(d) = parsed
            .date
            .filter(|d| (EARLIEST..LATEST).contains(&d.timestamp()))
        {
            message.received_at = d;
        }
    }
    if message.channel == Channel::Unspecified {
        message.channel = Channel::Email;
    }
    check_fields(&message, &format!("{field}.raw_email"), limits)?;
    let decoded = message.text.clone();
    Ok((message, Some(decoded)))
}

/// A time from a protobuf timestamp, when valid and between 1970 and 2100.
fn timestamp(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    if !(0..1_000_000_000).contains(&ts.nanos) || !(EARLIEST..LATEST).contains(&ts.seconds) {
        return None;
    }
    Utc.timestamp_opt(ts.seconds, ts.nanos as u32).single()
}

/// The domain channel of a protobuf enum value; `None` for an unknown value.
pub fn channel_from_pb(v: i32) -> Option<Channel> {
    Some(match pb::Channel::try_from(v).ok()? {
        pb::Channel::Unspecified => Channel::Unspecified,
        pb::Channel::Balie => Channel::Balie,
        pb::Channel::Telefoon => Channel::Telefoon,
        pb::Channel::Email => Channel::Email,
        pb::Channel::Brief => Channel::Brief,
        pb::Channel::Webformulier => Channel::Webformulier,
        pb::Channel::Chat => Channel::Chat,
    })
}

/// The protobuf enum value of a label.
pub fn label_to_pb(l: Label) -> pb::Label {
    match l {
        Label::Klacht => pb::Label::Klacht,
        Label::Melding => pb::Label::Melding,
        Label::Bezwaar => pb::Label::Bezwaar,
        Label::Raadsadres => pb::Label::Raadsadres,
        Label::Overig => pb::Label::Overig,
    }
}

/// The response for an outcome.
pub fn response_to_pb(
    o: Outcome,
    decoded_text: Option<String>,
    routed: bool,
) -> pb::ClassifyResponse {
    pb::ClassifyResponse {
        message_id: o.id,
        label: label_to_pb(o.label) as i32,
        confidence: o.confidence,
        scores: Label::ALL
            .iter()
            .map(|l| pb::LabelScore {
                label: label_to_pb(*l) as i32,
                score: o.scores.get(l.as_str()).copied().unwrap_or(0.0),
            })
            .collect(),
        cues: o
            .cues
            .into_iter()
            .map(|c| pb::Cue {
                start: c.start as u32,
                end: c.end as u32,
                text: c.text,
                family: c.family.as_str().to_string(),
                supports: label_to_pb(c.supports) as i32,
                negated: c.negated,
                from_model: c.from_model,
            })
            .collect(),
        repeat: Some(pb::Repeat {
            is_repeat: o.repeat.is_repeat,
            previous_message_ids: o.repeat.previous_message_ids,
            reason: o.repeat.reason,
            similar_reports: o.similar_reports,
            duplicate_of: o.duplicate_of.unwrap_or_default(),
        }),
        needs_clarification: o.needs_clarification,
        clarifying_question: o.clarifying_question,
        explanation: o.explanation,
        queue: o.queue,
        language: o.language.as_str().to_string(),
        model: o.model,
        satisfaction_reminder: o.satisfaction_reminder,
        text: decoded_text.unwrap_or_default(),
        routed,
        due_at: Some(timestamp_to_pb(o.due_at)),
        warnings: o.warnings,
        route_rule: o.route_rule,
    }
}

/// A protobuf timestamp.
pub fn timestamp_to_pb(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// The protobuf enum value of a channel.
pub fn channel_to_pb(c: Channel) -> pb::Channel {
    match c {
        Channel::Unspecified => pb::Channel::Unspecified,
        Channel::Balie => pb::Channel::Balie,
        Channel::Telefoon => pb::Channel::Telefoon,
        Channel::Email => pb::Channel::Email,
        Channel::Brief => pb::Channel::Brief,
        Channel::Webformulier => pb::Channel::Webformulier,
        Channel::Chat => pb::Channel::Chat,
    }
}

/// A protobuf message from a domain message.
pub fn message_to_pb(m: Message) -> pb::Message {
    pb::Message {
        message_id: m.id,
        text: m.text,
        channel: channel_to_pb(m.channel) as i32,
        sender: m.sender,
        received_at: Some(timestamp_to_pb(m.received_at)),
        subject: m.subject,
        raw_email: Vec::new(),
    }
}

/// The domain label of a protobuf enum value; `None` for unspecified or unknown.
pub fn label_from_pb(v: i32) -> Option<Label> {
    Some(match pb::Label::try_from(v).ok()? {
        pb::Label::Unspecified => return None,
        pb::Label::Klacht => Label::Klacht,
        pb::Label::Melding => Label::Melding,
        pb::Label::Bezwaar => Label::Bezwaar,
        pb::Label::Raadsadres => Label::Raadsadres,
        pb::Label::Overig => Label::Overig,
    })
}

/// A protobuf intake item.
pub fn item_to_pb(i: crate::intake::Item) -> pb::IntakeItem {
    let routed = !i.acked;
    pb::IntakeItem {
        item_id: i.item_id,
        queue: i.queue,
        message: Some(message_to_pb(i.message)),
        due_at: Some(timestamp_to_pb(i.due_at)),
        classification: Some(response_to_pb(i.classification, None, routed)),
        deliveries: i.deliveries,
    }
}
