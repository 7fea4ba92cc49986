//! The gRPC API: all three Classifier RPCs, validation errors, health and reflection.

use herken::pb;
use herken::pb::classifier_client::ClassifierClient;
use tonic::Code;

use crate::support::{channel, config, TestServer};

fn req(id: &str, text: &str, channel: pb::Channel) -> pb::ClassifyRequest {
    pb::ClassifyRequest {
        message: Some(pb::Message {
            message_id: id.into(),
            text: text.into(),
            channel: channel as i32,
            ..Default::default()
        }),
        route: false,
    }
}

#[tokio::test]
async fn classify_returns_label_scores_cues_and_explanation() {
    let server = TestServer::start(config()).await;
    let mut client = ClassifierClient::new(channel(&server.url()).await);
    let text = "Ik heb de losse stoeptegel voor mijn deur al drie keer gemeld en er is nog steeds niets gebeurd. Ik ben het zat.";
    let r = client
        .classify(req("m1", text, pb::Channel::Email))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.message_id, "m1");
    assert_eq!(r.label, pb::Label::Klacht as i32);
    assert_eq!(r.scores.len(), 5);
    let sum: f32 = r.scores.iter().map(|s| s.score).sum();
    assert!((sum - 1.0).abs() < 1e-3, "scores sum to {sum}");
    assert!(r.confidence > 0.0 && r.confidence <= 1.0);
    assert!(!r.cues.is_empty());
    let chars: Vec<char> = text.chars().collect();
    for c in &r.cues {
        let s: String = chars[c.start as usize..c.end as usize].iter().collect();
        assert_eq!(s, c.text);
    }
    assert!(
        r.cues.windows(2).all(|w| w[0].start <= w[1].start),
        "cues in text order"
    );
    assert!(r.repeat.as_ref().unwrap().is_repeat);
    assert!(!r.explanation.is_empty());
    assert_eq!(r.queue, "klachten");
    assert_eq!(r.language, "nl");
    server.stop().await;
}

#[tokio::test]
async fn empty_message_id_is_generated() {
    let server = TestServer::start(config()).await;
    let mut client = ClassifierClient::new(channel(&server.url()).await);
    let r = client
        .classify(req(
            "",
            "Wanneer is het stadhuis open op zaterdag?",
            pb::Channel::Chat,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!r.message_id.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn invalid_requests_name_the_field_and_the_limit() {
    let mut cfg = config();
    cfg.max_text_chars = 50;
    cfg.max_batch = 2;
    let server = TestServer::start(cfg).await;
    let mut client = ClassifierClient::new(channel(&server.url()).await);

    let e = client
        .classify(req("a", "   ", pb::Channel::Email))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("message.text"), "{}", e.message());

    let e = client
        .classify(req("b", &"x".repeat(51), pb::Channel::Email))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("50"), "{}", e.message());

    let e = client
        .classify(pb::ClassifyRequest {
            message: None,
            route: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    let mut bad_channel = req("c", "Lamp kapot", pb::Channel::Email);
    bad_channel.message.as_mut().unwrap().channel = 42;
    let e = client.classify(bad_channel).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("channel") && e.message().contains("42"),
        "{}",
        e.message()
    );

    let batch = pb::ClassifyBatchRequest {
        requests: vec![req("1", "a b", pb::Channel::Chat); 3],
    };
    let e = client.classify_batch(batch).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("requests") && e.message().contains('2'),
        "{}",
        e.message()
    );

    let batch = pb::ClassifyBatchRequest {
        requests: vec![
            req("1", "Lamp kapot", pb::Channel::Chat),
            req("2", "", pb::Channel::Chat),
        ],
    };
    let e = client.classify_batch(batch).await.unwrap_err();
    assert!(e.message().contains("requests[1]"), "{}", e.message());
    server.stop().await;
}

#[tokio::test]
async fn batch_answers_in_request_order() {
    let server = TestServer::start(config()).await;
    let mut client = ClassifierClient::new(channel(&server.url()).await);
    let texts = [
        "De lantaarnpaal bij de Eikenlaan 4 brandt niet.",
        "Hierbij maak ik bezwaar tegen de WOZ-beschikking met kenmerk 2026-001, de waarde is veel te hoog.",
        "Geachte leden van de gemeenteraad, wij vragen u de verordening op de hondenbelasting te schrappen.",
        "Hoe laat gaat het gemeentehuis open?",
    ];
    let requests = texts
        .iter()
        .enumerate()
        .map(|(i, t)| req(&format!("b{i}"), t, pb::Channel::Email))
        .collect();
    let r = client
        .classify_batch(pb::ClassifyBatchRequest { requests })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = r.responses.iter().map(|x| x.message_id.as_str()).collect();
    assert_eq!(ids, ["b0", "b1", "b2", "b3"]);
    let labels: Vec<_> = r.responses.iter().map(|x| x.label).collect();
    assert_eq!(
        labels,
        [
            pb::Label::Melding as i32,
            pb::Label::Bezwaar as i32,
            pb::Label::Raadsadres as i32,
            pb::Label::Overig as i32
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn stream_answers_each_message_in_order() {
    let server = TestServer::start(config()).await;
    let mut client = ClassifierClient::new(channel(&server.url()).await);
    let items: Vec<_> = (0..20)
        .map(|i| {
            req(
                &format!("s{i}"),
                "Er ligt grofvuil naast de container in de Dorpsstraat.",
                pb::Channel::Webformulier,
            )
        })
        .collect();
    let mut stream = client
        .classify_stream(tokio_stream::iter(items))
        .await
        .unwrap()
        .into_inner();
    let mut ids = Vec::new();
    while let Some(r) = stream.message().await.unwrap() {
        assert_eq!(r.label, pb::Label::Melding as i32);
        ids.push(r.message_id);
    }
    let want: Vec<_> = (0..20).map(|i| format!("s{i}")).collect();
    assert_eq!(ids, want);
    server.stop().await;
}

#[tokio::test]
async fn stream_stops_at_an_invalid_item_after_answering_the_earlier_ones() {
    let server = TestServer::start(config()).await;
    let mut client = ClassifierClient::new(channel(&server.url()).await);
    let items = vec![
        req("ok", "Lamp kapot in de Kerkstraat", pb::Channel::Chat),
        req("bad", "", pb::Channel::Chat),
        req("never", "Lamp kapot", pb::Channel::Chat),
    ];
    let mut stream = client
        .classify_stream(tokio_stream::iter(items))
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(first.message_id, "ok");
    let e = stream.message().await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("stream[1]"), "{}", e.message());
    server.stop().await;
}

#[tokio::test]
async fn health_reports_serving() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{health_check_response::ServingStatus, HealthCheckRequest};
    let server = TestServer::start(config()).await;
    let mut health = HealthClient::new(channel(&server.url()).await);
    for service in ["", "herken.v1.Classifier"] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            r.status,
            ServingStatus::Serving as i32,
            "service {service:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn reflection_lists_the_services() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let server = TestServer::start(config()).await;
    let mut client = ServerReflectionClient::new(channel(&server.url()).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let r = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = r.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"herken.v1.Classifier"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    server.stop().await;
}

/// Many tools (grpcio-reflection, older grpcurl, Postman) ask v1alpha.
#[tokio::test]
async fn reflection_v1alpha_lists_the_services_too() {
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    let server = TestServer::start(config()).await;
    let mut client = ServerReflectionClient::new(channel(&server.url()).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let r = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = r.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"herken.v1.Classifier"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_a_request_in_flight() {
    let server = TestServer::start(config()).await;
    let mut client = ClassifierClient::new(channel(&server.url()).await);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let text = "Ik ben al weken niet teruggebeld over mijn Wmo-aanvraag en ik ben het zat.";
    tx.send(req("f0", text, pb::Channel::Telefoon))
        .await
        .unwrap();
    let mut stream = client
        .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    // The first answer proves the call is in flight; then shutdown is asked.
    assert_eq!(stream.message().await.unwrap().unwrap().message_id, "f0");
    let stopping = tokio::spawn(server.stop());
    // The call in flight is still served to its end.
    tx.send(req("f1", text, pb::Channel::Telefoon))
        .await
        .unwrap();
    assert_eq!(stream.message().await.unwrap().unwrap().message_id, "f1");
    drop(tx);
    assert!(stream.message().await.unwrap().is_none());
    stopping.await.unwrap();
}

#[tokio::test]
async fn raw_email_is_decoded_and_its_text_returned() {
    let server = TestServer::start(config()).await;
    let mut client = ClassifierClient::new(channel(&server.url()).await);
    let raw = "From: a@example.nl\r\nSubject: Teruggebeld?\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIk ben al drie weken niet teruggebeld, terwijl dat wel beloofd was. Heel teleurstellend.\r\n\r\nOp 1 maart 2026 om 10:00 schreef Gemeente <info@gemeente.nl>:\r\n> Wij bellen u deze week terug.\r\n";
    let r = client
        .classify(pb::ClassifyRequest {
            message: Some(pb::Message {
                message_id: "eml".into(),
                raw_email: raw.as_bytes().to_vec(),
                ..Default::default()
            }),
            route: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.label, pb::Label::Klacht as i32);
    assert!(r.text.contains("niet teruggebeld"));
    let chars: Vec<char> = r.text.chars().collect();
    for c in &r.cues {
        let s: String = chars[c.start as usize..c.end as usize].iter().collect();
        assert_eq!(s, c.text);
    }
    let e = client
        .classify(pb::ClassifyRequest {
            message: Some(pb::Message {
                raw_email: b"\xff\xfe not mail".to_vec(),
                ..Default::default()
            }),
            route: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("raw_email"), "{}", e.message());
    server.stop().await;
}
