//! Raw RFC 5322 e-mail: MIME parts, transfer encodings and charsets via the mail-parser crate,
//! HTML bodies converted to text.

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, PartType};

/// The parts of a raw e-mail that the service needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEmail {
    /// The text body (HTML converted to text when there is no text/plain part). Quoted replies
    /// in HTML `<blockquote>`s come out as lines starting with "> ".
    pub body: String,
    /// The subject, decoded; empty when missing.
    pub subject: String,
    /// The bare address of the sender ("piet@example.nl"); empty when missing.
    pub sender: String,
    /// The Date header in UTC, when present and valid.
    pub date: Option<DateTime<Utc>>,
}

/// Why a byte string could not be read as an e-mail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but whitespace.
    #[error("not an e-mail: empty input")]
    Empty,
    /// The input does not start with a block of RFC 5322 header fields.
    #[error("not an e-mail: no headers")]
    NoHeaders,
    /// mail-parser could not make a message of it.
    #[error("not an e-mail: the message could not be parsed")]
    Unparseable,
    /// A message without a text/plain or text/html part, or with only empty ones.
    #[error("no text body: the e-mail has no text or HTML part with content")]
    NoTextBody,
}

/// Header names of which at least one must be present in a real e-mail.
const KNOWN_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "received",
    "return-path",
    "sender",
    "reply-to",
    "delivered-to",
    "in-reply-to",
    "references",
];

/// True when `raw` starts with a header block (an mbox "From " line may come first) that holds
/// at least one well-known header field.
fn has_header_block(raw: &[u8]) -> bool {
    let start = raw
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(raw.len());
    let mut known = false;
    for (n, line) in raw[start..].split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() || n >= 1000 {
            break;
        }
        if n == 0 && line.starts_with(b"From ") {
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if n == 0 {
                return false;
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            if n == 0 {
                return false;
            }
            break;
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| (33..=126).contains(&b)) {
            if n == 0 {
                return false;
            }
            break;
        }
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        known |= KNOWN_HEADERS.contains(&name.as_str());
    }
    known
}

/// Parse a raw RFC 5322 e-mail: headers, MIME parts, quoted-printable and base64, charsets.
/// The body is the text/plain part(s), or the HTML part converted to text when there is no
/// text/plain part with content.
pub fn parse_raw_email(raw: &[u8]) -> Result<ParsedEmail, EmailError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(EmailError::Empty);
    }
    if !has_header_block(raw) {
        return Err(EmailError::NoHeaders);
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(EmailError::Unparseable)?;

    let mut texts: Vec<String> = Vec::new();
    for i in 0..message.text_body_count() {
        let Some(part) = message.text_part(i) else {
            continue;
        };
        let text = match &part.body {
            PartType::Text(t) => t.to_string(),
            PartType::Html(h) => html_to_text(h),
            _ => continue,
        };
        if !text.trim().is_empty() {
            texts.push(text);
        }
    }
    if texts.is_empty() {
        for i in 0..message.html_body_count() {
            if let Some(PartType::Html(h)) = message.html_part(i).map(|p| &p.body) {
                let text = html_to_text(h);
                if !text.trim().is_empty() {
                    texts.push(text);
                }
            }
        }
    }
    if texts.is_empty() {
        return Err(EmailError::NoTextBody);
    }
    let body = texts
        .iter()
        .map(|t| t.trim_matches(['\r', '\n']))
        .collect::<Vec<_>>()
        .join("\n\n");

    let sender = message
        .from()
        .and_then(|a| a.first())
        .or_else(|| message.sender().and_then(|a| a.first()))
        .and_then(|a| a.address())
        .map(|a| a.trim().to_string())
        .unwrap_or_default();
    let date = message
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0));
    Ok(ParsedEmail {
        body,
        subject: message.subject().unwrap_or("").trim().to_string(),
        sender,
        date,
    })
}

/// Elements whose content is not text.
const SKIPPED_ELEMENTS: &[&str] = &["script", "style", "head", "title", "template", "noscript"];

/// Elements that start and end a line.
const BLOCK_ELEMENTS: &[&str] = &[
    "div",
    "ul",
    "ol",
    "tr",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "address",
    "dl",
    "dt",
    "dd",
    "center",
    "form",
    "fieldset",
    "figure",
    "figcaption",
    "body",
    "html",
    "caption",
];

/// Elements that are separated from the surrounding text by a blank line.
const PARAGRAPH_ELEMENTS: &[&str] = &["p", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre"];

struct TextWriter {
    out: String,
    quote_depth: usize,
    at_line_start: bool,
    pending_space: bool,
}

impl TextWriter {
    fn push_char(&mut self, c: char) {
        if self.at_line_start {
            for _ in 0..self.quote_depth {
                self.out.push_str("> ");
            }
            self.at_line_start = false;
        } else if self.pending_space {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.out.push(c);
    }

    fn space(&mut self) {
        if !self.at_line_start {
            self.pending_space = true;
        }
    }

    /// End the current line; with `blank`, leave one empty line after it.
    fn newline(&mut self, blank: bool) {
        self.pending_space = false;
        if self.out.is_empty() {
            return;
        }
        let trailing = self.out.len() - self.out.trim_end_matches('\n').len();
        let want = if blank { 2 } else { 1 };
        for _ in trailing..want {
            self.out.push('\n');
        }
        self.at_line_start = true;
    }
}

/// Convert HTML to plain text: tags removed, `script`/`style`/`head` dropped, entities decoded,
/// block elements on their own lines, `<blockquote>` lines prefixed with "> ".
pub fn html_to_text(html: &str) -> String {
    // ASCII lower-casing keeps byte offsets, so tag names can be searched in `lower`.
    let lower = html.to_ascii_lowercase();
    let bytes = html.as_bytes();
    let mut w = TextWriter {
        out: String::with_capacity(html.len() / 2),
        quote_depth: 0,
        at_line_start: true,
        pending_space: false,
    };
    let mut in_pre = false;
    let mut i = 0;
    while i < html.len() {
        let b = bytes[i];
        if b == b'<' {
            if lower[i..].starts_with("<!--") {
                i = lower[i + 4..]
                    .find("-->")
                    .map_or(html.len(), |p| i + 4 + p + 3);
                continue;
            }
            if let Some((name, closing, end)) = parse_tag(&lower, i) {
                i = end;
                if SKIPPED_ELEMENTS.contains(&name) && !closing {
                    let close = format!("</{name}");
                    i = lower[i..].find(&close).map_or(html.len(), |p| {
                        lower[i + p..]
                            .find('>')
                            .map_or(html.len(), |q| i + p + q + 1)
                    });
                    continue;
                }
                match name {
                    "br" => w.newline(false),
                    "li" => {
                        w.newline(false);
                        if !closing {
                            w.push_char('-');
                            w.pending_space = true;
                        }
                    }
                    "blockquote" => {
                        w.newline(true);
                        w.quote_depth = if closing {
                            w.quote_depth.saturating_sub(1)
                        } else {
                            w.quote_depth + 1
                        };
                    }
                    "td" | "th" => w.space(),
                    _ if PARAGRAPH_ELEMENTS.contains(&name) => {
                        w.newline(true);
                        if name == "pre" {
                            in_pre = !closing;
                        }
                    }
                    _ if BLOCK_ELEMENTS.contains(&name) => w.newline(false),
                    _ => {}
                }
                continue;
            }
            w.push_char('<');
            i += 1;
            continue;
        }
        let c = html[i..].chars().next().expect("char at boundary");
        if c == '&' {
            if let Some((decoded, len)) = decode_entity(&html[i..]) {
                w.push_char(decoded);
                i += len;
                continue;
            }
        }
        i += c.len_utf8();
        if in_pre && c == '\n' {
            w.newline(false);
        } else if c.is_ascii_whitespace() {
            if in_pre {
                w.push_char(' ');
            } else {
                w.space();
            }
        } else if c != '\r' {
            w.push_char(c);
        }
    }
    let mut out = w.out;
    out.truncate(out.trim_end().len());
    out
}

/// A tag at byte `start` of the lower-cased HTML: (name, is closing, byte index past '>').
/// Declarations (`<!doctype>`) and processing instructions get an empty name. None when this
/// '<' does not start a tag.
fn parse_tag(lower: &str, start: usize) -> Option<(&str, bool, usize)> {
    let rest = &lower[start + 1..];
    let first = rest.chars().next()?;
    let (closing, name_start) = match first {
        '/' => (true, start + 2),
        '!' | '?' => {
            let end = rest.find('>')?;
            return Some(("", false, start + 1 + end + 1));
        }
        c if c.is_ascii_alphabetic() => (false, start + 1),
        _ => return None,
    };
    let name_len = lower[name_start..]
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(lower.len() - name_start);
    let name = &lower[name_start..name_start + name_len];
    if name.is_empty() {
        return None;
    }
    // Find the closing '>', skipping quoted attribute values.
    let mut quote: Option<char> = None;
    for (off, c) in lower[name_start + name_len..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some((name, closing, name_start + name_len + off + 1)),
            _ => {}
        }
    }
    None
}

/// Decode the character reference at the start of `s` ("&amp;", "&#233;", "&#xE9;"):
/// (char, bytes consumed). None when it is not a known reference.
fn decode_entity(s: &str) -> Option<(char, usize)> {
    let end = s[1..]
        .char_indices()
        .take(32)
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '#'))
        .map(|(p, _)| p + 1)?;
    if s.as_bytes()[end] != b';' {
        return None;
    }
    let name = &s[1..end];
    let c = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        char::from_u32(code)
            .filter(|&c| c != '\0')
            .unwrap_or('\u{FFFD}')
    } else {
        named_entity(name)?
    };
    Some((c, end + 1))
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "shy" => '\u{ad}',
        "zwnj" => '\u{200c}',
        "zwj" => '\u{200d}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "euro" => '€',
        "pound" => '£',
        "cent" => '¢',
        "yen" => '¥',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "sect" => '§',
        "para" => '¶',
        "middot" => '·',
        "bull" => '•',
        "hellip" => '…',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "times" => '×',
        "divide" => '÷',
        "plusmn" => '±',
        "frac12" => '½',
        "frac14" => '¼',
        "frac34" => '¾',
        "sup2" => '²',
        "sup3" => '³',
        "iexcl" => '¡',
        "iquest" => '¿',
        "agrave" => 'à',
        "aacute" => 'á',
        "acirc" => 'â',
        "atilde" => 'ã',
        "auml" => 'ä',
        "aring" => 'å',
        "aelig" => 'æ',
        "ccedil" => 'ç',
        "egrave" => 'è',
        "eacute" => 'é',
        "ecirc" => 'ê',
        "euml" => 'ë',
        "igrave" => 'ì',
        "iacute" => 'í',
        "icirc" => 'î',
        "iuml" => 'ï',
        "ntilde" => 'ñ',
        "ograve" => 'ò',
        "oacute" => 'ó',
        "ocirc" => 'ô',
        "otilde" => 'õ',
        "ouml" => 'ö',
        "oslash" => 'ø',
        "ugrave" => 'ù',
        "uacute" => 'ú',
        "ucirc" => 'û',
        "uuml" => 'ü',
        "yacute" => 'ý',
        "yuml" => 'ÿ',
        "szlig" => 'ß',
        "Agrave" => 'À',
        "Aacute" => 'Á',
        "Acirc" => 'Â',
        "Auml" => 'Ä',
        "Aring" => 'Å',
        "Ccedil" => 'Ç',
        "Egrave" => 'È',
        "Eacute" => 'É',
        "Ecirc" => 'Ê',
        "Euml" => 'Ë',
        "Iacute" => 'Í',
        "Iuml" => 'Ï',
        "Ntilde" => 'Ñ',
        "Oacute" => 'Ó',
        "Ouml" => 'Ö',
        "Oslash" => 'Ø',
        "Uacute" => 'Ú',
        "Uuml" => 'Ü',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{normalize, TextKind};
    use super::*;
    use crate::domain::Channel;

    #[test]
    fn multipart_alternative_prefers_text_part() {
        let raw = b"From: Piet de Boer <piet@example.nl>\r\n\
To: info@gemeente.nl\r\n\
Subject: Lantaarnpaal kapot\r\n\
Date: Tue, 12 Mar 2024 10:15:00 +0100\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
De lantaarnpaal is kapot.\r\n\
--b1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><p>De <b>lantaarnpaal</b> is kapot.</p></body></html>\r\n\
--b1--\r\n";
        let mail = parse_raw_email(raw).unwrap();
        assert_eq!(mail.body, "De lantaarnpaal is kapot.");
        assert_eq!(mail.subject, "Lantaarnpaal kapot");
        assert_eq!(mail.sender, "piet@example.nl");
        assert_eq!(mail.date.unwrap().to_rfc3339(), "2024-03-12T09:15:00+00:00");
    }

    #[test]
    fn html_only_message_is_converted_to_text() {
        let raw = b"From: jan@example.nl\r\n\
Subject: Klacht\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><head><title>x</title><style>p{color:red}</style></head><body>\
<div>Ik wacht al 6&nbsp;weken &amp; niemand belt terug &lt;echt&gt;.</div>\
<div>Caf&eacute; &#233; &#x20AC;</div><script>alert(1)</script>\
<div class=\"gmail_quote\">Op 1 mrt. 2024 om 10:00 schreef Gemeente &lt;info@gemeente.nl&gt;:\
<blockquote>Wij bellen u terug.<br>Groet</blockquote></div></body></html>\r\n";
        let mail = parse_raw_email(raw).unwrap();
        assert!(!mail.body.contains('<') || mail.body.contains("<echt>"));
        assert!(!mail.body.contains("alert"));
        assert!(!mail.body.contains("color"));
        assert!(mail
            .body
            .contains("Ik wacht al 6\u{a0}weken & niemand belt terug <echt>."));
        assert!(mail.body.contains("Café é €"));
        assert!(mail.body.contains("> Wij bellen u terug.\n> Groet"));
        let n = normalize(&mail.body, Channel::Email);
        assert_eq!(
            n.text,
            "Ik wacht al 6 weken & niemand belt terug <echt>.\nCafé é €"
        );
        assert_eq!(n.kind, TextKind::Email);
    }

    #[test]
    fn quoted_printable_utf8_is_decoded() {
        let raw = b"From: \"Ren=C3=A9\" <rene@example.nl>\r\n\
Subject: =?UTF-8?Q?Caf=C3=A9_dicht?=\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Het caf=C3=A9 op de hoek maakt elke nacht lawaai. Dit is een lange re=\r\n\
gel.\r\n";
        let mail = parse_raw_email(raw).unwrap();
        assert_eq!(
            mail.body,
            "Het café op de hoek maakt elke nacht lawaai. Dit is een lange regel."
        );
        assert_eq!(mail.subject, "Café dicht");
        assert_eq!(mail.sender, "rene@example.nl");
    }

    #[test]
    fn iso_8859_1_body_is_decoded() {
        let mut raw = b"From: a@example.nl\r\nSubject: test\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".to_vec();
        raw.extend_from_slice(b"Het caf\xe9 is dicht, na\xefef van de gemeente.\r\n");
        let mail = parse_raw_email(&raw).unwrap();
        assert_eq!(mail.body, "Het café is dicht, naïef van de gemeente.");
    }

    #[test]
    fn base64_body_is_decoded() {
        let raw = b"From: a@example.nl\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nRGUgc3RvZXAgaXMga2Fwb3Qu\r\n";
        assert_eq!(parse_raw_email(raw).unwrap().body, "De stoep is kapot.");
    }

    #[test]
    fn garbage_bytes_are_not_an_email() {
        let garbage: &[u8] = &[0xff, 0xfe, 0x00, 0x13, 0x80, 0x81, b'\n', 0x9f, b'x'];
        assert_eq!(parse_raw_email(garbage), Err(EmailError::NoHeaders));
        assert_eq!(
            parse_raw_email(b"Dit is gewoon tekst zonder headers.\n\nNog meer."),
            Err(EmailError::NoHeaders)
        );
        assert_eq!(
            parse_raw_email(b"Foo: bar\n\nbody"),
            Err(EmailError::NoHeaders)
        );
        assert_eq!(parse_raw_email(b"  \r\n"), Err(EmailError::Empty));
        assert_eq!(
            EmailError::NoHeaders.to_string(),
            "not an e-mail: no headers"
        );
    }

    #[test]
    fn message_without_text_body_is_an_error() {
        let raw = b"From: a@example.nl\r\nSubject: foto\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n";
        assert_eq!(parse_raw_email(raw), Err(EmailError::NoTextBody));
        assert!(EmailError::NoTextBody
            .to_string()
            .starts_with("no text body"));
    }

    #[test]
    fn html_lists_and_tables_become_lines() {
        let text = html_to_text(
            "<p>Punten:</p><ul><li>een</li><li>twee</li></ul><table><tr><td>a</td><td>b</td></tr></table>",
        );
        assert_eq!(text, "Punten:\n\n- een\n- twee\na b");
    }

    #[test]
    fn html_stray_lt_and_unknown_entity_are_kept() {
        assert_eq!(html_to_text("3 < 4 &foo; &amp"), "3 < 4 &foo; &amp");
    }
}
