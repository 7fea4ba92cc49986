//! The `herken` command line, run as a process.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::root;

fn herken() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_herken"));
    c.current_dir(root())
        .env("HERKEN_MODEL_DIR", root().join("models"));
    c
}

fn run_with_stdin(mut cmd: Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn jsonl_answers_every_line_in_order_and_reports_bad_lines() {
    let input = concat!(
        r#"{"id":"a","text":"De lantaarnpaal voor huisnummer 8 is kapot.","channel":"webformulier"}"#,
        "\n",
        "{this is not json\n",
        r#"{"id":"c","text":"Ik ben al drie keer niet teruggebeld, dit is echt belachelijk.","received":"2026-03-01T10:00:00+01:00"}"#,
        "\n",
        r#"{"id":"d","text":"Lamp kapot","channel":"duif"}"#,
        "\n",
        r#"{"id":"e","text":""}"#,
        "\n",
        r#"{"id":"f","text":"x","received":"gisteren"}"#,
        "\n",
    );
    let mut bytes = input.as_bytes().to_vec();
    bytes.extend_from_slice(b"{\"id\":\"g\",\"text\":\"\xff\xfe\"}\n");
    let mut cmd = herken();
    cmd.args(["classify", "--jsonl"]);
    let out = run_with_stdin(cmd, &bytes);
    assert_eq!(out.status.code(), Some(1), "non-zero when a line failed");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[0]["label"], "melding");
    for field in [
        "confidence",
        "is_repeat",
        "queue",
        "needs_clarification",
        "cues",
    ] {
        assert!(lines[0].get(field).is_some(), "missing {field}");
    }
    let cue = &lines[0]["cues"][0];
    for field in ["start", "end", "text", "family"] {
        assert!(cue.get(field).is_some(), "cue missing {field}");
    }
    assert_eq!(lines[1]["id"], "line:2");
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("not a valid input line"));
    assert_eq!(lines[2]["id"], "c");
    assert_eq!(lines[2]["label"], "klacht");
    assert_eq!(lines[3]["id"], "d");
    assert!(lines[3]["error"].as_str().unwrap().contains("duif"));
    assert_eq!(lines[4]["id"], "e");
    assert!(lines[4]["error"].as_str().unwrap().contains("empty"));
    assert!(lines[5]["error"].as_str().unwrap().contains("RFC 3339"));
    assert!(lines[6]["error"].as_str().unwrap().contains("UTF-8"));
}

#[test]
fn jsonl_all_good_exits_zero() {
    let mut cmd = herken();
    cmd.args(["classify", "--jsonl"]);
    let out = run_with_stdin(
        cmd,
        br#"{"id":"1","text":"Wat zijn de openingstijden van de milieustraat?"}"#,
    );
    assert!(out.status.success());
}

#[test]
fn pretty_output_marks_cues_without_colour_when_piped() {
    let out = herken()
        .args([
            "classify",
            "--color",
            "never",
            "Ik ben onbeleefd te woord gestaan aan de balie.",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.starts_with("klacht"), "{s}");
    assert!(s.contains("[onbeleefd]"), "{s}");
    assert!(!s.contains('\x1b'));
}

#[test]
fn eval_json_has_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mini.jsonl");
    std::fs::write(
        &f,
        concat!(
            r#"{"text":"De lantaarnpaal in de Dorpsstraat is kapot.","label":"melding"}"#,
            "\n",
            r#"{"text":"Ik ben al weken niet teruggebeld, ik ben het zat.","label":"klacht"}"#,
            "\n",
        ),
    )
    .unwrap();
    let out = herken().args(["eval", "--json"]).arg(&f).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in ["macro_f1", "accuracy", "labels", "confusion"] {
        assert!(v.get(field).is_some(), "missing {field}");
    }
    for l in ["klacht", "melding", "bezwaar", "raadsadres", "overig"] {
        for k in ["precision", "recall", "f1", "support"] {
            assert!(v["labels"][l].get(k).is_some(), "labels.{l}.{k}");
        }
    }
}

#[test]
fn eval_of_a_malformed_file_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.jsonl");
    std::fs::write(
        &f,
        "{\"text\":\"a\",\"label\":\"klacht\"}\n{\"text\":\"b\",\"label\":\"boos\"}\n",
    )
    .unwrap();
    let out = herken().arg("eval").arg(&f).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.jsonl:2") && err.contains("boos"), "{err}");
}

#[test]
fn a_missing_model_is_loud_and_require_model_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let out = herken()
        .env("HERKEN_MODEL_DIR", dir.path())
        .args(["classify", "--json", "Lamp kapot"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("degraded"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["model"].as_str().unwrap().contains("degraded"));

    let out = herken()
        .env("HERKEN_MODEL_DIR", dir.path())
        .args([
            "serve",
            "--require-model",
            "--addr",
            "127.0.0.1:0",
            "--web-addr",
            "off",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("herken train"));
}

#[test]
fn help_documents_every_subcommand() {
    let out = herken().arg("--help").output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    for sub in [
        "serve",
        "classify",
        "eval",
        "train",
        "queue",
        "corrections",
        "load",
        "model",
        "key",
        "purge",
        "quiz",
        "report",
    ] {
        assert!(s.contains(sub), "{s}");
    }
    let out = herken().args(["key", "new", "--help"]).output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    for flag in ["--name", "--role", "--keys-file"] {
        assert!(s.contains(flag), "{s}");
    }
    let out = herken().args(["purge", "--help"]).output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("--sender") && s.contains("--message-id"), "{s}");
}

/// Issue 11: a 170 KB e-mail of nested blockquotes peaked at 1.7 GB in `classify --eml`.
/// Now its decoded length is refused before it is built.
#[test]
fn eml_html_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bomb.eml");
    let body = "<blockquote>Ik ben het zat.".repeat(170_000 / 27);
    std::fs::write(
        &f,
        format!("From: a@example.nl\r\nContent-Type: text/html\r\n\r\n{body}"),
    )
    .unwrap();
    let out = herken()
        .args(["classify", "--json", "--eml"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("characters"), "{err}");
}

#[test]
fn eml_file_is_decoded_and_classified() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.eml");
    std::fs::write(
        &f,
        "From: Jan Jansen <jan@example.nl>\r\nTo: info@gemeente.nl\r\nSubject: =?UTF-8?Q?Lantaarnpaal_Dorpsstraat?=\r\nDate: Mon, 2 Mar 2026 09:15:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Geachte heer/mevrouw,</p><p>De lantaarnpaal voor Dorpsstraat 4 is kapot, het is er 's avonds aardedonker. Wilt u hem repareren?</p><p>Met vriendelijke groet,<br>Jan Jansen<br>06-12345678</p>\r\n",
    )
    .unwrap();
    let out = herken()
        .args(["classify", "--json", "--eml"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["label"], "melding");
    assert!(v["cues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["text"] == "lantaarnpaal"));

    std::fs::write(&f, b"\xff\xfe garbage, no headers at all").unwrap();
    let out = herken()
        .args(["classify", "--eml"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("m.eml"));
}

#[test]
fn jsonl_lines_of_one_run_share_one_repeat_memory() {
    let input = concat!(
        r#"{"id":"1","text":"Er ligt al dagen grofvuil naast de container aan de Kerkstraat.","sender":"06-12345678","received":"2026-03-01T09:00:00+01:00","channel":"webformulier"}"#,
        "\n",
        r#"{"id":"2","text":"Het grofvuil bij de container in de Kerkstraat ligt er nog. Graag ophalen.","sender":"+31 6 1234 5678","received":"2026-03-12T09:00:00+01:00","channel":"webformulier"}"#,
        "\n",
        r#"{"id":"3","text":"Er ligt grofvuil naast de container aan de Kerkstraat.","sender":"iemand@example.nl","received":"2026-03-12T10:00:00+01:00","channel":"webformulier"}"#,
        "\n",
    );
    let mut cmd = herken();
    cmd.args(["classify", "--jsonl"]);
    let out = run_with_stdin(cmd, input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["is_repeat"], false);
    assert_eq!(lines[1]["is_repeat"], true, "{}", lines[1]);
    assert_eq!(lines[1]["label"], "klacht");
    assert_eq!(lines[1]["repeat"]["previous_message_ids"][0], "1");
    assert_eq!(lines[2]["is_repeat"], false, "another sender is no repeat");
    assert_eq!(lines[2]["similar_reports"], 1);
}
