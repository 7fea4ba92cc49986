//! The web pages over HTTP, in process: access with keys and roles (login form, session
//! cookie, CSRF), the body limit and the security headers. The browser tests
//! (tests/browser/) drive the same pages in Chromium.

use std::sync::Arc;

use herken::auth::{Access, Keys, Role};
use herken::engine::Engine;
use herken::store::{Location, Store};
use herken::web::WebState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{config, recognizer_arc};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn cookie(&self) -> Option<String> {
        self.header("set-cookie")
            .map(|c| c.split(';').next().unwrap().to_string())
    }
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a csrf token");
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = form.unwrap_or("");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if form.is_some() {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

async fn serve(access: Access) -> std::net::SocketAddr {
    let store = Store::open(&Location::SqliteMemory).await.unwrap();
    let c = config();
    let engine = Engine::new(
        recognizer_arc(),
        Arc::new(store.clone()),
        b"web-test".to_vec(),
        c.repeat.clone(),
    )
    .with_intake(herken::intake::Intake::new(
        Arc::new(store.clone()),
        herken::route::Router::builtin(),
    ));
    let state = WebState::new(engine, store, access, &c);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(herken::web::serve(
        listener,
        state,
        1000,
        std::future::pending(),
    ));
    addr
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn login(addr: std::net::SocketAddr, token: &str) -> String {
    let page = http(addr, "GET", "/inloggen", None, None).await;
    let cookie = page.cookie().unwrap();
    let r = http(
        addr,
        "POST",
        "/inloggen",
        Some(&cookie),
        Some(&format!(
            "csrf={}&sleutel={}&terug=%2F",
            page.csrf(),
            enc(token)
        )),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let new = r.cookie().expect("a new session after login");
    assert_ne!(new, cookie, "the session id changes at login");
    new
}

#[tokio::test]
async fn with_keys_pages_need_a_login_and_the_role() {
    let mut keys = Keys::default();
    let clerk = keys.add("balie", vec![Role::Classify]).unwrap();
    let officer = keys.add("fg", vec![Role::Admin]).unwrap();
    let addr = serve(Access::with_keys(keys)).await;

    // Nobody: to the login form, with the way back.
    let r = http(addr, "GET", "/oefenen", None, None).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/inloggen?terug=/oefenen"));
    let c = r.header("set-cookie").unwrap();
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict"),
        "{c}"
    );
    assert_eq!(
        http(addr, "GET", "/leren.json", None, None).await.status,
        303
    );

    // A wrong key, and a right key with a wrong CSRF token.
    let page = http(addr, "GET", "/inloggen", None, None).await;
    let cookie = page.cookie().unwrap();
    let r = http(
        addr,
        "POST",
        "/inloggen",
        Some(&cookie),
        Some(&format!("csrf={}&sleutel=nope", page.csrf())),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = http(
        addr,
        "POST",
        "/inloggen",
        Some(&cookie),
        Some(&format!("csrf=forged&sleutel={}", enc(&clerk))),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.cookie().is_none());

    // The clerk: the training pages, not Leren.
    let s = login(addr, &clerk).await;
    for p in [
        "/",
        "/oefenen",
        "/zaal",
        "/oefenen/vraag?set=basis&seed=1&n=3&a=",
        "/zaal/bericht?set=english&seed=2&i=0",
    ] {
        assert_eq!(
            http(addr, "GET", p, Some(&s), None).await.status,
            200,
            "{p}"
        );
    }
    for p in ["/leren", "/leren.json", "/leren.csv"] {
        assert_eq!(
            http(addr, "GET", p, Some(&s), None).await.status,
            403,
            "{p}"
        );
    }
    // A POST needs the session's CSRF token.
    let home = http(addr, "GET", "/", Some(&s), None).await;
    let r = http(
        addr,
        "POST",
        "/",
        Some(&s),
        Some("tekst=Lamp+kapot&kanaal=email"),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = http(
        addr,
        "POST",
        "/",
        Some(&s),
        Some(&format!(
            "csrf={}&tekst=De+lantaarnpaal+is+kapot.&kanaal=email",
            home.csrf()
        )),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("data-testid=\"label\">Melding<"),
        "{}",
        r.body
    );
    // Logging out ends the session.
    let r = http(
        addr,
        "POST",
        "/uitloggen",
        Some(&s),
        Some(&format!("csrf={}", home.csrf())),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(http(addr, "GET", "/", Some(&s), None).await.status, 303);

    // The privacy officer: Leren and its exports, not the training pages.
    let s = login(addr, &officer).await;
    let r = http(addr, "GET", "/leren", Some(&s), None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Leren van klachten"));
    let r = http(
        addr,
        "GET",
        "/leren.json?van=2026-01-01&tot=2026-03-31",
        Some(&s),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["min_count"],
        5
    );
    assert_eq!(
        http(
            addr,
            "GET",
            "/leren.csv?van=2026-04-01&tot=2026-03-01",
            Some(&s),
            None
        )
        .await
        .status,
        400
    );
    assert_eq!(http(addr, "GET", "/", Some(&s), None).await.status, 403);
}

#[tokio::test]
async fn pages_are_bounded_and_carry_security_headers() {
    let addr = serve(Access::open()).await;
    let r = http(addr, "GET", "/", None, None).await;
    assert_eq!(r.status, 200);
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.body.contains("<html lang=\"nl\">"));
    assert!(
        !r.body.contains("http://") && !r.body.contains("https://"),
        "nothing from other sites"
    );
    // Bodies over the limit (1000 characters here → 77 536 bytes) are refused unread.
    let s = r.cookie().unwrap();
    let big = format!("csrf={}&tekst={}", r.csrf(), "a".repeat(100_000));
    assert_eq!(
        http(addr, "POST", "/", Some(&s), Some(&big)).await.status,
        413
    );
    // An empty text is explained, not classified.
    let empty = format!("csrf={}&tekst=+&kanaal=balie", r.csrf());
    let r = http(addr, "POST", "/", Some(&s), Some(&empty)).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Plak eerst een bericht"), "{}", r.body);
    // An unknown exercise set is a clear error, not a crash.
    assert_eq!(
        http(
            addr,
            "GET",
            "/oefenen/vraag?set=geheim&seed=1&n=3",
            Some(&s),
            None
        )
        .await
        .status,
        400
    );
    assert_eq!(
        http(addr, "GET", "/static/style.css", None, None)
            .await
            .status,
        200
    );
    assert_eq!(http(addr, "GET", "/nergens", None, None).await.status, 404);
}
