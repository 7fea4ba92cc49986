//! The contract's JSON-lines input (`herken classify --jsonl`): one object per line with `id`,
//! `text`, optional `sender`, `received` (RFC 3339, 1970 to 2100), `channel`, `subject`.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::{Channel, Message};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputLine {
    #[serde(default)]
    id: Option<String>,
    text: String,
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    received: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    subject: Option<String>,
}

/// Parse one input line into a message; errors carry the best id known.
pub fn parse_line(line: &[u8], fallback_id: &str) -> Result<Message, (String, String)> {
    let text = std::str::from_utf8(line).map_err(|e| {
        (
            fallback_id.to_string(),
            format!("{fallback_id}: not valid UTF-8 (byte {})", e.valid_up_to()),
        )
    })?;
    // Recover the id even when the rest of the line is wrong, so the error can be matched.
    let id_of = |v: &serde_json::Value| v.get("id").and_then(|x| x.as_str()).map(str::to_string);
    let loose: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let id = loose
        .as_ref()
        .and_then(id_of)
        .unwrap_or_else(|| fallback_id.to_string());
    let fail = |e: String| (id.clone(), e);
    let input: InputLine =
        serde_json::from_str(text).map_err(|e| fail(format!("not a valid input line: {e}")))?;
    let channel: Channel = input
        .channel
        .as_deref()
        .unwrap_or("")
        .parse()
        .map_err(|e: crate::domain::UnknownName| fail(e.to_string()))?;
    let received_at = match input.received.as_deref() {
        Some(r) => DateTime::parse_from_rfc3339(r)
            .map_err(|e| fail(format!("received {r:?} is not RFC 3339: {e}")))?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    let (earliest, latest) = (
        crate::service::convert::EARLIEST,
        crate::service::convert::LATEST,
    );
    if !(earliest..latest).contains(&received_at.timestamp()) {
        return Err(fail(format!(
            "received {received_at} is not between 1970-01-01 and 2100-01-01"
        )));
    }
    Ok(Message {
        id: input.id.unwrap_or_else(|| id.clone()),
        text: input.text,
        channel,
        sender: input.sender.unwrap_or_default(),
        received_at,
        subject: input.subject.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_timestamps_are_refused_with_the_id() {
        for r in [
            "0001-01-01T00:00:00Z",
            "2100-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            let line = format!(r#"{{"id":"a","text":"x","received":"{r}"}}"#);
            let (id, e) = parse_line(line.as_bytes(), "line:1").unwrap_err();
            assert_eq!(id, "a");
            assert!(e.contains("1970"), "{e}");
        }
        let ok = parse_line(
            br#"{"id":"a","text":"x","received":"2099-12-31T23:59:59Z"}"#,
            "l",
        );
        assert!(ok.is_ok());
    }
}
