//! TEMPORARY identity normalizer; replaced by the real stage.
use crate::domain::Channel;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Plain,
    Email,
    Transcript,
}
#[derive(Debug, Clone)]
pub struct Normalized {
    pub text: String,
    pub kind: TextKind,
    pub removed: Vec<()>,
    pub citizen_turns: usize,
}
impl Normalized {
    pub fn original_span(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if start < end {
            Some((start, end))
        } else {
            None
        }
    }
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}
pub fn normalize(text: &str, _channel: Channel) -> Normalized {
    Normalized {
        text: text.to_string(),
        kind: TextKind::Plain,
        removed: vec![],
        citizen_turns: 0,
    }
}
pub struct ParsedEmail {
    pub body: String,
    pub subject: String,
    pub sender: String,
    pub date: Option<chrono::DateTime<chrono::Utc>>,
}
#[derive(Debug, thiserror::Error)]
#[error("e-mail")]
pub struct EmailError;
pub fn parse_raw_email(_raw: &[u8]) -> Result<ParsedEmail, EmailError> {
    Err(EmailError)
}
