//! The intake queues: the store contract on SQLite and PostgreSQL, the Intake gRPC service,
//! a SIGKILL in the middle of routed classifications, and two servers pulling concurrently
//! from one PostgreSQL database.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use herken::domain::{Label, Message};
use herken::intake::{Intake, QueueStore};
use herken::pb;
use herken::pb::classifier_client::ClassifierClient;
use herken::pb::intake_client::IntakeClient;
use herken::route::Router;
use herken::store::{Location, Store};

use crate::support::{channel, config, recognizer, root, PgDatabase, TestServer};

fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minutes)
}

fn routed(id: &str, text: &str) -> (Message, herken::recognizer::Outcome) {
    let mut m = Message::new(text);
    m.id = id.into();
    m.received_at = t(0);
    let o = recognizer().classify(&m).unwrap();
    (m, o)
}

async fn queue_contract(store: Store) {
    let intake = Intake::new(Arc::new(store.clone()), Router::builtin());
    let lamp = "De lantaarnpaal in de Kerkstraat 4 is kapot.";
    for i in 0..4 {
        let (m, o) = routed(&format!("m{i}"), lamp);
        assert_eq!(o.queue, "meldingen");
        intake.enqueue(&m, &o, t(i)).await.unwrap();
    }
    // Routing the same message again changes nothing.
    let (m, o) = routed("m0", lamp);
    intake.enqueue(&m, &o, t(9)).await.unwrap();
    assert_eq!(store.snapshot().await.unwrap().len(), 4);

    // Two pullers never get the same item; oldest first.
    let a = intake.pull("meldingen", 2, 60, t(10), "").await.unwrap();
    let b = intake.pull("meldingen", 10, 60, t(10), "").await.unwrap();
    let ids =
        |v: &[herken::intake::Item]| v.iter().map(|i| i.message.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ["m0", "m1"]);
    assert_eq!(ids(&b), ["m2", "m3"]);
    assert!(a
        .iter()
        .all(|i| i.deliveries == 1 && i.classification.label == Label::Melding));
    assert!(intake
        .pull("meldingen", 10, 60, t(10), "")
        .await
        .unwrap()
        .is_empty());

    // Lists: depth, leased, past due.
    let list = intake.list(t(10)).await.unwrap();
    let meld = list.iter().find(|(s, _)| s.name == "meldingen").unwrap();
    assert_eq!((meld.0.depth, meld.0.leased), (4, 4));
    assert!(
        list.iter()
            .any(|(s, _)| s.name == "klachten" && s.depth == 0),
        "empty declared queues are listed"
    );
    let late = intake.list(t(60 * 24 * 30)).await.unwrap();
    assert_eq!(
        late.iter()
            .find(|(s, _)| s.name == "meldingen")
            .unwrap()
            .0
            .past_due,
        4
    );

    // A lease runs out: the item comes back, with its deliveries counted.
    let again = intake
        .pull("meldingen", 1, 60, t(10) + Duration::seconds(61), "")
        .await
        .unwrap();
    assert_eq!(ids(&again), ["m0"]);
    assert_eq!(again[0].deliveries, 2);

    // Release gives it back now; ack takes it away for good.
    let m1 = a[1].item_id.clone();
    assert_eq!(
        intake
            .release(std::slice::from_ref(&m1), "")
            .await
            .unwrap()
            .done,
        1
    );
    let back = intake.pull("meldingen", 1, 60, t(12), "").await.unwrap();
    assert_eq!(back[0].item_id, m1);
    let s = intake
        .ack(&[m1.clone(), "no-such-item".into()], t(13), "")
        .await
        .unwrap();
    assert_eq!(
        (s.done, s.unknown.clone()),
        (1, vec!["no-such-item".to_string()])
    );
    assert_eq!(
        intake
            .ack(std::slice::from_ref(&m1), t(14), "")
            .await
            .unwrap()
            .unknown,
        std::slice::from_ref(&m1)
    );
    assert!(
        intake
            .pull("meldingen", 10, 60, t(60 * 24 * 400), "")
            .await
            .unwrap()
            .iter()
            .all(|i| i.item_id != m1),
        "an acked item never comes back"
    );

    // Correction: recorded, and the queued item moves.
    let c = intake
        .correct("m2", Label::Klacht, "j.smit", "herhaalde melding", t(20))
        .await
        .unwrap();
    assert_eq!(
        (c.from_label, c.to_label, c.to_queue.as_str()),
        (Label::Melding, Label::Klacht, "klachten")
    );
    let k = intake.pull("klachten", 10, 60, t(21), "").await.unwrap();
    assert_eq!(ids(&k), ["m2"]);
    assert_eq!(k[0].classification.label, Label::Klacht);
    let exported = store.corrections(t(0)).await.unwrap();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0].1.as_ref().unwrap().text, lamp);
    let e = intake
        .correct("never-routed", Label::Klacht, "j.smit", "", t(22))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("never-routed"), "{e}");

    // Validation names the field.
    let e = intake
        .pull("nergens", 1, 60, t(30), "")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("nergens") && e.contains("meldingen"), "{e}");
    assert!(intake
        .pull("meldingen", 100_000, 60, t(30), "")
        .await
        .unwrap_err()
        .to_string()
        .contains("max_items"));
    assert!(intake
        .ack(&[], t(30), "")
        .await
        .unwrap_err()
        .to_string()
        .contains("item_ids"));
}

async fn dead_letter_contract(store: Store) {
    let intake = Intake::new(Arc::new(store.clone()), Router::builtin());
    let (m, o) = routed(
        "poison",
        "Er ligt grofvuil bij de container aan de Dorpsstraat.",
    );
    intake.enqueue(&m, &o, t(0)).await.unwrap();
    let max = Router::builtin().max_deliveries as i64;
    for n in 0..max {
        let got = intake
            .pull("meldingen", 1, 60, t(n * 10), "")
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "delivery {}", n + 1);
    }
    assert!(intake
        .pull("meldingen", 1, 60, t(max * 10), "")
        .await
        .unwrap()
        .is_empty());
    let dead = intake
        .pull("dead-letter", 1, 60, t(max * 10 + 1), "")
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message.id, "poison");
}

#[tokio::test]
async fn queue_contract_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    queue_contract(
        Store::open(&Location::SqliteFile(dir.path().join("q.sqlite")))
            .await
            .unwrap(),
    )
    .await;
    dead_letter_contract(
        Store::open(&Location::SqliteFile(dir.path().join("d.sqlite")))
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn queue_contract_on_postgres() {
    let db = PgDatabase::create().await;
    let store = Store::open(&Location::Postgres(db.url.clone()))
        .await
        .unwrap();
    queue_contract(store.clone()).await;
    store.close().await;
    db.drop().await;
    let db = PgDatabase::create().await;
    let store = Store::open(&Location::Postgres(db.url.clone()))
        .await
        .unwrap();
    dead_letter_contract(store.clone()).await;
    store.close().await;
    db.drop().await;
}

fn classify_req(id: &str, text: &str, route: bool) -> pb::ClassifyRequest {
    pb::ClassifyRequest {
        message: Some(pb::Message {
            message_id: id.into(),
            text: text.into(),
            channel: pb::Channel::Webformulier as i32,
            ..Default::default()
        }),
        route,
    }
}

const TEXTS: [(&str, &str); 5] = [
    ("Ik ben al zes weken niet teruggebeld over mijn aanvraag, heel teleurstellend.", "klachten"),
    ("De lantaarnpaal voor Eikenlaan 3 is kapot.", "meldingen"),
    ("Hierbij maak ik bezwaar tegen de WOZ-beschikking met kenmerk 2026-4411; de waarde is te hoog.", "bezwaar"),
    ("Geachte leden van de gemeenteraad, wij verzoeken u de verordening op de hondenbelasting te wijzigen.", "griffie"),
    ("Wat zijn de openingstijden van het stadskantoor op zaterdag?", "kcc"),
];

#[tokio::test]
async fn each_label_is_routed_to_its_desk_once_with_a_deadline() {
    let server = TestServer::start(config()).await;
    let ch = channel(&server.url()).await;
    let mut c = ClassifierClient::new(ch.clone());
    let mut i = IntakeClient::new(ch);
    for (n, (text, queue)) in TEXTS.iter().enumerate() {
        let r = c
            .classify(classify_req(&format!("x{n}"), text, true))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(&r.queue, queue, "{text}");
        assert!(r.routed);
        let due = r.due_at.unwrap();
        assert!(due.seconds > chrono::Utc::now().timestamp());
        // Twice with the same id: still once in the queue.
        let again = c
            .classify(classify_req(&format!("x{n}"), text, true))
            .await
            .unwrap()
            .into_inner();
        assert!(again.routed);
    }
    // Not routed: would-be queue, nothing queued.
    let r = c
        .classify(classify_req("not-routed", TEXTS[1].0, false))
        .await
        .unwrap()
        .into_inner();
    assert!(!r.routed && r.queue == "meldingen");

    let list = i
        .list_queues(pb::ListQueuesRequest {})
        .await
        .unwrap()
        .into_inner();
    let depth: BTreeMap<_, _> = list
        .queues
        .iter()
        .map(|q| (q.name.clone(), q.depth))
        .collect();
    for (_, queue) in TEXTS {
        assert_eq!(depth[queue], 1, "{queue}: {depth:?}");
    }
    let klacht = i
        .pull(pb::PullRequest {
            queue: "klachten".into(),
            max_items: 5,
            lease_seconds: 60,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(klacht.items.len(), 1);
    let item = &klacht.items[0];
    let due =
        item.due_at.unwrap().seconds - item.message.as_ref().unwrap().received_at.unwrap().seconds;
    assert_eq!(due, 42 * 86_400, "a klacht is due six weeks after receipt");
    assert_eq!(item.deliveries, 1);
    assert!(item.classification.as_ref().unwrap().explanation.len() > 10);

    // A correction moves the kcc item to klachten.
    let r = i
        .correct(pb::CorrectRequest {
            message_id: "x4".into(),
            label: pb::Label::Klacht as i32,
            corrected_by: "m.jansen".into(),
            note: "toon".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (r.previous_queue.as_str(), r.queue.as_str()),
        ("kcc", "klachten")
    );
    let e = i
        .correct(pb::CorrectRequest {
            message_id: "x4".into(),
            label: 9,
            corrected_by: "m".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    let e = i
        .correct(pb::CorrectRequest {
            message_id: "nope".into(),
            label: 1,
            corrected_by: "m".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
    let acked = i
        .ack(pb::AckRequest {
            item_ids: vec![item.item_id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(acked.acked, 1);
    let e = i
        .pull(pb::PullRequest {
            queue: "x".into(),
            max_items: 1,
            lease_seconds: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn a_late_bezwaar_carries_a_warning() {
    let server = TestServer::start(config()).await;
    let mut c = ClassifierClient::new(channel(&server.url()).await);
    let r = c
        .classify(classify_req("late", "Hierbij maak ik bezwaar tegen het besluit van 5 januari 2020 over mijn bijstandsuitkering. Ik ben het er niet mee eens.", false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.label, pb::Label::Bezwaar as i32);
    assert!(
        r.warnings.iter().any(|w| w.contains("bezwaartermijn")),
        "{:?}",
        r.warnings
    );
    server.stop().await;
}

/// A real `herken serve` process.
struct Process {
    child: std::process::Child,
    url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_server(envs: &[(&str, String)]) -> Process {
    let port = free_port();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_herken"));
    cmd.args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        // Servers of parallel tests would all want the default web port.
        .env("HERKEN_WEB_ADDR", "off")
        .env("HERKEN_MODEL_DIR", root().join("models"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    Process {
        child: cmd.spawn().unwrap(),
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// Route a stream of messages while pulling and acking, SIGKILL the server in the middle,
/// restart it, and find every accepted message exactly once among queued and acked items.
async fn kill_in_the_middle(envs: Vec<(&'static str, String)>, location: Location) {
    let mut p = spawn_server(&envs);
    let ch = channel(&p.url).await;
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for w in 0..3 {
        let (ch, accepted) = (ch.clone(), accepted.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = ClassifierClient::new(ch);
            for n in 0..400 {
                let id = format!("w{w}-{n}");
                let text = TEXTS[n % TEXTS.len()].0;
                match c.classify(classify_req(&id, text, true)).await {
                    Ok(r) if r.get_ref().routed => accepted.lock().unwrap().push(id),
                    Ok(_) => panic!("routed classification not routed"),
                    Err(_) => return,
                }
            }
        }));
    }
    {
        let (ch, acked) = (ch.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = IntakeClient::new(ch);
            for _ in 0..400 {
                for q in ["meldingen", "klachten"] {
                    let Ok(r) = i
                        .pull(pb::PullRequest {
                            queue: q.into(),
                            max_items: 3,
                            lease_seconds: 600,
                        })
                        .await
                    else {
                        return;
                    };
                    for item in r.into_inner().items {
                        let mid = item.message.unwrap().message_id;
                        match i
                            .ack(pb::AckRequest {
                                item_ids: vec![item.item_id],
                            })
                            .await
                        {
                            Ok(a) if a.get_ref().acked == 1 => acked.lock().unwrap().push(mid),
                            Ok(_) => {}
                            Err(_) => return,
                        }
                    }
                }
            }
        }));
    }
    // Kill once a good number of messages were accepted, while the stream goes on. Bounded:
    // writers that stop early (a server that fails) make the test fail, not hang.
    for waited in 0.. {
        let n = accepted.lock().unwrap().len();
        if n >= 60 {
            break;
        }
        assert!(
            waited < 24_000 && !tasks[..3].iter().all(|t| t.is_finished()),
            "only {n} messages accepted before the writers stopped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    p.child.kill().unwrap(); // SIGKILL
    p.child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let accepted = accepted.lock().unwrap().clone();
    let acked = acked.lock().unwrap().clone();
    assert!(accepted.len() >= 60);
    eprintln!(
        "killed after {} accepted and {} acked",
        accepted.len(),
        acked.len()
    );

    // Restart on the same store; everything is there, nothing twice, acks held.
    let mut p = spawn_server(&envs);
    let mut i = IntakeClient::new(channel(&p.url).await);
    let list = i
        .list_queues(pb::ListQueuesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(list.queues.iter().map(|q| q.depth).sum::<u32>() > 0);
    p.child.kill().unwrap();
    p.child.wait().unwrap();

    let store = Store::open(&location).await.unwrap();
    let snapshot = store.snapshot().await.unwrap();
    store.close().await;
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    let mut acked_state: BTreeMap<&str, bool> = BTreeMap::new();
    for (mid, _, a) in &snapshot {
        *count.entry(mid.as_str()).or_default() += 1;
        acked_state.insert(mid.as_str(), *a);
    }
    for id in &accepted {
        assert_eq!(
            count.get(id.as_str()),
            Some(&1),
            "accepted message {id} is not exactly once in the store"
        );
    }
    for id in &acked {
        assert_eq!(
            acked_state.get(id.as_str()),
            Some(&true),
            "acked message {id} came back"
        );
    }
    let unique: HashSet<_> = acked.iter().collect();
    assert_eq!(unique.len(), acked.len(), "an item was acked twice");
}

#[tokio::test]
async fn sigkill_loses_no_accepted_message_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    kill_in_the_middle(
        vec![("HERKEN_DATA_DIR", data.display().to_string())],
        Location::SqliteFile(herken::store::default_sqlite_file(&data)),
    )
    .await;
}

#[tokio::test]
async fn sigkill_loses_no_accepted_message_on_postgres() {
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    kill_in_the_middle(
        vec![
            ("HERKEN_DATABASE_URL", db.url.clone()),
            ("HERKEN_DATA_DIR", dir.path().display().to_string()),
        ],
        Location::Postgres(db.url.clone()),
    )
    .await;
    db.drop().await;
}

#[tokio::test]
async fn two_servers_on_one_postgres_never_hand_out_an_item_twice() {
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.store = Location::Postgres(db.url.clone());
    cfg.secret_file = dir.path().join("sender.key");
    let a = TestServer::start(cfg.clone()).await;
    let b = TestServer::start(cfg).await;
    let (ca, cb) = (channel(&a.url()).await, channel(&b.url()).await);
    let mut c = ClassifierClient::new(ca.clone());
    let n = 150;
    for k in 0..n {
        let r = c
            .classify(classify_req(&format!("p{k}"), TEXTS[1].0, true))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.queue, "meldingen");
    }
    let handed = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut pullers = Vec::new();
    for w in 0..6 {
        let ch = if w % 2 == 0 { ca.clone() } else { cb.clone() };
        let handed = handed.clone();
        pullers.push(tokio::spawn(async move {
            let mut i = IntakeClient::new(ch);
            let mut empty = 0;
            while empty < 3 {
                let r = i
                    .pull(pb::PullRequest {
                        queue: "meldingen".into(),
                        max_items: 4,
                        lease_seconds: 3600,
                    })
                    .await
                    .unwrap()
                    .into_inner();
                if r.items.is_empty() {
                    empty += 1;
                    continue;
                }
                handed
                    .lock()
                    .unwrap()
                    .extend(r.items.into_iter().map(|i| i.item_id));
            }
        }));
    }
    for p in pullers {
        p.await.unwrap();
    }
    let handed = handed.lock().unwrap().clone();
    let unique: HashSet<_> = handed.iter().collect();
    assert_eq!(unique.len(), handed.len(), "an item was handed out twice");
    assert_eq!(handed.len(), n);
    a.stop().await;
    b.stop().await;
    db.drop().await;
}
