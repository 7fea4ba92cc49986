//! Repeat detection and its store, on SQLite and on PostgreSQL (the server at
//! HERKEN_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; each test makes
//! and drops a database of its own).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use herken::domain::{Label, Message};
use herken::engine::Engine;
use herken::pb;
use herken::pb::classifier_client::ClassifierClient;
use herken::repeat::signature::Signature;
use herken::repeat::{EntryKind, HistoryEntry, HistoryStore, RepeatOptions};
use herken::store::{Location, Store};

use crate::support::{channel, config, recognizer_arc, shared, PgDatabase, TestServer};

fn t(day: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::days(day)
}

fn entry(id: &str, sender: &str, day: i64, text: &str) -> HistoryEntry {
    HistoryEntry {
        message_id: id.into(),
        sender_key: sender.into(),
        received_at: t(day),
        label: Label::Melding,
        kind: EntryKind::Report,
        signature: Signature::of(text),
    }
}

async fn history_contract(store: &Store) {
    let lamp = "De lantaarnpaal in de Merelstraat is kapot.";
    assert!(store.record(&entry("a", "s1", 0, lamp)).await.unwrap());
    assert!(
        !store.record(&entry("a", "s1", 0, lamp)).await.unwrap(),
        "recording is idempotent"
    );
    store.record(&entry("b", "s1", 10, lamp)).await.unwrap();
    store.record(&entry("c", "s2", 11, lamp)).await.unwrap();
    store.record(&entry("d", "s1", 400, lamp)).await.unwrap();

    let got = store.get("a").await.unwrap().unwrap();
    assert_eq!(got, entry("a", "s1", 0, lamp));
    assert!(store.get("zz").await.unwrap().is_none());

    let ids = |v: Vec<HistoryEntry>| v.into_iter().map(|e| e.message_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.by_sender("s1", t(0), t(11)).await.unwrap()),
        ["a", "b"]
    );
    assert_eq!(
        ids(store.by_sender("s1", t(1), t(11)).await.unwrap()),
        ["b"]
    );
    assert_eq!(
        ids(store
            .near(&["merelstraat".into()], "s1", t(0), t(20))
            .await
            .unwrap()),
        ["c"]
    );
    assert!(store
        .near(&["kerkstraat".into()], "s1", t(0), t(20))
        .await
        .unwrap()
        .is_empty());

    assert_eq!(store.purge(t(100)).await.unwrap(), 3);
    assert_eq!(
        ids(store.by_sender("s1", t(0), t(1000)).await.unwrap()),
        ["d"]
    );
    assert!(store
        .near(&["merelstraat".into()], "s9", t(0), t(20))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn history_store_contract_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Location::SqliteFile(dir.path().join("h.sqlite")))
        .await
        .unwrap();
    history_contract(&store).await;
}

#[tokio::test]
async fn history_store_contract_on_postgres() {
    let db = PgDatabase::create().await;
    let store = Store::open(&Location::Postgres(db.url.clone()))
        .await
        .unwrap();
    history_contract(&store).await;
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn migrations_run_once_and_reopen_cleanly_on_both() {
    let dir = tempfile::tempdir().unwrap();
    let loc = Location::SqliteFile(dir.path().join("m.sqlite"));
    Store::open(&loc).await.unwrap().close().await;
    Store::open(&loc).await.unwrap().close().await;
    let db = PgDatabase::create().await;
    let loc = Location::Postgres(db.url.clone());
    let (a, b) = tokio::join!(Store::open(&loc), Store::open(&loc));
    a.unwrap().close().await;
    b.unwrap().close().await;
    db.drop().await;
}

#[tokio::test]
async fn a_store_that_is_down_is_a_clear_error() {
    let err = Store::open(&Location::Postgres(
        "postgres://nobody@127.0.0.1:1/none".into(),
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("PostgreSQL 127.0.0.1:1/none"), "{err}");
    assert!(!err.contains("nobody"), "no credentials in errors: {err}");
}

/// Run ../shared/eval/dev_sequences.jsonl through an engine on `store`; (tp, fp, fn).
async fn sequences(store: Store) -> (usize, usize, usize, Vec<String>) {
    let engine = Engine::new(
        recognizer_arc(),
        Arc::new(store),
        b"test-secret-test-secret".to_vec(),
        RepeatOptions::default(),
    );
    let text = std::fs::read_to_string(shared().join("eval").join("dev_sequences.jsonl")).unwrap();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    let mut misses = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for (i, m) in v["messages"].as_array().unwrap().iter().enumerate() {
            let mut msg = Message::new(m["text"].as_str().unwrap());
            msg.id = format!("{}#{}", v["id"].as_str().unwrap(), i + 1);
            msg.sender = m["sender"].as_str().unwrap().into();
            msg.received_at = DateTime::parse_from_rfc3339(m["received"].as_str().unwrap())
                .unwrap()
                .with_timezone(&Utc);
            let o = engine.classify(msg.clone()).await.unwrap();
            let want = m["expect_repeat"].as_bool().unwrap();
            match (o.repeat.is_repeat, want) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                _ => {}
            }
            if o.repeat.is_repeat != want {
                misses.push(format!(
                    "{}: is_repeat {} ({})",
                    msg.id, o.repeat.is_repeat, o.repeat.reason
                ));
            }
        }
    }
    (tp, fp, fn_, misses)
}

#[tokio::test]
async fn every_expected_repeat_in_dev_sequences_is_flagged_and_no_control_on_sqlite() {
    let store = Store::open(&Location::SqliteMemory).await.unwrap();
    let (tp, fp, fn_, misses) = sequences(store).await;
    assert!(tp > 0);
    assert_eq!((fp, fn_), (0, 0), "{misses:#?}");
}

#[tokio::test]
async fn every_expected_repeat_in_dev_sequences_is_flagged_and_no_control_on_postgres() {
    let db = PgDatabase::create().await;
    let store = Store::open(&Location::Postgres(db.url.clone()))
        .await
        .unwrap();
    let (tp, fp, fn_, misses) = sequences(store.clone()).await;
    store.close().await;
    db.drop().await;
    assert!(tp > 0);
    assert_eq!((fp, fn_), (0, 0), "{misses:#?}");
}

fn req(id: &str, sender: &str, at: DateTime<Utc>, text: &str) -> pb::ClassifyRequest {
    pb::ClassifyRequest {
        message: Some(pb::Message {
            message_id: id.into(),
            text: text.into(),
            sender: sender.into(),
            channel: pb::Channel::Webformulier as i32,
            received_at: Some(prost_types::Timestamp {
                seconds: at.timestamp(),
                nanos: 0,
            }),
            ..Default::default()
        }),
        route: false,
    }
}

async fn restart_keeps_memory(cfg: herken::config::Config) {
    let first =
        "De lantaarnpaal voor Merelstraat 22 brandt al dagen niet, het is er 's avonds donker.";
    let second = "Het licht bij Merelstraat 22 is nog altijd uit. Wanneer komt er iemand?";
    let server = TestServer::start(cfg.clone()).await;
    let mut client = ClassifierClient::new(channel(&server.url()).await);
    let r = client
        .classify(req("r1", "Buurman@Example.nl", t(0), first))
        .await
        .unwrap()
        .into_inner();
    assert!(!r.repeat.unwrap().is_repeat);
    server.stop().await;

    let server = TestServer::start(cfg).await;
    let mut client = ClassifierClient::new(channel(&server.url()).await);
    let r = client
        .classify(req("r2", "buurman+meldingen@example.nl", t(14), second))
        .await
        .unwrap()
        .into_inner();
    let rep = r.repeat.unwrap();
    assert!(rep.is_repeat, "{}", r.explanation);
    assert_eq!(rep.previous_message_ids, ["r1"]);
    assert_eq!(
        r.label,
        pb::Label::Klacht as i32,
        "a repeated melding is a klacht"
    );
    assert!(
        r.explanation.contains("herhaalde melding"),
        "{}",
        r.explanation
    );
    // Another sender about the same lamp: no repeat, but a hotspot count.
    let r = client
        .classify(req("r3", "06-11112222", t(15), first))
        .await
        .unwrap()
        .into_inner();
    let rep = r.repeat.unwrap();
    assert!(!rep.is_repeat);
    assert_eq!(rep.similar_reports, 1);
    server.stop().await;
}

#[tokio::test]
async fn a_server_restart_between_two_messages_still_finds_the_repeat_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.store = Location::SqliteFile(dir.path().join("herken.sqlite"));
    cfg.secret_file = dir.path().join("sender.key");
    restart_keeps_memory(cfg).await;
    // Only hashes are stored: the sender's address is nowhere in the database file.
    let bytes = std::fs::read(dir.path().join("herken.sqlite")).unwrap();
    let hay = String::from_utf8_lossy(&bytes).to_lowercase();
    assert!(!hay.contains("buurman"), "sender stored in clear");
    assert!(!hay.contains("lantaarnpaal"), "text stored");
}

#[tokio::test]
async fn a_server_restart_between_two_messages_still_finds_the_repeat_on_postgres() {
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.store = Location::Postgres(db.url.clone());
    cfg.secret_file = dir.path().join("sender.key");
    restart_keeps_memory(cfg).await;
    db.drop().await;
}

#[tokio::test]
async fn the_same_submission_twice_within_minutes_is_a_duplicate() {
    let engine = Engine::in_memory(recognizer_arc(), &config())
        .await
        .unwrap();
    let text = "Bij de glasbakken aan de Stationsweg zijn een bank en een kast gedumpt.";
    let mut m = Message::new(text);
    m.sender = "a@example.nl".into();
    m.received_at = t(0);
    let first_id = m.id.clone();
    engine.classify(m.clone()).await.unwrap();
    let mut again = m.clone();
    again.id = "again".into();
    again.received_at = t(0) + Duration::minutes(2);
    let o = engine.classify(again).await.unwrap();
    assert!(!o.repeat.is_repeat);
    assert_eq!(o.duplicate_of.as_deref(), Some(first_id.as_str()));
    assert_eq!(o.label, Label::Melding);
}

#[tokio::test]
async fn a_message_without_sender_is_judged_on_its_text_alone() {
    let engine = Engine::in_memory(recognizer_arc(), &config())
        .await
        .unwrap();
    let o = engine
        .classify(Message::new("De lantaarnpaal in de Kerkstraat is kapot."))
        .await
        .unwrap();
    assert!(!o.repeat.is_repeat);
    let o = engine
        .classify(Message::new("De lantaarnpaal in de Kerkstraat is kapot."))
        .await
        .unwrap();
    assert!(!o.repeat.is_repeat && o.duplicate_of.is_none());
}

/// A few messages with a name, a sender, house numbers, a postcode, a phone number and a case
/// number through an engine on `store`; then every history column, read raw from the
/// database, must hold none of them — nor any run of the text's words.
async fn history_holds_no_text_sender_or_house_number(
    store: Store,
    dump: impl std::future::Future<Output = Vec<String>>,
) {
    let engine = Engine::new(
        recognizer_arc(),
        Arc::new(store),
        b"test-secret-test-secret".to_vec(),
        RepeatOptions::default(),
    );
    let texts = [
        "Beste gemeente, de lantaarnpaal voor Merelstraat 22 brandt niet. Groet, Johanna Visser, 06-12345678, 3824 KT",
        "Nog steeds donker bij Merelstraat 22, naast basisschool De Regenboog. Mijn aanvraag met kenmerk 2026-0412 ligt er ook nog.",
    ];
    for (i, text) in texts.iter().enumerate() {
        let mut m = Message::new(*text);
        m.id = format!("privacy-{i}");
        m.sender = "johanna.visser@example.nl".into();
        m.received_at = t(i as i64 * 20);
        engine.classify(m).await.unwrap();
    }
    let rows = dump.await;
    assert!(rows.len() >= 2, "{rows:?}");
    let all = rows.join("\n").to_lowercase();
    for secret in [
        "johanna",
        "visser",
        "example",
        "brandt",
        "donker",
        "lantaarnpaal",
        "beste gemeente",
        "kenmerk",
    ] {
        assert!(!all.contains(secret), "the history holds {secret:?}: {all}");
    }
    // Numbers: outside the hashes (sender key, MinHash minima, sketch bits, keyed case
    // references) no house number, postcode, phone or case number.
    let mut readable = String::new();
    for row in &rows {
        match serde_json::from_str::<serde_json::Value>(row) {
            Ok(mut sig) => {
                let keyed = sig["cases"].as_array().cloned().unwrap_or_default();
                assert!(
                    keyed
                        .iter()
                        .all(|c| c.as_str().is_some_and(|c| c.starts_with("k:"))),
                    "{sig}"
                );
                for hashed in ["sketch", "semantic", "cases"] {
                    sig.as_object_mut().unwrap().remove(hashed);
                }
                readable.push_str(&sig.to_string());
            }
            Err(_) => readable.push_str(row),
        }
        readable.push('\n');
    }
    for number in ["22", "3824", "12345678", "0412"] {
        assert!(
            !readable.contains(number),
            "the history holds {number:?}: {readable}"
        );
    }
    // What it does hold: the place without number, the landmark, the problem.
    assert!(
        all.contains("merelstraat") && all.contains("lm:basisschool de regenboog"),
        "{all}"
    );
    assert!(all.contains("\"uit\""), "{all}");
}

#[tokio::test]
async fn the_history_holds_no_text_sender_or_house_number_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.sqlite");
    let store = Store::open(&Location::SqliteFile(file.clone()))
        .await
        .unwrap();
    let dump = async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let mut out: Vec<String> = Vec::new();
        for row in sqlx::query_as::<_, (String, String, String, String, String)>(
            "SELECT message_id, sender_key, label, kind, signature FROM history",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
        {
            assert_ne!(row.1, "johanna.visser@example.nl");
            out.push(format!("{} {}", row.2, row.3));
            out.push(row.4);
        }
        for (loc,) in sqlx::query_as::<_, (String,)>("SELECT location FROM history_location")
            .fetch_all(&pool)
            .await
            .unwrap()
        {
            out.push(loc);
        }
        out
    };
    history_holds_no_text_sender_or_house_number(store, dump).await;
}

#[tokio::test]
async fn the_history_holds_no_text_sender_or_house_number_on_postgres() {
    let db = PgDatabase::create().await;
    let store = Store::open(&Location::Postgres(db.url.clone()))
        .await
        .unwrap();
    let url = db.url.clone();
    let dump = async move {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let mut out: Vec<String> = Vec::new();
        for row in sqlx::query_as::<_, (String, String, String, String)>(
            "SELECT sender_key, label, kind, signature FROM history",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
        {
            assert_ne!(row.0, "johanna.visser@example.nl");
            out.push(format!("{} {}", row.1, row.2));
            out.push(row.3);
        }
        for (loc,) in sqlx::query_as::<_, (String,)>("SELECT location FROM history_location")
            .fetch_all(&pool)
            .await
            .unwrap()
        {
            out.push(loc);
        }
        pool.close().await;
        out
    };
    history_holds_no_text_sender_or_house_number(store.clone(), dump).await;
    store.close().await;
    db.drop().await;
}

async fn say(
    engine: &Engine,
    id: &str,
    sender: &str,
    at: DateTime<Utc>,
    text: &str,
) -> herken::domain::Outcome {
    let mut m = Message::new(text);
    m.id = id.into();
    m.sender = sender.into();
    m.received_at = at;
    engine.classify(m).await.unwrap()
}

#[tokio::test]
async fn the_same_issue_again_in_other_words_within_minutes_is_a_duplicate() {
    let engine = Engine::in_memory(recognizer_arc(), &config())
        .await
        .unwrap();
    let s = "p.dekker@example.nl";
    say(
        &engine,
        "d1",
        s,
        t(0),
        "Bij de glasbak aan de Stationsweg zijn vuilniszakken gedumpt.",
    )
    .await;
    let o = say(
        &engine,
        "d2",
        s,
        t(0) + Duration::minutes(4),
        "Het formulier gaf een fout, dus nog een keer: naast de glasbakken op de Stationsweg liggen zakken afval.",
    )
    .await;
    assert_eq!(o.duplicate_of.as_deref(), Some("d1"), "{o:?}");
    assert!(!o.repeat.is_repeat);
}

#[tokio::test]
async fn a_status_question_is_a_repeat_after_the_term_and_not_before() {
    let engine = Engine::in_memory(recognizer_arc(), &config())
        .await
        .unwrap();
    let s = "Kees de Wit, 3824 KT";
    say(
        &engine,
        "r1",
        s,
        t(0),
        "Hierbij vraag ik een parkeervergunning aan voor mijn tweede auto.",
    )
    .await;
    let early = say(
        &engine,
        "r2",
        s,
        t(10),
        "Hoe staat het met mijn aanvraag voor de parkeervergunning?",
    )
    .await;
    assert!(!early.repeat.is_repeat, "{early:?}");
    let late = say(
        &engine,
        "r3",
        s,
        t(45),
        "Ik heb nog steeds niets gehoord over mijn parkeervergunning. Waar blijft het?",
    )
    .await;
    assert!(late.repeat.is_repeat, "{late:?}");
    assert_eq!(late.label, Label::Klacht);
    assert!(
        late.repeat.reason.contains("termijn"),
        "{}",
        late.repeat.reason
    );
}
