//! Labelled JSON-lines files: the training corpus (`data/corpus/*.jsonl`) and evaluation sets.
//! One object per line with at least `text` and `label`; `id`, `channel`, `lang`, `subject`,
//! `genre` and `cues` (the phrases a trainer marks, for `herken eval --evidence`) are used when present, other fields are ignored. A malformed line is an error naming the
//! file, the line and the problem: training and evaluation data must be exactly right.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::domain::{Channel, Label, Message};
use crate::error::{Error, Result};

/// One labelled message.
#[derive(Debug, Clone)]
pub struct Example {
    /// The message (id from the file, or `file:line`).
    pub message: Message,
    /// The gold label.
    pub label: Label,
    /// The language the file says, if it says one.
    pub lang: Option<String>,
    /// The genre (the form of the text, one of [`GENRES`]), if the file says one.
    pub genre: Option<&'static str>,
    /// The phrases a trainer marks as the evidence (the file's `cues`: exact substrings of
    /// the text), if the file has them. Only ever measured against, never learned from.
    pub marked: Option<Vec<String>>,
}

/// The genres of the corpus: the *form* of a text, never its label. Every genre holds every
/// label that can occur in it, so that a model cannot learn the label from the form;
/// `herken eval --cross-genre` trains without one genre and tests on it.
pub const GENRES: [(&str, &str); 13] = [
    (
        "email",
        "e-mail to the municipality, with greeting, signature, quoted replies",
    ),
    ("webform", "the free text of a web form"),
    ("letter", "a letter by post, formal or not"),
    (
        "transcript",
        "a counter or phone conversation, with speaker turns",
    ),
    ("chat", "a chat message"),
    (
        "short",
        "one line: a subject line, a form field, a petition title",
    ),
    (
        "summary",
        "a third-person summary: ombudsman, complaint handler, staff notes, griffie",
    ),
    (
        "social",
        "a social-media post or reply to the municipality's account",
    ),
    (
        "news",
        "a local news article or residents quoted in the news",
    ),
    (
        "petition",
        "a public petition: title, considerations, request",
    ),
    (
        "open_letter",
        "an open letter to college or council, or a letter to the editor",
    ),
    (
        "association",
        "a letter from an association, residents' group or village council",
    ),
    ("blog", "a personal blog or forum post"),
];

/// The genre named `name`, as its static name, or `None` when it is not one of [`GENRES`].
pub fn genre(name: &str) -> Option<&'static str> {
    GENRES.iter().map(|(g, _)| *g).find(|g| *g == name)
}

#[derive(Deserialize)]
struct Line {
    text: String,
    label: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    genre: Option<String>,
    #[serde(default)]
    cues: Option<Vec<String>>,
}

/// Read one labelled file.
pub fn read_file(path: &Path) -> Result<Vec<Example>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&path.display().to_string(), &bytes)
}

/// Parse labelled JSON lines; `name` is used in errors.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Vec<Example>> {
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let err = |problem: String| Error::Data {
            file: name.to_string(),
            line: i + 1,
            problem,
        };
        let line = std::str::from_utf8(raw)
            .map_err(|e| err(format!("not valid UTF-8 ({e})")))?
            .trim();
        if line.is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(line)
            .map_err(|e| err(format!("not a labelled JSON object: {e}")))?;
        let label: Label = l
            .label
            .parse()
            .map_err(|e: crate::domain::UnknownName| err(e.to_string()))?;
        let channel: Channel = l
            .channel
            .as_deref()
            .unwrap_or("")
            .parse()
            .map_err(|e: crate::domain::UnknownName| err(e.to_string()))?;
        if l.text.trim().is_empty() {
            return Err(err("empty text".into()));
        }
        let genre = match l.genre.as_deref() {
            None | Some("") => None,
            Some(g) => Some(genre(g).ok_or_else(|| {
                let known: Vec<&str> = GENRES.iter().map(|(g, _)| *g).collect();
                err(format!("unknown genre {g:?} (one of {})", known.join(", ")))
            })?),
        };
        let mut message = Message::new(l.text).with_channel(channel);
        message.id = l.id.unwrap_or_else(|| format!("{name}:{}", i + 1));
        message.subject = l.subject.unwrap_or_default();
        out.push(Example {
            message,
            label,
            lang: l.lang,
            genre,
            marked: l.cues,
        });
    }
    Ok(out)
}

/// The `*.jsonl` files of a corpus directory, sorted by name.
pub fn corpus_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Model(format!(
            "no *.jsonl files in corpus directory {}",
            dir.display()
        )));
    }
    Ok(files)
}

/// Read a whole corpus directory; returns the examples and a SHA-256 over names and contents.
pub fn read_corpus(dir: &Path) -> Result<(Vec<Example>, String)> {
    let mut hasher = Sha256::new();
    let mut all = Vec::new();
    for f in corpus_files(dir)? {
        let bytes = std::fs::read(&f).map_err(|e| Error::io(&f, e))?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(&bytes);
        all.extend(parse(&f.display().to_string(), &bytes)?);
    }
    Ok((all, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_defaults() {
        let ex = parse(
            "t",
            br#"{"text":"lamp kapot","label":"melding","channel":"webformulier","extra":1}

{"id":"x","text":"Ik ben boos","label":"klacht"}"#,
        )
        .unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].message.channel, Channel::Webformulier);
        assert_eq!(ex[0].message.id, "t:1");
        assert_eq!(ex[1].message.id, "x");
        assert_eq!(ex[0].genre, None);
        assert_eq!(ex[0].marked, None);
    }

    #[test]
    fn marked_phrases_are_read_from_cues() {
        let ex = parse(
            "t",
            br#"{"text":"lamp kapot","label":"melding","cues":["lamp kapot"]}"#,
        )
        .unwrap();
        assert_eq!(
            ex[0].marked.as_deref(),
            Some(&["lamp kapot".to_string()][..])
        );
    }

    #[test]
    fn genre_is_read_and_checked() {
        let ex = parse("t", br#"{"text":"a","label":"klacht","genre":"news"}"#).unwrap();
        assert_eq!(ex[0].genre, Some("news"));
        let err = parse(
            "f.jsonl",
            br#"{"text":"a","label":"klacht","genre":"novel"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("novel") && err.contains("petition"), "{err}");
    }

    #[test]
    fn errors_name_line_and_problem() {
        let err = parse("f.jsonl", b"{\"text\":\"a\",\"label\":\"klacht\"}\n{oops")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("f.jsonl:2:"), "{err}");
        let err = parse("f.jsonl", br#"{"text":"a","label":"klachten"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("klachten"), "{err}");
        let err = parse("f.jsonl", b"{\"text\":\"\xff\",\"label\":\"klacht\"}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("UTF-8"), "{err}");
    }
}
