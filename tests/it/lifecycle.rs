//! The data lifecycle and honest writes: a reused message_id, cancellation in the middle of a
//! transaction, erasure by sender and by message, retention of every table, the audit log,
//! and the sender-key secret.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use chrono::{DateTime, Duration, Utc};
use herken::config::Retention;
use herken::domain::{Label, Message};
use herken::engine::Engine;
use herken::intake::{Intake, QueueStore};
use herken::pb;
use herken::pb::classifier_client::ClassifierClient;
use herken::pb::intake_client::IntakeClient;
use herken::route::Router;
use herken::store::{Erase, Location, Store};
use tonic::Code;

use crate::support::{channel, config, recognizer, recognizer_arc, PgDatabase, TestServer};

fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minutes)
}

fn routed(id: &str, text: &str, sender: &str) -> pb::ClassifyRequest {
    pb::ClassifyRequest {
        message: Some(pb::Message {
            message_id: id.into(),
            text: text.into(),
            sender: sender.into(),
            ..Default::default()
        }),
        route: true,
    }
}

const LAMP: &str = "De lantaarnpaal in de Kerkstraat 4 is kapot.";
const BEZWAAR: &str = "Hierbij maak ik bezwaar tegen de WOZ-beschikking met kenmerk 2026-001.";

/// Issue 11: a bezwaar sent under a melding's message_id answered `routed = true` and was
/// lost. Now it is ALREADY_EXISTS, and the same content again stays idempotent.
#[tokio::test]
async fn a_reused_message_id_with_other_content_is_already_exists() {
    let server = TestServer::start(config()).await;
    let ch = channel(&server.url()).await;
    let mut c = ClassifierClient::new(ch.clone());
    let first = c
        .classify(routed("m1", LAMP, ""))
        .await
        .unwrap()
        .into_inner();
    assert!(first.routed);
    let again = c
        .classify(routed("m1", LAMP, ""))
        .await
        .unwrap()
        .into_inner();
    assert!(again.routed);
    let e = c.classify(routed("m1", BEZWAAR, "")).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");
    assert!(e.message().contains("m1"), "{}", e.message());
    let queues = IntakeClient::new(ch)
        .list_queues(pb::ListQueuesRequest {})
        .await
        .unwrap()
        .into_inner()
        .queues;
    let depth: u32 = queues.iter().map(|q| q.depth).sum();
    assert_eq!(depth, 1);
    assert_eq!(
        queues.iter().find(|q| q.name == "bezwaar").unwrap().depth,
        0,
        "no bezwaar queue pretends to hold it"
    );
    server.stop().await;
}

/// Poll `fut` `polls` times, letting other work run between polls, then drop it: a call
/// cancelled somewhere in the middle.
async fn cancel_after<F: Future>(fut: F, polls: usize) {
    let mut fut = std::pin::pin!(fut);
    for _ in 0..polls {
        let done = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await;
        if done {
            return;
        }
        tokio::task::yield_now().await;
    }
}

async fn cancellation_contract(store: Store) {
    let intake = Intake::new(Arc::new(store.clone()), Router::builtin());
    for i in 0..6 {
        let mut m = Message::new(LAMP);
        m.id = format!("c{i}");
        m.received_at = t(0);
        let o = recognizer().classify(&m).unwrap();
        intake.enqueue(&m, &o, t(i)).await.unwrap();
    }
    for k in 0..48usize {
        // Each round at a time when every earlier lease has run out.
        let now = t(100 * (k as i64 + 1));
        cancel_after(intake.pull("meldingen", 3, 60, now, "clerk"), k).await;
        let leased = intake
            .list(now)
            .await
            .unwrap()
            .into_iter()
            .find(|(s, _)| s.name == "meldingen")
            .map_or(0, |(s, _)| s.leased);
        assert!(
            leased == 0 || leased == 3,
            "round {k}: {leased} leased: a pull half done"
        );

        let label = if k % 2 == 0 {
            Label::Klacht
        } else {
            Label::Melding
        };
        cancel_after(intake.correct("c5", label, "j.smit", "", now), k).await;
        // One snapshot: a COMMIT already sent when the call was dropped may land now or a
        // moment later, but a correction is never seen without its audit entry.
        let c = store.counts().await.unwrap();
        assert_eq!(c.corrections, c.audit, "round {k}: a correction half done");
        // The store takes writes again at once: no transaction was left open.
        let mut m = Message::new(LAMP);
        m.id = format!("after{k}");
        let o = recognizer().classify(&m).unwrap();
        intake.enqueue(&m, &o, now).await.unwrap();
    }
    let snapshot = store.snapshot().await.unwrap();
    assert_eq!(snapshot.len(), 6 + 48, "the queue is intact");
    let all = intake
        .pull("meldingen", 100, 60, t(1_000_000), "clerk")
        .await
        .unwrap();
    assert!(!all.is_empty());
}

#[tokio::test]
async fn cancelled_pull_and_correct_roll_back_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Location::SqliteFile(dir.path().join("q.sqlite")))
        .await
        .unwrap();
    cancellation_contract(store.clone()).await;
    store.close().await;
}

#[tokio::test]
async fn cancelled_pull_and_correct_roll_back_on_postgres() {
    let db = PgDatabase::create().await;
    let store = Store::open(&Location::Postgres(db.url.clone()))
        .await
        .unwrap();
    cancellation_contract(store.clone()).await;
    store.close().await;
    db.drop().await;
}

async fn engine_over(store: &Store, secret: Vec<u8>) -> (Engine, Intake) {
    let intake = Intake::new(Arc::new(store.clone()), Router::builtin());
    let c = config();
    let engine = Engine::new(
        recognizer_arc(),
        Arc::new(store.clone()),
        secret,
        c.repeat.clone(),
    )
    .with_intake(intake.clone());
    (engine, intake)
}

fn from(id: &str, sender: &str, text: &str, at: DateTime<Utc>) -> Message {
    let mut m = Message::new(text);
    m.id = id.into();
    m.sender = sender.into();
    m.received_at = at;
    m
}

async fn erasure_contract(store: Store) {
    let secret = vec![7u8; 32];
    let (engine, intake) = engine_over(&store, secret.clone()).await;
    let now = Utc::now();
    for (id, sender) in [
        ("p1", "Piet.de.Boer@Example.nl"),
        ("p2", "piet.de.boer+gemeente@example.nl"),
        ("k1", "06-12345678"),
    ] {
        engine
            .classify_and_route(from(id, sender, LAMP, now), true)
            .await
            .unwrap();
    }
    intake
        .correct("p1", Label::Klacht, "j.smit", "belt vaak", now)
        .await
        .unwrap();
    let erased = store
        .erase(
            &Erase::Sender("piet.de.boer@example.nl".into()),
            &secret,
            "test",
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        (erased.history, erased.queue_items, erased.corrections),
        (2, 2, 1)
    );
    assert_eq!(erased.message_ids, ["p1", "p2"]);
    let c = store.counts().await.unwrap();
    assert_eq!(
        (c.history, c.queue_items, c.corrections),
        (1, 1, 0),
        "the other sender stays"
    );
    let erased = store
        .erase(&Erase::MessageId("k1".into()), &secret, "test", now)
        .await
        .unwrap();
    assert_eq!((erased.history, erased.queue_items), (1, 1));
    let c = store.counts().await.unwrap();
    assert_eq!((c.history, c.queue_items, c.corrections), (0, 0, 0));
    let audit = store.audit_log(DateTime::UNIX_EPOCH).await.unwrap();
    let erasures: Vec<_> = audit.iter().filter(|a| a.action == "erase").collect();
    assert_eq!(erasures.len(), 2);
    let by_sender = erasures
        .iter()
        .find(|a| a.detail.starts_with("by sender"))
        .unwrap();
    assert_eq!(
        by_sender.message_id, "",
        "an erasure by sender names no sender"
    );
    assert!(erasures.iter().any(|a| a.message_id == "k1"));
    assert!(audit
        .iter()
        .all(|a| !a.detail.to_lowercase().contains("piet") && !a.detail.contains("belt")));
    assert!(store
        .erase(&Erase::Sender("  ".into()), &secret, "test", now)
        .await
        .is_err());
}

#[tokio::test]
async fn purge_erases_a_sender_everywhere_on_sqlite() {
    let store = Store::open(&Location::SqliteMemory).await.unwrap();
    erasure_contract(store).await;
}

#[tokio::test]
async fn purge_erases_a_sender_everywhere_on_postgres() {
    let db = PgDatabase::create().await;
    let store = Store::open(&Location::Postgres(db.url.clone()))
        .await
        .unwrap();
    erasure_contract(store.clone()).await;
    store.close().await;
    db.drop().await;
}

async fn retention_contract(store: Store) {
    let (engine, intake) = engine_over(&store, vec![1u8; 32]).await;
    let now = Utc::now();
    let old = now - Duration::days(500);
    let retention = Retention {
        history: Duration::days(396),
        waiting: Duration::days(396),
        audit: Duration::days(400),
    };
    // Old: history, a waiting item, an acked item, a correction (and its audit entry).
    for id in ["o1", "o2", "o3"] {
        let m = from(id, "piet@example.nl", LAMP, old);
        let (o, _) = engine.classify_and_route(m.clone(), false).await.unwrap();
        intake.enqueue(&m, &o, old).await.unwrap();
    }
    let pulled = intake.pull("meldingen", 1, 60, old, "clerk").await.unwrap();
    intake
        .ack(&[pulled[0].item_id.clone()], old, "clerk")
        .await
        .unwrap();
    intake
        .correct("o2", Label::Klacht, "j.smit", "", old)
        .await
        .unwrap();
    // Recent: one of each kind that must stay.
    let m = from("n1", "piet@example.nl", LAMP, now);
    engine.classify_and_route(m, true).await.unwrap();
    intake
        .correct("n1", Label::Klacht, "j.smit", "", now)
        .await
        .unwrap();

    let expired = store.expire(&retention, now).await.unwrap();
    assert_eq!(expired.history, 3);
    assert_eq!(expired.acked_items, 1);
    assert_eq!(
        expired.waiting_items, 2,
        "queued and dead-lettered items go too"
    );
    assert_eq!(expired.corrections, 1);
    assert_eq!(expired.audit, 1, "the old correction's audit entry");
    let c = store.counts().await.unwrap();
    assert_eq!((c.history, c.queue_items, c.corrections), (1, 1, 1));
    let audit = store.audit_log(DateTime::UNIX_EPOCH).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "retention" && a.detail.contains("3 history rows")));
    assert!(store.expire(&retention, now).await.unwrap().is_empty());
}

#[tokio::test]
async fn retention_covers_every_table_on_sqlite() {
    let store = Store::open(&Location::SqliteMemory).await.unwrap();
    retention_contract(store).await;
}

#[tokio::test]
async fn retention_covers_every_table_on_postgres() {
    let db = PgDatabase::create().await;
    let store = Store::open(&Location::Postgres(db.url.clone()))
        .await
        .unwrap();
    retention_contract(store.clone()).await;
    store.close().await;
    db.drop().await;
}

/// The CLI erases from the configured store and says what it erased; a server whose store
/// has history refuses to start without its secret.
#[tokio::test]
async fn herken_purge_and_the_missing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.store = Location::SqliteFile(dir.path().join("herken.sqlite"));
    cfg.secret_file = dir.path().join("sender.key");
    let server = TestServer::start(cfg.clone()).await;
    let mut c = ClassifierClient::new(channel(&server.url()).await);
    c.classify(routed("m1", LAMP, "piet@example.nl"))
        .await
        .unwrap();
    c.classify(routed("m2", LAMP, "Piet@Example.NL"))
        .await
        .unwrap();
    server.stop().await;

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_herken"))
        .args(["purge", "--sender", "PIET@example.nl"])
        .env("HERKEN_DATA_DIR", dir.path())
        .env_remove("HERKEN_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("history rows: 2"), "{stdout}");
    assert!(stdout.contains("queue items: 2"), "{stdout}");
    assert!(stdout.contains("messages: m1 m2"), "{stdout}");

    let server = TestServer::start(cfg.clone()).await;
    let mut c = ClassifierClient::new(channel(&server.url()).await);
    c.classify(routed("m3", LAMP, "jan@example.nl"))
        .await
        .unwrap();
    server.stop().await;
    std::fs::remove_file(&cfg.secret_file).unwrap();
    let e = TestServer::start(cfg.clone())
        .await
        .outcome()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sender-key secret") && e.contains("missing"),
        "{e}"
    );
    assert!(
        !cfg.secret_file.exists(),
        "no new secret was made in its place"
    );
}
