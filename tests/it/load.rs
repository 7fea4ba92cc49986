//! `herken load` against a real server: it counts what it sent, reports bad input by line,
//! and fails when the server is not there.

use std::process::Command;

use crate::support::{config, root, TestServer};

fn load(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_herken"))
        .current_dir(root())
        .arg("load")
        .args(args)
        .output()
        .unwrap()
}

async fn load_async(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || load(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .unwrap()
}

fn messages_file(lines: &[&str]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut f, lines.join("\n").as_bytes()).unwrap();
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_sends_the_calls_asked_for_and_reports_them() {
    let server = TestServer::start(config()).await;
    let file = messages_file(&[
        r#"{"text":"De lantaarnpaal bij de school is kapot.","channel":"webformulier","label":"melding"}"#,
        r#"{"text":"Ik ben al drie keer niet teruggebeld, dit is echt slecht."}"#,
    ]);
    let path = file.path().display().to_string();
    for (batch, calls, messages) in [("1", 12, 12), ("5", 4, 20)] {
        let out = load_async(
            [
                "--server",
                &server.url(),
                "--file",
                &path,
                "--concurrency",
                "3",
                "--calls",
                &calls.to_string(),
                "--batch",
                batch,
                "--json",
            ]
            .map(String::from)
            .to_vec(),
        )
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["calls_ok"], calls, "{r}");
        assert_eq!(r["calls_failed"], 0, "{r}");
        assert_eq!(r["messages"], messages, "{r}");
        assert!(r["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{r}");
        assert!(
            r["latency_ms"]["p50"].as_f64() <= r["latency_ms"]["max"].as_f64(),
            "{r}"
        );
    }
    server.stop().await;
}

#[test]
fn a_bad_line_is_named_and_nothing_is_sent() {
    let file = messages_file(&[r#"{"text":"Goed."}"#, r#"{"txt":"no text field"}"#]);
    let out = load(&[
        "--server",
        "http://127.0.0.1:9",
        "--file",
        &file.path().display().to_string(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":2:") && err.contains("text"), "{err}");
    let file = messages_file(&[r#"{"text":"Goed.","channel":"fax"}"#]);
    let out = load(&[
        "--server",
        "http://127.0.0.1:9",
        "--file",
        &file.path().display().to_string(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(":1:") && err.contains("fax"),
        "{err}"
    );
}

#[test]
fn no_server_is_a_clear_error() {
    let file = messages_file(&[r#"{"text":"Goed."}"#]);
    let out = load(&[
        "--server",
        "http://127.0.0.1:9",
        "--file",
        &file.path().display().to_string(),
        "--calls",
        "1",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is `herken serve` running?"), "{err}");
}
