//! Conversions between generated protobuf types and domain types, with validation.

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::{Channel, Label, Message};
use crate::error::{Error, Result};
use crate::pb;
use crate::pipeline::normalize;
use crate::recognizer::Outcome;

/// A domain message from a request's message; `field` names it in errors.
/// Returns the message and, when the text was decoded from `raw_email`, that text.
pub fn message_from_pb(m: Option<pb::Message>, field: &str) -> Result<(Message, Option<String>)> {
    let m = m.ok_or_else(|| Error::invalid(field, "is missing"))?;
    let channel = channel_from_pb(m.channel).ok_or_else(|| {
        Error::invalid(
            format!("{field}.channel"),
            format!("unknown value {}", m.channel),
        )
    })?;
    let mut received_at = match m.received_at {
        Some(ts) => Some(timestamp(&ts).ok_or_else(|| {
            Error::invalid(format!("{field}.received_at"), "is not a valid timestamp")
        })?),
        None => None,
    };
    let (mut text, mut sender, mut subject) = (m.text, m.sender, m.subject);
    let mut decoded = None;
    if text.trim().is_empty() && !m.raw_email.is_empty() {
        let parsed = normalize::parse_raw_email(&m.raw_email)
            .map_err(|e| Error::invalid(format!("{field}.raw_email"), e.to_string()))?;
        text = parsed.body;
        if sender.is_empty() {
            sender = parsed.sender;
        }
        if subject.is_empty() {
            subject = parsed.subject;
        }
        if received_at.is_none() {
            received_at = parsed.date;
        }
        decoded = Some(text.clone());
    }
    let id = if m.message_id.trim().is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        m.message_id
    };
    let channel = if decoded.is_some() && channel == Channel::Unspecified {
        Channel::Email
    } else {
        channel
    };
    Ok((
        Message {
            id,
            text,
            channel,
            sender,
            received_at: received_at.unwrap_or_else(Utc::now),
            subject,
        },
        decoded,
    ))
}

fn timestamp(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
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
        language: o.language,
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
