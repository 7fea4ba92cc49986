//! Access: every auth case over gRPC, the key's name as lease holder and corrector, TLS and
//! mTLS with certificates made in the test, and the refusal to serve exposed and unprotected.

use herken::auth::{Keys, Role};
use herken::config::{AuthMode, Config, TlsFiles};
use herken::pb;
use herken::pb::admin_client::AdminClient;
use herken::pb::classifier_client::ClassifierClient;
use herken::pb::intake_client::IntakeClient;
use herken::store::{Location, Store};
use tonic::Code;

use crate::support::{channel, config, with_token, TestServer};

struct Tokens {
    gateway: String,
    clerk: String,
    other_clerk: String,
    admin: String,
}

/// A configuration with keys (and a store file, to look at afterwards).
fn keyed(dir: &std::path::Path) -> (Config, Tokens) {
    let mut keys = Keys::default();
    let tokens = Tokens {
        gateway: keys.add("mailgateway", vec![Role::Classify]).unwrap(),
        clerk: keys
            .add("j.smit", vec![Role::Intake, Role::Correct])
            .unwrap(),
        other_clerk: keys.add("a.bakker", vec![Role::Intake]).unwrap(),
        admin: keys.add("fg", vec![Role::Admin]).unwrap(),
    };
    let keys_file = dir.join("keys.toml");
    keys.save(&keys_file).unwrap();
    let mut c = config();
    c.access.auth = AuthMode::Keys;
    c.access.keys_file = keys_file;
    c.store = Location::SqliteFile(dir.join("herken.sqlite"));
    c.secret_file = dir.join("sender.key");
    (c, tokens)
}

fn lamp(id: &str) -> pb::ClassifyRequest {
    pb::ClassifyRequest {
        message: Some(pb::Message {
            message_id: id.into(),
            text: "De lantaarnpaal in de Kerkstraat 4 is kapot.".into(),
            channel: pb::Channel::Email as i32,
            sender: "piet@example.nl".into(),
            ..Default::default()
        }),
        route: true,
    }
}

#[tokio::test]
async fn every_auth_case_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, t) = keyed(dir.path());
    let server = TestServer::start(cfg).await;
    let ch = channel(&server.url()).await;
    let mut classifier = ClassifierClient::new(ch.clone());
    let mut intake = IntakeClient::new(ch.clone());
    let mut admin = AdminClient::new(ch.clone());

    // No key, a malformed header, an unknown key: UNAUTHENTICATED.
    let e = classifier.classify(lamp("m1")).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let mut r = tonic::Request::new(lamp("m1"));
    r.metadata_mut()
        .insert("authorization", t.gateway.parse().unwrap());
    assert_eq!(
        classifier.classify(r).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let e = classifier
        .classify(with_token(lamp("m1"), "hk_00"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);

    // A key without the role: PERMISSION_DENIED, naming the role.
    let e = intake
        .list_queues(with_token(pb::ListQueuesRequest {}, &t.gateway))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(e.message().contains("intake"), "{}", e.message());
    let e = classifier
        .classify(with_token(lamp("m1"), &t.clerk))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let correct = |token: &str| {
        with_token(
            pb::CorrectRequest {
                message_id: "m1".into(),
                label: pb::Label::Klacht as i32,
                corrected_by: "iemand anders".into(),
                note: "herhaald".into(),
            },
            token,
        )
    };
    assert_eq!(
        intake
            .correct(correct(&t.other_clerk))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let purge = |token: &str| {
        with_token(
            pb::PurgeRequest {
                target: Some(pb::purge_request::Target::MessageId("m1".into())),
            },
            token,
        )
    };
    assert_eq!(
        admin.purge(purge(&t.clerk)).await.unwrap_err().code(),
        Code::PermissionDenied
    );

    // The right roles work.
    let r = classifier
        .classify(with_token(lamp("m1"), &t.gateway))
        .await
        .unwrap()
        .into_inner();
    assert!(r.routed);
    let pulled = intake
        .pull(with_token(
            pb::PullRequest {
                queue: r.queue.clone(),
                max_items: 5,
                lease_seconds: 60,
            },
            &t.clerk,
        ))
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(pulled.len(), 1);
    let item = pulled[0].item_id.clone();

    // Only the lease holder acks or releases.
    let other = intake
        .ack(with_token(
            pb::AckRequest {
                item_ids: vec![item.clone()],
            },
            &t.other_clerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (other.acked, other.not_held_item_ids.clone()),
        (0, vec![item.clone()])
    );
    let released = intake
        .release(with_token(
            pb::ReleaseRequest {
                item_ids: vec![item.clone()],
            },
            &t.other_clerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(released.not_held_item_ids, vec![item.clone()]);

    // corrected_by is the key's name, whatever the request says.
    intake.correct(correct(&t.clerk)).await.unwrap();

    // Health and reflection need no key.
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();

    // Admin erases.
    let erased = admin.purge(purge(&t.admin)).await.unwrap().into_inner();
    assert_eq!((erased.queue_items, erased.corrections), (1, 1));
    assert_eq!(erased.message_ids, ["m1"]);
    server.stop().await;

    let store = Store::open(&Location::SqliteFile(dir.path().join("herken.sqlite")))
        .await
        .unwrap();
    let audit = store.audit_log(chrono::DateTime::UNIX_EPOCH).await.unwrap();
    let actors: Vec<(&str, &str)> = audit
        .iter()
        .map(|a| (a.actor.as_str(), a.action.as_str()))
        .collect();
    assert_eq!(actors, [("j.smit", "correct"), ("fg", "erase")]);
    assert!(audit.iter().all(|a| !a.detail.contains("herhaald")
        && !a.detail.contains("Kerkstraat")
        && !a.detail.contains("piet")));
    store.close().await;
}

/// A CA, a server certificate for localhost and a client certificate, made here.
struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf = |name: &str, purpose: ExtendedKeyUsagePurpose| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
        p.extended_key_usages = vec![purpose];
        let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf("localhost", ExtendedKeyUsagePurpose::ServerAuth);
    let (client_cert, client_key) = leaf("j.smit", ExtendedKeyUsagePurpose::ClientAuth);
    Pki {
        ca: ca.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

async fn tls_channel(
    addr: std::net::SocketAddr,
    ca: &str,
    identity: Option<(&str, &str)>,
) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some((c, k)) = identity {
        tls = tls.identity(Identity::from_pem(c, k));
    }
    let endpoint = Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)?;
    let mut last = None;
    for _ in 0..200 {
        match endpoint.connect().await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    Err(last.unwrap())
}

fn hello() -> pb::ClassifyRequest {
    pb::ClassifyRequest {
        message: Some(pb::Message {
            text: "Wanneer is het stadhuis open?".into(),
            ..Default::default()
        }),
        route: false,
    }
}

#[tokio::test]
async fn tls_and_client_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let tls = TlsFiles {
        cert: write("server.pem", &pki.server_cert),
        key: write("server.key", &pki.server_key),
        client_ca: None,
    };

    // TLS: a client that trusts the CA classifies; a plaintext client gets nothing.
    let mut cfg = config();
    cfg.access.tls = Some(tls.clone());
    let server = TestServer::start(cfg).await;
    let ch = tls_channel(server.addr, &pki.ca, None).await.unwrap();
    ClassifierClient::new(ch).classify(hello()).await.unwrap();
    let plain = tonic::transport::Endpoint::from_shared(server.url())
        .unwrap()
        .connect()
        .await;
    if let Ok(plain) = plain {
        assert!(ClassifierClient::new(plain)
            .classify(hello())
            .await
            .is_err());
    }
    server.stop().await;

    // mTLS: without a client certificate no call gets through; with one it does.
    let mut cfg = config();
    cfg.access.tls = Some(TlsFiles {
        client_ca: Some(write("ca.pem", &pki.ca)),
        ..tls
    });
    let server = TestServer::start(cfg).await;
    let with_cert = tls_channel(
        server.addr,
        &pki.ca,
        Some((&pki.client_cert, &pki.client_key)),
    )
    .await
    .unwrap();
    ClassifierClient::new(with_cert)
        .classify(hello())
        .await
        .unwrap();
    let without = tonic::transport::Endpoint::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(&pki.ca))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await;
    if let Ok(ch) = without {
        assert!(ClassifierClient::new(ch).classify(hello()).await.is_err());
    }
    server.stop().await;
}

#[tokio::test]
async fn an_exposed_address_needs_tls_and_keys_unless_allowed() {
    use herken::server::check_exposure;
    let exposed: std::net::SocketAddr = "0.0.0.0:50051".parse().unwrap();
    let mut access = config().access;
    let e = check_exposure(exposed, &access).unwrap_err().to_string();
    assert!(
        e.contains("TLS") && e.contains("keys") && e.contains("allow_insecure"),
        "{e}"
    );
    assert!(check_exposure("127.0.0.1:50051".parse().unwrap(), &access).is_ok());
    assert!(check_exposure("[::1]:50051".parse().unwrap(), &access).is_ok());
    access.auth = AuthMode::Keys;
    let e = check_exposure(exposed, &access).unwrap_err().to_string();
    assert!(e.contains("TLS") && !e.contains("API keys"), "{e}");
    access.tls = Some(TlsFiles {
        cert: "c".into(),
        key: "k".into(),
        client_ca: None,
    });
    assert!(check_exposure(exposed, &access).is_ok());
    let mut open = config().access;
    open.allow_insecure = true;
    assert!(check_exposure(exposed, &open).is_ok());

    // The server itself refuses before serving anything.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let e = herken::server::run(listener, config(), std::future::pending())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("refusing"), "{e}");
}

#[tokio::test]
async fn keys_mode_without_keys_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.access.auth = AuthMode::Keys;
    cfg.access.keys_file = dir.path().join("none.toml");
    let e = TestServer::start(cfg).await.outcome().await.unwrap_err();
    assert!(e.to_string().contains("herken key new"), "{e}");
}

#[test]
fn key_new_prints_the_token_alone_on_the_last_line_and_stores_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_herken"))
        .args([
            "key",
            "new",
            "--name",
            "mailgateway",
            "--role",
            "classify,intake",
        ])
        .arg("--keys-file")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap();
    assert!(token.starts_with("hk_") && token.len() == 67, "{stdout}");
    let keys = Keys::load(&file).unwrap();
    let k = keys.authenticate(token).unwrap();
    assert_eq!(k.name, "mailgateway");
    assert_eq!(k.roles, [Role::Classify, Role::Intake]);
    assert!(!std::fs::read_to_string(&file)
        .unwrap()
        .contains(&token[3..]));
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_herken"))
        .args(["key", "new", "--name", "x", "--role", "boss"])
        .arg("--keys-file")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("boss"));
}
