//! Bounded input and admission: every limit names its field, the HTML bomb, extreme
//! timestamps, streams, saturation with health and Intake still answering, deadlines.

use std::time::Duration;

use herken::admission::Admission;
use herken::pb;
use herken::pb::classifier_client::ClassifierClient;
use herken::pb::intake_client::IntakeClient;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{channel, config, TestServer};

fn msg(f: impl FnOnce(&mut pb::Message)) -> pb::ClassifyRequest {
    let mut m = pb::Message {
        message_id: "m".into(),
        text: "De stoeptegel ligt los.".into(),
        ..Default::default()
    };
    f(&mut m);
    pb::ClassifyRequest {
        message: Some(m),
        route: false,
    }
}

/// The call fails with INVALID_ARGUMENT and a BadRequest violation of `field` whose
/// description names `limit`.
async fn refused(
    client: &mut ClassifierClient<tonic::transport::Channel>,
    r: pb::ClassifyRequest,
    field: &str,
    limit: &str,
) {
    let e = client.classify(r).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let bad = e.get_details_bad_request().expect("a BadRequest detail");
    let v = &bad.field_violations[0];
    assert_eq!(v.field, field, "{v:?}");
    assert!(v.description.contains(limit), "{v:?}");
}

#[tokio::test]
async fn every_limit_names_its_field_and_its_setting() {
    let mut cfg = config();
    cfg.limits.max_subject_chars = 10;
    cfg.limits.max_sender_chars = 12;
    cfg.limits.max_id_chars = 9;
    cfg.limits.max_raw_email_bytes = 300;
    cfg.limits.max_note_chars = 5;
    cfg.limits.max_pull_items = 3;
    cfg.limits.max_lease_seconds = 60;
    let server = TestServer::start(cfg).await;
    let ch = channel(&server.url()).await;
    let mut c = ClassifierClient::new(ch.clone());
    // An e-mail's Subject header counts too.
    let mail =
        "From: a@example.nl\r\nSubject: een veel te lang onderwerp\r\n\r\nDe lamp is kapot.\r\n";
    let raw = |bytes: Vec<u8>| {
        msg(move |m| {
            m.text.clear();
            m.raw_email = bytes;
        })
    };
    let cases = [
        (
            msg(|m| m.subject = "s".repeat(11)),
            "subject",
            "max_subject_chars",
        ),
        (
            msg(|m| m.sender = "a@b.nl".repeat(3)),
            "sender",
            "max_sender_chars",
        ),
        (
            msg(|m| m.message_id = "i".repeat(10)),
            "message_id",
            "max_id_chars",
        ),
        (raw(vec![b'x'; 301]), "raw_email", "max_raw_email_bytes"),
        (
            raw(mail.as_bytes().to_vec()),
            "raw_email.subject",
            "max_subject_chars",
        ),
    ];
    for (request, field, limit) in cases {
        refused(&mut c, request, &format!("request.message.{field}"), limit).await;
    }
    c.classify(msg(|m| m.subject = "s".repeat(10)))
        .await
        .unwrap();

    let mut intake = IntakeClient::new(ch);
    let e = intake
        .correct(pb::CorrectRequest {
            message_id: "m".into(),
            label: pb::Label::Klacht as i32,
            corrected_by: "j".into(),
            note: "te lang".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        e.get_details_bad_request().unwrap().field_violations[0].field,
        "note"
    );
    for (max_items, lease_seconds, field) in [(4, 60, "max_items"), (1, 61, "lease_seconds")] {
        let e = intake
            .pull(pb::PullRequest {
                queue: "meldingen".into(),
                max_items,
                lease_seconds,
            })
            .await
            .unwrap_err();
        assert!(e.message().contains(field), "{}", e.message());
    }
    server.stop().await;
}

#[tokio::test]
async fn extreme_timestamps_are_refused() {
    let server = TestServer::start(config()).await;
    let mut c = ClassifierClient::new(channel(&server.url()).await);
    for seconds in [-62_135_596_800, -1, 4_102_444_800, 8_210_298_412_799] {
        let e = c
            .classify(msg(|m| {
                m.received_at = Some(prost_types::Timestamp { seconds, nanos: 0 })
            }))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(
            e.message().contains("received_at") && e.message().contains("2100"),
            "{}",
            e.message()
        );
    }
    for seconds in [0, 4_102_444_799] {
        c.classify(msg(|m| {
            m.received_at = Some(prost_types::Timestamp { seconds, nanos: 0 })
        }))
        .await
        .unwrap();
    }
    server.stop().await;
}

/// Issue 11's HTML bomb: 170 KB of nested blockquotes once became a 200-million-character
/// text. Now it is refused for its decoded length, and a deep but small quote works.
#[tokio::test]
async fn the_html_bomb_is_refused_for_its_length() {
    let server = TestServer::start(config()).await;
    let mut c = ClassifierClient::new(channel(&server.url()).await);
    let head = "From: a@example.nl\r\nContent-Type: text/html; charset=utf-8\r\n\r\n";
    let bomb = format!(
        "{head}{}",
        "<blockquote>Ik ben het zat.".repeat(170_000 / 27)
    );
    assert!(bomb.len() > 170_000);
    let e = c
        .classify(msg(|m| {
            m.text.clear();
            m.raw_email = bomb.into_bytes();
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("max_text_chars"), "{}", e.message());
    let deep = format!(
        "{head}Ik heb de lamp al drie keer gemeld.{}",
        "<blockquote>Op 1 mei schreef de gemeente:".repeat(1000)
    );
    let r = c
        .classify(msg(|m| {
            m.text.clear();
            m.raw_email = deep.into_bytes();
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.text.starts_with("Ik heb de lamp al drie keer gemeld."));
    server.stop().await;
}

#[tokio::test]
async fn a_request_over_the_decode_limit_is_refused() {
    let mut cfg = config();
    cfg.limits.max_request_bytes = 50_000;
    let server = TestServer::start(cfg).await;
    let mut c = ClassifierClient::new(channel(&server.url()).await);
    let e = c
        .classify(msg(|m| m.text = "lamp kapot ".repeat(6000)))
        .await
        .unwrap_err();
    assert!(e.message().contains("too large"), "{e:?}");
    server.stop().await;
}

#[tokio::test]
async fn streams_are_bounded_in_items_and_idle_time() {
    let mut cfg = config();
    cfg.limits.max_stream_items = 2;
    cfg.limits.stream_idle = Duration::from_millis(300);
    let server = TestServer::start(cfg).await;
    let mut c = ClassifierClient::new(channel(&server.url()).await);
    let items = vec![msg(|_| {}), msg(|_| {}), msg(|_| {})];
    let mut out = c
        .classify_stream(tokio_stream::iter(items))
        .await
        .unwrap()
        .into_inner();
    assert!(out.message().await.unwrap().is_some());
    assert!(out.message().await.unwrap().is_some());
    let e = out.message().await.unwrap_err();
    assert!(e.message().contains("max_stream_items"), "{}", e.message());

    // A client that opens a stream and sends nothing is let go.
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::ClassifyRequest>(1);
    let mut out = c
        .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let e = out.message().await.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded);
    assert!(
        e.message().contains("stream_idle_seconds"),
        "{}",
        e.message()
    );
    drop(tx);
    server.stop().await;
}

/// Saturation: with the one place taken, Classify is refused at once with
/// RESOURCE_EXHAUSTED while health and Intake answer; freed, it classifies again.
#[tokio::test]
async fn saturated_classifier_refuses_at_once_while_health_and_intake_answer() {
    let admission = Admission::new(1, 0);
    let server = TestServer::start_with(config(), admission.clone()).await;
    let ch = channel(&server.url()).await;
    let mut c = ClassifierClient::new(ch.clone());
    let held = admission.admit().unwrap();
    let e = c.classify(msg(|_| {})).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("recognition_queue"), "{}", e.message());
    let e = c
        .classify_batch(pb::ClassifyBatchRequest {
            requests: vec![msg(|_| {})],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    let h = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "herken.v1.Classifier".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        h.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    IntakeClient::new(ch)
        .list_queues(pb::ListQueuesRequest {})
        .await
        .unwrap();
    drop(held);
    c.classify(msg(|_| {})).await.unwrap();
    assert_eq!(admission.stats().refused, 2);
    server.stop().await;
}

/// A call whose grpc-timeout has passed gets no recognition work.
#[tokio::test]
async fn an_expired_deadline_does_no_recognition_work() {
    let admission = Admission::new(1, 4);
    let server = TestServer::start_with(config(), admission.clone()).await;
    let mut c = ClassifierClient::new(channel(&server.url()).await);
    let mut r = tonic::Request::new(msg(|_| {}));
    r.set_timeout(Duration::from_nanos(1));
    let e = c.classify(r).await.unwrap_err();
    assert!(
        matches!(e.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{e:?}"
    );
    assert_eq!(admission.stats().ran, 0);
    c.classify(msg(|_| {})).await.unwrap();
    assert_eq!(admission.stats().ran, 1);
    server.stop().await;
}
