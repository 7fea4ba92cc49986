//! The web interface that `herken serve` serves on `web_addr`: Herkennen (classify a message,
//! see why), Oefenen (practise with the exercise sets), zaalmodus (a trainer shows a message
//! full-screen, the room votes, the trainer reveals) and Leren (the report, role `admin`).
//!
//! # Security
//! - With `auth = "keys"`, a login form takes an API key; the session lives in the server's
//!   memory and its random id in a cookie that is `HttpOnly` and `SameSite=Strict`. The
//!   training pages need the role `classify`, Leren needs `admin`; the same keys and roles as
//!   the gRPC API. Logging in gives a new session id (no fixation).
//! - Every POST form carries the session's CSRF token, compared in constant time; GET
//!   requests change nothing (the practice pages keep their state in the URL).
//! - Bodies are bounded (`DefaultBodyLimit`), texts by the same limits as gRPC.
//! - Pages carry a Content-Security-Policy that allows only this server's own style sheet and
//!   script (no inline code), `frame-ancestors 'none'`, `nosniff` and `no-referrer`; nothing is
//!   loaded from other sites.
//! - Message text and sender are never logged: requests are logged by method and path only.

pub mod render;

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::auth::{Access, Caller, Role};
use crate::config::AuthMode;
use crate::domain::{Channel, Label, Message};
use crate::engine::Engine;
use crate::error::Error;
use crate::exercises::{self, Exercise};
use crate::store::report::ReportSpec;
use crate::store::Store;
use render::{esc, label_hint, label_nl, Nav};

/// Name of the session cookie.
pub const COOKIE: &str = "herken_sessie";
/// Sessions idle longer than this are forgotten.
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
/// At most this many sessions are kept (the oldest go first).
pub const MAX_SESSIONS: usize = 10_000;

/// Everything the pages need.
#[derive(Clone)]
pub struct WebState {
    engine: Engine,
    store: Store,
    access: Access,
    admission: Option<crate::admission::Admission>,
    secure_cookies: bool,
    sessions: Arc<Sessions>,
    report_min_count: u64,
    max_sender_chars: usize,
    max_subject_chars: usize,
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState").finish_non_exhaustive()
    }
}

impl WebState {
    /// The pages over an engine (with intake queues, for "in de wachtrij zetten"), the store
    /// (for Leren), the access policy and the configuration's limits.
    pub fn new(
        engine: Engine,
        store: Store,
        access: Access,
        config: &crate::config::Config,
    ) -> WebState {
        let limits = config.limits();
        WebState {
            engine,
            store,
            access,
            admission: None,
            secure_cookies: false,
            sessions: Arc::new(Sessions::default()),
            report_min_count: config.report_min_count,
            max_sender_chars: limits.max_sender_chars,
            max_subject_chars: limits.max_subject_chars,
        }
    }
}

/// The largest form body: the longest text, percent-encoded (12 bytes for a 4-byte
/// character), plus the small fields.
pub fn body_limit(max_text_chars: usize) -> usize {
    max_text_chars.saturating_mul(12).saturating_add(64 * 1024)
}

/// The router with every page.
pub fn router(state: WebState, max_text_chars: usize) -> Router {
    Router::new()
        .route("/", get(herkennen_get).post(herkennen_post))
        .route("/oefenen", get(oefenen_start))
        .route("/oefenen/vraag", get(oefenen_vraag))
        .route("/oefenen/antwoord", get(oefenen_antwoord))
        .route("/zaal", get(zaal_start))
        .route("/zaal/bericht", get(zaal_bericht))
        .route("/leren", get(leren))
        .route("/leren.json", get(leren_json))
        .route("/leren.csv", get(leren_csv))
        .route("/inloggen", get(login_get).post(login_post))
        .route("/uitloggen", axum::routing::post(logout))
        .route("/static/style.css", get(css))
        .route("/static/app.js", get(js))
        .route("/static/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit(max_text_chars)))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

/// Serve the pages on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: WebState,
    max_text_chars: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> crate::error::Result<()> {
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("web listener", e))?;
    tracing::info!(%addr, "serving the web pages (Herkennen, Oefenen, zaalmodus, Leren)");
    axum::serve(listener, router(state, max_text_chars))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::Transport(format!("web server: {e}")))
}

/// Refuse web pages on an address other than loopback unless `allow_insecure` (they are plain
/// HTTP: a proxy in front must do TLS) and keys are on.
pub fn check_exposure(
    addr: std::net::SocketAddr,
    access: &crate::config::AccessConfig,
) -> crate::error::Result<()> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    if !access.allow_insecure {
        return Err(Error::Config(format!(
            "refusing to serve the web pages on {addr}, which is not a loopback address: they are plain HTTP. Put a TLS proxy in front and set allow_insecure = true, or set web_addr = \"off\""
        )));
    }
    if access.auth != AuthMode::Keys {
        tracing::warn!(%addr, "web pages on a non-loopback address without keys: anyone who reaches it can classify and read the report");
    }
    Ok(())
}

async fn log_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    // Method and path only: never the query (practice answers), the body or the cookie.
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(%method, %path, status = resp.status().as_u16(), ms = start.elapsed().as_millis() as u64, "web request");
    resp
}

async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

// ---------------------------------------------------------------------------------------------
// Sessions

struct Session {
    caller: Option<Caller>,
    csrf: String,
    last_seen: Instant,
}

#[derive(Default)]
struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).expect("the operating system gives random bytes");
    hex::encode(b)
}

impl Sessions {
    fn create(&self, caller: Option<Caller>) -> (String, String) {
        let id = random_hex();
        let csrf = random_hex();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_SESSIONS {
            let now = Instant::now();
            map.retain(|_, s| now.duration_since(s.last_seen) < SESSION_IDLE);
            if map.len() >= MAX_SESSIONS {
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, s)| s.last_seen)
                    .map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
                }
            }
        }
        map.insert(
            id.clone(),
            Session {
                caller,
                csrf: csrf.clone(),
                last_seen: Instant::now(),
            },
        );
        (id, csrf)
    }

    /// (caller, csrf) of a live session, touching it.
    fn get(&self, id: &str) -> Option<(Option<Caller>, String)> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let s = map.get_mut(id)?;
        if now.duration_since(s.last_seen) >= SESSION_IDLE {
            map.remove(id);
            return None;
        }
        s.last_seen = now;
        Some((s.caller.clone(), s.csrf.clone()))
    }

    fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The session cookie; `Secure` when the pages are served for a TLS proxy (not loopback).
fn set_cookie(id: &str, secure: bool) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_IDLE.as_secs(),
        if secure { "; Secure" } else { "" }
    ))
    .expect("hex is a valid header value")
}

/// Who is asking, with the session's CSRF token and a cookie to set when the session is new.
struct Ctx {
    caller: Caller,
    csrf: String,
    new_cookie: Option<HeaderValue>,
    keys_on: bool,
}

impl Ctx {
    fn user(&self) -> Option<(&str, &str)> {
        self.keys_on
            .then_some((self.caller.name.as_str(), self.csrf.as_str()))
    }

    fn page(&self, status: StatusCode, html: String) -> Response {
        let mut r = (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
        if let Some(c) = &self.new_cookie {
            r.headers_mut().insert(header::SET_COOKIE, c.clone());
        }
        r
    }

    fn csrf_ok(&self, sent: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.new_cookie.is_none()
            && !sent.is_empty()
            && bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

fn redirect(to: &str, cookie: Option<HeaderValue>) -> Response {
    let mut r = (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
        )],
    )
        .into_response();
    if let Some(c) = cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

impl WebState {
    /// With the server's admission pool: what herken itself says of an exercise is worked out
    /// on it too, so the practice pages cannot crowd out the gateways.
    pub fn with_admission(mut self, admission: crate::admission::Admission) -> WebState {
        self.admission = Some(admission);
        self
    }

    /// Mark the session cookie `Secure`: for pages served on an address other than loopback,
    /// which only a TLS proxy in front may do (see [`check_exposure`]).
    pub fn with_secure_cookies(mut self, secure: bool) -> WebState {
        self.secure_cookies = secure;
        self
    }

    /// The session of the request (made when missing), for a page needing `role`: a redirect to
    /// the login form when keys are on and nobody logged in, a 403 page for a key without the
    /// role.
    fn ctx(&self, headers: &HeaderMap, uri: &Uri, role: Role) -> Result<Ctx, Box<Response>> {
        let keys_on = self.access.mode() == AuthMode::Keys;
        let (caller, csrf, new_cookie) =
            match cookie_value(headers).and_then(|id| self.sessions.get(&id)) {
                Some((caller, csrf)) => (caller, csrf, None),
                None => {
                    let (id, csrf) = self.sessions.create(None);
                    (None, csrf, Some(set_cookie(&id, self.secure_cookies)))
                }
            };
        let caller = match (keys_on, caller) {
            (false, _) => Caller::anonymous(),
            (true, Some(c)) => c,
            (true, None) => {
                let back = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let to = format!("/inloggen?terug={}", percent_encode(back));
                return Err(Box::new(redirect(&to, new_cookie)));
            }
        };
        let ctx = Ctx {
            caller,
            csrf,
            new_cookie,
            keys_on,
        };
        if !ctx.caller.roles.contains(&role) {
            let body = format!(
                "<h1>Geen toegang</h1><p class=\"error\">Uw sleutel <strong>{}</strong> heeft de rol <code>{}</code> niet, die deze pagina nodig heeft. \
                 Vraag de beheerder om een sleutel met die rol, of log in met een andere sleutel.</p>",
                esc(&ctx.caller.name),
                role.as_str()
            );
            let html = render::page(
                "Geen toegang",
                &self.nav(&ctx.caller, ""),
                ctx.user(),
                &body,
                false,
                false,
            );
            return Err(Box::new(ctx.page(StatusCode::FORBIDDEN, html)));
        }
        Ok(ctx)
    }

    fn nav<'a>(&self, caller: &Caller, current: &str) -> Vec<Nav<'a>> {
        let mut v = Vec::new();
        if caller.roles.contains(&Role::Classify) {
            v.push(Nav {
                href: "/",
                text: "Herkennen",
                current: current == "/",
            });
            v.push(Nav {
                href: "/oefenen",
                text: "Oefenen",
                current: current == "/oefenen",
            });
            v.push(Nav {
                href: "/zaal",
                text: "Zaalmodus",
                current: current == "/zaal",
            });
        }
        if caller.roles.contains(&Role::Admin) {
            v.push(Nav {
                href: "/leren",
                text: "Leren",
                current: current == "/leren",
            });
        }
        v
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A local path to go back to after logging in: only "/…", never "//…" (another site).
fn safe_back(s: &str) -> &str {
    if s.starts_with('/') && !s.starts_with("//") && !s.contains('\\') && !s.contains(['\r', '\n'])
    {
        s
    } else {
        "/"
    }
}

// ---------------------------------------------------------------------------------------------
// Static files

async fn css() -> Response {
    static_file("text/css; charset=utf-8", render::CSS)
}
async fn js() -> Response {
    static_file("text/javascript; charset=utf-8", render::JS)
}
async fn icon() -> Response {
    static_file("image/svg+xml", render::ICON)
}
fn static_file(ct: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn not_found(method: Method) -> Response {
    let body =
        "<h1>Niet gevonden</h1><p>Deze pagina bestaat niet. <a href=\"/\">Naar Herkennen</a></p>";
    let status = if method == Method::GET || method == Method::HEAD {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::METHOD_NOT_ALLOWED
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        render::page("Niet gevonden", &[], None, body, false, false),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Login

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    terug: String,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    sleutel: String,
    #[serde(default)]
    terug: String,
}

fn login_page(csrf: &str, back: &str, error: Option<&str>) -> String {
    let mut body = String::from("<div class=\"card login\"><h1>Inloggen</h1>\
        <p class=\"lead\">Log in met uw sleutel (API-sleutel) van herken. Uw beheerder maakt die met <code>herken key new</code>.</p>");
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", esc(e));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/inloggen\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"terug\" value=\"{}\">\
         <label for=\"sleutel\">Sleutel</label>\
         <input type=\"password\" id=\"sleutel\" name=\"sleutel\" autocomplete=\"current-password\" required maxlength=\"200\" autofocus>\
         <div class=\"actions\"><button type=\"submit\" class=\"primary\">Inloggen</button></div></form></div>",
        esc(csrf),
        esc(back)
    );
    render::page("Inloggen", &[], None, &body, false, false)
}

async fn login_get(
    State(st): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let (csrf, cookie) = match cookie_value(&headers).and_then(|id| st.sessions.get(&id)) {
        Some((_, csrf)) => (csrf, None),
        None => {
            let (id, csrf) = st.sessions.create(None);
            (csrf, Some(set_cookie(&id, st.secure_cookies)))
        }
    };
    let ctx = Ctx {
        caller: Caller::anonymous(),
        csrf,
        new_cookie: cookie,
        keys_on: false,
    };
    ctx.page(
        StatusCode::OK,
        login_page(&ctx.csrf, safe_back(&q.terug), None),
    )
}

async fn login_post(
    State(st): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let back = safe_back(&f.terug).to_string();
    let old = cookie_value(&headers);
    let session = old.as_deref().and_then(|id| st.sessions.get(id));
    let Some((_, csrf)) = session else {
        // No session: the form was not ours, or it expired. Start again.
        let (id, csrf) = st.sessions.create(None);
        let ctx = Ctx {
            caller: Caller::anonymous(),
            csrf,
            new_cookie: Some(set_cookie(&id, st.secure_cookies)),
            keys_on: false,
        };
        return ctx.page(
            StatusCode::FORBIDDEN,
            login_page(
                &ctx.csrf,
                &back,
                Some("Het formulier was verlopen. Probeer het opnieuw."),
            ),
        );
    };
    let ctx = Ctx {
        caller: Caller::anonymous(),
        csrf,
        new_cookie: None,
        keys_on: false,
    };
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.page(
            StatusCode::FORBIDDEN,
            login_page(
                &ctx.csrf,
                &back,
                Some("Het formulier was verlopen. Probeer het opnieuw."),
            ),
        );
    }
    if f.sleutel.len() > 200 {
        return ctx.page(
            StatusCode::UNAUTHORIZED,
            login_page(&ctx.csrf, &back, Some("Deze sleutel kennen we niet.")),
        );
    }
    match st.access.caller(&f.sleutel) {
        Some(caller) => {
            if let Some(id) = old {
                st.sessions.remove(&id);
            }
            tracing::info!(key = %caller.name, "web login");
            // A key for the report alone lands on the report.
            let back = if back == "/"
                && !caller.roles.contains(&Role::Classify)
                && caller.roles.contains(&Role::Admin)
            {
                "/leren".to_string()
            } else {
                back
            };
            let (id, _) = st.sessions.create(Some(caller));
            redirect(&back, Some(set_cookie(&id, st.secure_cookies)))
        }
        None => {
            tracing::info!("web login refused: unknown key");
            ctx.page(
                StatusCode::UNAUTHORIZED,
                login_page(&ctx.csrf, &back, Some("Deze sleutel kennen we niet.")),
            )
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(st): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(id) = cookie_value(&headers) {
        if let Some((_, csrf)) = st.sessions.get(&id) {
            use subtle::ConstantTimeEq;
            if bool::from(f.csrf.as_bytes().ct_eq(csrf.as_bytes())) {
                st.sessions.remove(&id);
                return redirect("/inloggen", None);
            }
        }
    }
    (StatusCode::FORBIDDEN, "CSRF token missing or wrong").into_response()
}

// ---------------------------------------------------------------------------------------------
// Herkennen

#[derive(Deserialize, Default)]
struct ExampleQuery {
    #[serde(default)]
    voorbeeld: String,
}

#[derive(Deserialize, Default)]
struct ClassifyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tekst: String,
    #[serde(default)]
    kanaal: String,
    #[serde(default)]
    afzender: String,
    #[serde(default)]
    onderwerp: String,
    #[serde(default)]
    wachtrij: Option<String>,
}

/// Examples offered on the Herkennen page: the first exercise of each label in the basis set,
/// and an English one.
fn examples() -> Vec<&'static Exercise> {
    let mut v: Vec<&Exercise> = Vec::new();
    for l in Label::ALL {
        if let Some(e) = exercises::all()
            .iter()
            .find(|e| e.set == "basis" && e.label == l)
        {
            v.push(e);
        }
    }
    if let Some(e) = exercises::all().iter().find(|e| e.set == "english") {
        v.push(e);
    }
    v
}

fn herkennen_form(ctx: &Ctx, f: &ClassifyForm) -> String {
    let mut h = String::new();
    h.push_str("<section class=\"card\"><form method=\"post\" action=\"/\">");
    let _ = write!(
        h,
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&ctx.csrf)
    );
    let _ = write!(
        h,
        "<label for=\"tekst\">Bericht <span class=\"hint\">(plak een e-mail, brief of gespreksverslag)</span></label>\
         <textarea id=\"tekst\" name=\"tekst\" required lang=\"nl\" spellcheck=\"false\">{}</textarea>",
        esc(&f.tekst)
    );
    h.push_str("<div class=\"row\"><div><label for=\"kanaal\">Kanaal</label><select id=\"kanaal\" name=\"kanaal\">");
    let chosen: Channel = f.kanaal.parse().unwrap_or_default();
    for c in Channel::ALL {
        let _ = write!(
            h,
            "<option value=\"{}\"{}>{}</option>",
            c.as_str(),
            if c == chosen { " selected" } else { "" },
            render::channel_nl(c)
        );
    }
    let _ = write!(
        h,
        "</select></div><div><label for=\"afzender\">Afzender <span class=\"hint\">(optioneel, voor herhaalde meldingen)</span></label>\
         <input type=\"text\" id=\"afzender\" name=\"afzender\" value=\"{}\" autocomplete=\"off\" placeholder=\"naam@voorbeeld.nl\"></div></div>\
         <label for=\"onderwerp\">Onderwerp <span class=\"hint\">(optioneel)</span></label>\
         <input type=\"text\" id=\"onderwerp\" name=\"onderwerp\" value=\"{}\" autocomplete=\"off\">\
         <label class=\"check\"><input type=\"checkbox\" name=\"wachtrij\" value=\"ja\"{}><span>In de wachtrij zetten <span class=\"hint\">(de juiste afdeling krijgt het bericht)</span></span></label>\
         <div class=\"actions\"><button type=\"submit\" class=\"primary\">Herken</button></div></form>",
        esc(&f.afzender),
        esc(&f.onderwerp),
        if f.wachtrij.is_some() { " checked" } else { "" }
    );
    h.push_str("<p class=\"label\">Of kies een voorbeeld</p><ul class=\"examples\">");
    for e in examples() {
        let _ = write!(
            h,
            "<li><a href=\"/?voorbeeld={}\">{}</a></li>",
            esc(&e.id),
            if e.lang == "en" {
                "Engels bericht".to_string()
            } else {
                format!("{} ({})", label_nl(e.label), render::channel_nl(e.channel))
            }
        );
    }
    h.push_str("</ul></section>");
    h
}

fn herkennen_page(st: &WebState, ctx: &Ctx, f: &ClassifyForm, result: &str) -> String {
    let body = format!(
        "<h1>Herkennen</h1><p class=\"lead\">Is dit een klacht, een melding, een bezwaar of een raadsadres? \
         herken zegt wat het denkt, laat de signalen zien en geeft een zin die u kunt voorlezen.</p>\
         <div class=\"layout\">{}<div class=\"stack\" aria-live=\"polite\">{}</div></div>",
        herkennen_form(ctx, f),
        result
    );
    render::page(
        "Herkennen",
        &st.nav(&ctx.caller, "/"),
        ctx.user(),
        &body,
        false,
        false,
    )
}

async fn herkennen_get(
    State(st): State<WebState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<ExampleQuery>,
) -> Response {
    let ctx = match st.ctx(&headers, &uri, Role::Classify) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut f = ClassifyForm::default();
    if let Some(e) = exercises::all().iter().find(|e| e.id == q.voorbeeld) {
        f.tekst = e.text.clone();
        f.kanaal = e.channel.as_str().to_string();
    }
    let empty = "<section class=\"card empty\"><p class=\"big\">Nog geen bericht</p>\
                 <p>Plak links een bericht of kies een voorbeeld, en kies <strong>Herken</strong>.</p></section>";
    ctx.page(StatusCode::OK, herkennen_page(&st, &ctx, &f, empty))
}

async fn herkennen_post(
    State(st): State<WebState>,
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<ClassifyForm>,
) -> Response {
    let ctx = match st.ctx(&headers, &uri, Role::Classify) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    if !ctx.csrf_ok(&f.csrf) {
        let msg = "<p class=\"error\" role=\"alert\">Het formulier was verlopen (of kwam niet van deze pagina). Kies nog eens <strong>Herken</strong>.</p>";
        return ctx.page(StatusCode::FORBIDDEN, herkennen_page(&st, &ctx, &f, msg));
    }
    let error = |m: String| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(&m));
    let channel: Channel = match f.kanaal.parse() {
        Ok(c) => c,
        Err(_) => {
            return ctx.page(
                StatusCode::BAD_REQUEST,
                herkennen_page(&st, &ctx, &f, &error("Onbekend kanaal.".into())),
            )
        }
    };
    if f.afzender.chars().count() > st.max_sender_chars
        || f.onderwerp.chars().count() > st.max_subject_chars
    {
        let m = format!(
            "De afzender mag hoogstens {} tekens zijn, het onderwerp {}.",
            st.max_sender_chars, st.max_subject_chars
        );
        return ctx.page(
            StatusCode::BAD_REQUEST,
            herkennen_page(&st, &ctx, &f, &error(m)),
        );
    }
    let mut message = Message::new(f.tekst.replace("\r\n", "\n"));
    message.channel = channel;
    message.sender = f.afzender.trim().to_string();
    message.subject = f.onderwerp.trim().to_string();
    let route = f.wachtrij.is_some();
    match st.engine.classify_and_route(message.clone(), route).await {
        Ok((outcome, queued)) => {
            let html = outcome_html(&message, &outcome, route, queued);
            ctx.page(StatusCode::OK, herkennen_page(&st, &ctx, &f, &html))
        }
        Err(Error::InvalidArgument { problem, .. }) => {
            let m = if message.text.trim().is_empty() {
                "Plak eerst een bericht.".to_string()
            } else {
                format!("Dit bericht kan herken niet lezen: het {problem}.")
            };
            ctx.page(
                StatusCode::BAD_REQUEST,
                herkennen_page(&st, &ctx, &f, &error(m)),
            )
        }
        Err(Error::Exhausted(_)) => ctx.page(
            StatusCode::SERVICE_UNAVAILABLE,
            herkennen_page(
                &st,
                &ctx,
                &f,
                &error(
                    "herken heeft het nu erg druk. Probeer het over een paar seconden opnieuw."
                        .into(),
                ),
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "web classify failed");
            ctx.page(
                StatusCode::SERVICE_UNAVAILABLE,
                herkennen_page(&st, &ctx, &f, &error("Er ging iets mis bij het herkennen. Probeer het opnieuw; blijft het misgaan, meld het dan aan de beheerder.".into())),
            )
        }
    }
}

/// The answer for one message, as the counter sees it.
fn outcome_html(m: &Message, o: &crate::recognizer::Outcome, route: bool, queued: bool) -> String {
    let lang = o.language.as_str();
    let mut h = String::new();
    let _ = write!(
        h,
        "<section class=\"card\" aria-labelledby=\"uitkomst\"><h2 id=\"uitkomst\" class=\"sr\">Uitkomst</h2>\
         <div class=\"verdict\"><span class=\"pill l-{}\" data-testid=\"label\">{}</span>\
         <span class=\"conf\">{:.0}&nbsp;% zeker</span></div>\
         <p class=\"queue\">{} <span class=\"muted\">({})</span></p>",
        o.label.as_str(),
        label_nl(o.label),
        o.confidence * 100.0,
        if route && queued {
            format!("In de wachtrij <strong>{}</strong> gezet.", esc(&o.queue))
        } else if route {
            format!("Stond al in de wachtrij <strong>{}</strong>.", esc(&o.queue))
        } else {
            format!("Zou naar de wachtrij <strong>{}</strong> gaan.", esc(&o.queue))
        },
        label_hint(o.label)
    );
    let _ = write!(
        h,
        "<div class=\"readaloud\" lang=\"{lang}\"><span class=\"tag\" lang=\"nl\">Om voor te lezen</span>{}</div>",
        esc(&o.explanation)
    );
    if o.needs_clarification && !o.clarifying_question.is_empty() {
        let _ = write!(
            h,
            "<div class=\"note doubt\"><span class=\"tag\">Bij twijfel: vraag naar de bedoeling</span><p class=\"question\" lang=\"{lang}\">{}</p></div>",
            esc(&o.clarifying_question)
        );
    }
    if !o.satisfaction_reminder.is_empty() {
        let _ = write!(
            h,
            "<div class=\"note satisfied\"><span class=\"tag\">Tevredenheid</span><span lang=\"{lang}\">{}</span></div>",
            esc(&o.satisfaction_reminder)
        );
    }
    if o.repeat.is_repeat || o.duplicate_of.is_some() || o.similar_reports > 0 {
        h.push_str("<div class=\"note repeat\"><span class=\"tag\">Herhaling</span>");
        if !o.repeat.reason.is_empty() {
            let _ = write!(h, "<p lang=\"{lang}\">{}</p>", esc(&o.repeat.reason));
        }
        if !o.repeat.previous_message_ids.is_empty() {
            let _ = write!(
                h,
                "<p>Eerdere berichten: {}</p>",
                o.repeat.previous_message_ids.len()
            );
        }
        if o.similar_reports > 0 {
            let _ = write!(
                h,
                "<p>{} andere melder(s) meldden onlangs hetzelfde.</p>",
                o.similar_reports
            );
        }
        h.push_str("</div>");
    }
    for w in &o.warnings {
        let _ = write!(h, "<div class=\"note warning\"><span class=\"tag\">Let op</span><span lang=\"{lang}\">{}</span></div>", esc(w));
    }
    h.push_str(&render::label_bars(&o.scores, o.label));
    let _ = write!(
        h,
        "<dl class=\"facts\"><dt>Termijn</dt><dd>{}</dd><dt>Kanaal</dt><dd>{}</dd><dt>Taal</dt><dd>{}</dd></dl></section>",
        render::date_nl(o.due_at),
        render::channel_nl(m.channel),
        if lang == "en" { "Engels" } else { "Nederlands" }
    );
    let _ = write!(
        h,
        "<section class=\"card\" aria-labelledby=\"signalen\"><h2 id=\"signalen\">Signalen in de tekst</h2>\
         <pre class=\"message\" lang=\"{lang}\" data-testid=\"text\">{}</pre>{}</section>",
        render::highlight(&m.text, &o.cues),
        render::legend(&o.cues)
    );
    h
}

// ---------------------------------------------------------------------------------------------
// Oefenen

#[derive(Deserialize, Default)]
struct RoundQuery {
    #[serde(default)]
    set: String,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    n: usize,
    /// The answers so far, one letter each (k, m, b, r, o).
    #[serde(default)]
    a: String,
    #[serde(default)]
    keuze: String,
}

fn letter(l: Label) -> char {
    match l {
        Label::Klacht => 'k',
        Label::Melding => 'm',
        Label::Bezwaar => 'b',
        Label::Raadsadres => 'r',
        Label::Overig => 'o',
    }
}

/// The round's exercises, or why the query is wrong.
fn round(q: &RoundQuery) -> Result<Vec<&'static Exercise>, String> {
    if !exercises::is_set(&q.set) {
        return Err("Kies een oefenset.".into());
    }
    let pool = exercises::set(Some(&q.set));
    let n = q.n.clamp(1, pool.len());
    if q.a.len() > n || !q.a.chars().all(|c| "kmbro".contains(c)) {
        return Err("Deze ronde klopt niet meer. Begin een nieuwe.".into());
    }
    Ok(exercises::shuffled(&pool, q.seed)
        .into_iter()
        .take(n)
        .collect())
}

fn round_link(path: &str, q: &RoundQuery, answers: &str) -> String {
    format!(
        "{path}?set={}&amp;seed={}&amp;n={}&amp;a={}",
        esc(&q.set),
        q.seed,
        q.n,
        esc(answers)
    )
}

/// "Vraag i+1 van n", the score so far and a bar of the `done` questions.
fn progress(i: usize, n: usize, score: Option<usize>, done: usize) -> String {
    let w = (done.min(n) * 300).checked_div(n).unwrap_or(0);
    format!(
        "<div class=\"progress\"><span>Vraag {} van {n}</span>{}</div>\
         <svg class=\"progress-bar\" width=\"300\" height=\"8\" viewBox=\"0 0 300 8\" preserveAspectRatio=\"none\" aria-hidden=\"true\" focusable=\"false\"><rect width=\"300\" height=\"8\" rx=\"4\" class=\"track\"/><rect width=\"{w}\" height=\"8\" rx=\"4\" class=\"l-melding\"/></svg>",
        (i + 1).min(n),
        score.map(|s| format!("<span>{s} goed</span>")).unwrap_or_default()
    )
}

fn score_of(items: &[&Exercise], answers: &str) -> usize {
    items
        .iter()
        .zip(answers.chars())
        .filter(|(e, c)| letter(e.label) == *c)
        .count()
}

async fn oefenen_start(State(st): State<WebState>, headers: HeaderMap, uri: Uri) -> Response {
    let ctx = match st.ctx(&headers, &uri, Role::Classify) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut body = String::from("<h1>Oefenen</h1><p class=\"lead\">Lees het bericht en kies wat het is. \
        Daarna ziet u het goede antwoord, de signalen in de tekst en waarom. Aan het eind krijgt u uw score.</p><div class=\"sets\">");
    let seed = u64::from_str_radix(&random_hex()[..12], 16).unwrap_or(1);
    for (set, title) in exercises::SETS {
        let count = exercises::set(Some(set)).len();
        let (name, rest) = title.split_once(": ").unwrap_or((title, ""));
        let _ = write!(
            body,
            "<section class=\"card\"><h2>{}</h2><p>{} <span class=\"muted\">({count} berichten)</span></p>\
             <form method=\"get\" action=\"/oefenen/vraag\"><input type=\"hidden\" name=\"set\" value=\"{set}\">\
             <input type=\"hidden\" name=\"seed\" value=\"{seed}\"><input type=\"hidden\" name=\"a\" value=\"\">\
             <label for=\"n-{set}\">Aantal vragen</label><select id=\"n-{set}\" name=\"n\">\
             <option value=\"5\">5</option><option value=\"10\" selected>10</option><option value=\"{count}\">alle {count}</option></select>\
             <div class=\"actions\"><button type=\"submit\" class=\"primary\">Begin</button></div></form></section>",
            esc(name),
            esc(rest)
        );
    }
    body.push_str("</div>");
    ctx.page(
        StatusCode::OK,
        render::page(
            "Oefenen",
            &st.nav(&ctx.caller, "/oefenen"),
            ctx.user(),
            &body,
            false,
            false,
        ),
    )
}

fn round_error(st: &WebState, ctx: &Ctx, m: &str) -> Response {
    let body = format!("<h1>Oefenen</h1><p class=\"error\" role=\"alert\">{}</p><p><a class=\"btn primary\" href=\"/oefenen\">Naar de oefensets</a></p>", esc(m));
    ctx.page(
        StatusCode::BAD_REQUEST,
        render::page(
            "Oefenen",
            &st.nav(&ctx.caller, "/oefenen"),
            ctx.user(),
            &body,
            false,
            false,
        ),
    )
}

async fn oefenen_vraag(
    State(st): State<WebState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<RoundQuery>,
) -> Response {
    let ctx = match st.ctx(&headers, &uri, Role::Classify) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let items = match round(&q) {
        Ok(i) => i,
        Err(m) => return round_error(&st, &ctx, &m),
    };
    let q = RoundQuery {
        n: items.len(),
        ..q
    };
    let i = q.a.len();
    let nav = st.nav(&ctx.caller, "/oefenen");
    if i >= items.len() {
        let score = score_of(&items, &q.a);
        let mut body = format!(
            "<h1>Uitslag</h1><section class=\"card\"><p class=\"score\" data-testid=\"score\">{score} van {}</p><p class=\"lead\">{}</p>",
            items.len(),
            match score * 100 / items.len().max(1) {
                90.. => "Uitstekend: u herkent klachten ook als het woord er niet in staat.",
                70..=89 => "Goed gedaan. Kijk nog even naar de vragen die misgingen.",
                50..=69 => "Een goed begin. Lees de uitleg bij de vragen die misgingen nog eens.",
                _ => "Oefen nog eens: let op ongenoegen, herhaling en wat de schrijver verwacht.",
            }
        );
        body.push_str("<table class=\"data\"><caption class=\"sr\">Uw antwoorden</caption><thead><tr><th scope=\"col\">nr</th><th scope=\"col\">bericht</th><th scope=\"col\">uw antwoord</th><th scope=\"col\">goed antwoord</th><th scope=\"col\">uitkomst</th></tr></thead><tbody>");
        for (k, (e, c)) in items.iter().zip(q.a.chars()).enumerate() {
            let given = Label::ALL
                .into_iter()
                .find(|l| letter(*l) == c)
                .unwrap_or(Label::Overig);
            let start: String = e.text.chars().take(70).collect();
            let _ = write!(
                body,
                "<tr><td>{}</td><td lang=\"{}\">{}…</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                k + 1,
                esc(&e.lang),
                esc(&start.replace('\n', " ")),
                label_nl(given),
                label_nl(e.label),
                if given == e.label {
                    "<span class=\"result-ok\">✓ goed</span>"
                } else {
                    "<span class=\"result-bad\">✗ fout</span>"
                }
            );
        }
        let _ = write!(
            body,
            "</tbody></table><div class=\"actions\"><a class=\"btn primary\" href=\"/oefenen\">Nieuwe ronde</a>\
             <a class=\"btn secondary\" href=\"{}\">Zelfde ronde opnieuw</a></div></section>",
            round_link("/oefenen/vraag", &q, "")
        );
        return ctx.page(
            StatusCode::OK,
            render::page("Uitslag", &nav, ctx.user(), &body, false, false),
        );
    }
    let e = items[i];
    let mut body = String::from("<h1>Oefenen</h1><section class=\"card\">");
    body.push_str(&progress(i, items.len(), Some(score_of(&items, &q.a)), i));
    let _ = write!(
        body,
        "<p class=\"muted\">Binnengekomen via <strong>{}</strong></p><pre class=\"message\" lang=\"{}\" data-testid=\"text\">{}</pre>\
         <form method=\"get\" action=\"/oefenen/antwoord\"><fieldset class=\"plain\"><legend class=\"label\">Wat is dit?</legend>\
         <input type=\"hidden\" name=\"set\" value=\"{}\"><input type=\"hidden\" name=\"seed\" value=\"{}\">\
         <input type=\"hidden\" name=\"n\" value=\"{}\"><input type=\"hidden\" name=\"a\" value=\"{}\"><div class=\"choices\">",
        render::channel_nl(e.channel),
        esc(&e.lang),
        esc(&e.text),
        esc(&q.set),
        q.seed,
        q.n,
        esc(&q.a)
    );
    for l in Label::ALL {
        let _ = write!(
            body,
            "<button type=\"submit\" name=\"keuze\" value=\"{}\" class=\"l-{}\" data-key=\"{}\">{}<small>toets {}</small></button>",
            l.as_str(),
            l.as_str(),
            letter(l),
            label_nl(l),
            letter(l).to_ascii_uppercase()
        );
    }
    body.push_str("</div></fieldset></form></section>");
    ctx.page(
        StatusCode::OK,
        render::page("Oefenen", &nav, ctx.user(), &body, false, false),
    )
}

async fn oefenen_antwoord(
    State(st): State<WebState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<RoundQuery>,
) -> Response {
    let ctx = match st.ctx(&headers, &uri, Role::Classify) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let items = match round(&q) {
        Ok(i) => i,
        Err(m) => return round_error(&st, &ctx, &m),
    };
    let q = RoundQuery {
        n: items.len(),
        ..q
    };
    let i = q.a.len();
    let Some(given) = exercises::parse_answer(&q.keuze) else {
        return round_error(&st, &ctx, "Kies een van de vijf antwoorden.");
    };
    if i >= items.len() {
        return round_error(&st, &ctx, "Deze ronde is al klaar.");
    }
    let e = items[i];
    let answers = format!("{}{}", q.a, letter(given));
    let right = given == e.label;
    let herken = herken_says(&st, e).await;
    let mut body = String::from("<h1>Oefenen</h1><section class=\"card\">");
    body.push_str(&progress(
        i,
        items.len(),
        Some(score_of(&items, &answers)),
        i + 1,
    ));
    let _ = write!(
        body,
        "<div role=\"status\"><h2 class=\"{}\" data-testid=\"result\">{}</h2></div>\
         <div class=\"verdict\"><span>Het goede antwoord:</span><span class=\"pill l-{}\" data-testid=\"answer\">{}</span>{}</div>",
        if right { "result-ok" } else { "result-bad" },
        if right {
            "✓ Goed!".to_string()
        } else {
            format!("✗ Niet goed: u koos {}", label_nl(given).to_lowercase())
        },
        e.label.as_str(),
        label_nl(e.label),
        herken
    );
    let _ = write!(
        body,
        "<h3 class=\"label\">De signalen</h3><pre class=\"message\" lang=\"{}\" data-testid=\"text\">{}</pre>\
         <div class=\"readaloud\"><span class=\"tag\">Waarom</span>{}</div>",
        esc(&e.lang),
        render::highlight_spans(&e.text, &exercises::cue_spans(e)),
        esc(&e.teaching_note)
    );
    let next = round_link("/oefenen/vraag", &q, &answers);
    let _ = write!(
        body,
        "<div class=\"actions\"><a class=\"btn primary\" href=\"{next}\" data-key=\"enter space arrowright\">{}</a>\
         <span class=\"muted\">of druk op Enter</span></div></section>",
        if i + 1 >= items.len() { "Naar de uitslag" } else { "Volgende vraag" }
    );
    ctx.page(
        StatusCode::OK,
        render::page(
            "Oefenen",
            &st.nav(&ctx.caller, "/oefenen"),
            ctx.user(),
            &body,
            false,
            false,
        ),
    )
}

/// What herken itself says of an exercise (not remembered: no sender).
async fn herken_says(st: &WebState, e: &Exercise) -> String {
    let r = st.engine.recognizer().clone();
    let mut m = Message::new(e.text.clone());
    m.channel = e.channel;
    match crate::admission::run_blocking(st.admission.as_ref(), move || r.classify(&m)).await {
        Ok(Ok(o)) => format!(
            "<span class=\"muted\">herken zelf: <span class=\"pill small l-{}\">{}</span> {:.0}&nbsp;%</span>",
            o.label.as_str(),
            label_nl(o.label),
            o.confidence * 100.0
        ),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Zaalmodus

#[derive(Deserialize, Default)]
struct RoomQuery {
    #[serde(default)]
    set: String,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    i: usize,
    #[serde(default)]
    toon: u8,
}

async fn zaal_start(State(st): State<WebState>, headers: HeaderMap, uri: Uri) -> Response {
    let ctx = match st.ctx(&headers, &uri, Role::Classify) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let seed = u64::from_str_radix(&random_hex()[..12], 16).unwrap_or(1);
    let mut body = String::from("<h1>Zaalmodus</h1><p class=\"lead\">Voor de trainer: toon een bericht groot op het scherm, laat de zaal stemmen \
        (handen omhoog bij klacht, melding, bezwaar, raadsadres of overig) en onthul dan het antwoord met de signalen en de uitleg. \
        Sneltoetsen: <kbd>spatie</kbd> onthullen, <kbd>→</kbd> volgende, <kbd>←</kbd> vorige, <kbd>F</kbd> volledig scherm.</p><div class=\"sets\">");
    for (set, title) in exercises::SETS {
        let (name, rest) = title.split_once(": ").unwrap_or((title, ""));
        let _ = write!(
            body,
            "<section class=\"card\"><h2>{}</h2><p>{}</p><a class=\"btn primary\" href=\"/zaal/bericht?set={set}&amp;seed={seed}&amp;i=0\">Start met {}</a></section>",
            esc(name),
            esc(rest),
            esc(&name.to_lowercase())
        );
    }
    body.push_str("</div>");
    ctx.page(
        StatusCode::OK,
        render::page(
            "Zaalmodus",
            &st.nav(&ctx.caller, "/zaal"),
            ctx.user(),
            &body,
            false,
            false,
        ),
    )
}

async fn zaal_bericht(
    State(st): State<WebState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<RoomQuery>,
) -> Response {
    let ctx = match st.ctx(&headers, &uri, Role::Classify) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    if !exercises::is_set(&q.set) {
        return round_error(&st, &ctx, "Kies een oefenset.");
    }
    let items = exercises::shuffled(&exercises::set(Some(&q.set)), q.seed);
    let n = items.len();
    let i = q.i.min(n.saturating_sub(1));
    let e = items[i];
    let shown = q.toon == 1;
    let link = |i: usize, toon: bool| {
        format!(
            "/zaal/bericht?set={}&amp;seed={}&amp;i={i}{}",
            esc(&q.set),
            q.seed,
            if toon { "&amp;toon=1" } else { "" }
        )
    };
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class=\"room-head\"><span>Bericht {} van {n} · via {}</span><span><a href=\"/zaal\">Stoppen</a> \
         <button type=\"button\" id=\"fullscreen\" class=\"btn secondary\" data-key=\"f\" hidden>Volledig scherm</button></span></div>\
         <h1 class=\"sr\">Zaalmodus</h1><div class=\"room-text\" lang=\"{}\" data-testid=\"text\">{}</div>",
        i + 1,
        render::channel_nl(e.channel),
        esc(&e.lang),
        if shown {
            render::highlight_spans(&e.text, &exercises::cue_spans(e))
        } else {
            esc(&e.text)
        }
    );
    body.push_str("<div class=\"votes\" aria-label=\"Stemmen\">");
    for l in Label::ALL {
        let _ = write!(
            body,
            "<div class=\"vote l-{}{}\">{}<span class=\"key\">{}</span></div>",
            l.as_str(),
            if shown && l != e.label { " dim" } else { "" },
            label_nl(l),
            label_hint(l)
        );
    }
    body.push_str("</div>");
    if shown {
        let _ = write!(
            body,
            "<div class=\"reveal\" role=\"status\"><p><span class=\"pill l-{}\" data-testid=\"answer\">{}</span></p><p lang=\"nl\">{}</p></div>",
            e.label.as_str(),
            label_nl(e.label),
            esc(&e.teaching_note)
        );
    }
    body.push_str("<div class=\"room-actions\">");
    if i > 0 {
        let _ = write!(
            body,
            "<a class=\"btn secondary\" href=\"{}\" data-key=\"arrowleft\">← Vorige</a>",
            link(i - 1, false)
        );
    }
    if !shown {
        let _ = write!(
            body,
            "<a class=\"btn primary\" href=\"{}\" data-key=\"space enter\">Onthul het antwoord</a>",
            link(i, true)
        );
    }
    if i + 1 < n {
        let _ = write!(
            body,
            "<a class=\"btn {}\" href=\"{}\" data-key=\"arrowright{}\">Volgende →</a>",
            if shown { "primary" } else { "secondary" },
            link(i + 1, false),
            if shown { " space enter" } else { "" }
        );
    } else if shown {
        body.push_str(
            "<a class=\"btn primary\" href=\"/zaal\" data-key=\"arrowright space enter\">Klaar</a>",
        );
    }
    body.push_str("</div>");
    let html = render::page("Zaalmodus", &[], None, &body, false, false).replacen(
        "<body>",
        "<body class=\"room\">",
        1,
    );
    ctx.page(StatusCode::OK, html)
}

// ---------------------------------------------------------------------------------------------
// Leren

#[derive(Deserialize, Default)]
struct PeriodQuery {
    #[serde(default)]
    van: String,
    #[serde(default)]
    tot: String,
}

/// The period of a report from dates (`YYYY-MM-DD`, `tot` inclusive); defaults: the last 12
/// weeks up to today.
pub fn period(
    van: &str,
    tot: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), String> {
    let today = now.date_naive();
    let parse = |s: &str, what: &str| {
        chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| format!("{what} {s:?} is geen datum als 2026-03-01"))
    };
    let to = if tot.trim().is_empty() {
        today
    } else {
        parse(tot, "tot")?
    };
    let from = if van.trim().is_empty() {
        to - chrono::Duration::weeks(12) + chrono::Duration::days(1)
    } else {
        parse(van, "van")?
    };
    if from > to {
        return Err("de begindatum ligt na de einddatum".into());
    }
    if (to - from).num_days() > 3700 {
        return Err("kies een periode van hoogstens tien jaar".into());
    }
    Ok((from, to))
}

/// The report spec for a period of dates (whole days, UTC).
pub fn spec(
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    min_count: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> ReportSpec {
    ReportSpec {
        from: from
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc(),
        to: (to + chrono::Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc(),
        min_count,
        now,
    }
}

async fn report_for(
    st: &WebState,
    q: &PeriodQuery,
) -> Result<
    (
        crate::store::report::Report,
        chrono::NaiveDate,
        chrono::NaiveDate,
    ),
    Response,
> {
    let now = chrono::Utc::now();
    let (from, to) =
        period(&q.van, &q.tot, now).map_err(|m| (StatusCode::BAD_REQUEST, m).into_response())?;
    match st
        .store
        .report(&spec(from, to, st.report_min_count, now))
        .await
    {
        Ok(r) => Ok((r, from, to)),
        Err(e) => {
            tracing::warn!(error = %e, "report failed");
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "the report could not be made; see the server log",
            )
                .into_response())
        }
    }
}

async fn leren(
    State(st): State<WebState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let ctx = match st.ctx(&headers, &uri, Role::Admin) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let nav = st.nav(&ctx.caller, "/leren");
    let now = chrono::Utc::now();
    let mut body = String::from("<h1>Leren van klachten</h1>");
    let (from, to) = match period(&q.van, &q.tot, now) {
        Ok(p) => p,
        Err(m) => {
            let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", esc(&m));
            let (f, t) = period("", "", now).expect("the default period is valid");
            body.push_str(&period_form(f, t));
            return ctx.page(
                StatusCode::BAD_REQUEST,
                render::page("Leren", &nav, ctx.user(), &body, false, true),
            );
        }
    };
    body.push_str(&period_form(from, to));
    match st
        .store
        .report(&spec(from, to, st.report_min_count, now))
        .await
    {
        Ok(r) => {
            let query = format!("van={from}&amp;tot={to}");
            body.push_str(&render::report_body(&r, Some(&query)));
            ctx.page(
                StatusCode::OK,
                render::page("Leren", &nav, ctx.user(), &body, false, true),
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "report failed");
            body.push_str("<p class=\"error\" role=\"alert\">Het overzicht kon niet worden gemaakt. Probeer het later opnieuw.</p>");
            ctx.page(
                StatusCode::SERVICE_UNAVAILABLE,
                render::page("Leren", &nav, ctx.user(), &body, false, true),
            )
        }
    }
}

fn period_form(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    format!(
        "<form method=\"get\" action=\"/leren\" class=\"card inline\"><div><label for=\"van\">Van</label><input type=\"date\" id=\"van\" name=\"van\" value=\"{from}\"></div>\
         <div><label for=\"tot\">Tot en met</label><input type=\"date\" id=\"tot\" name=\"tot\" value=\"{to}\"></div>\
         <div><button type=\"submit\" class=\"primary\">Toon</button></div></form>"
    )
}

async fn leren_json(
    State(st): State<WebState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<PeriodQuery>,
) -> Response {
    if let Err(r) = st.ctx(&headers, &uri, Role::Admin) {
        return *r;
    }
    match report_for(&st, &q).await {
        Ok((r, from, to)) => (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"herken-leren-{from}-{to}.json\""),
                ),
            ],
            serde_json::to_string_pretty(&r).expect("the report serialises"),
        )
            .into_response(),
        Err(r) => r,
    }
}

async fn leren_csv(
    State(st): State<WebState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<PeriodQuery>,
) -> Response {
    if let Err(r) = st.ctx(&headers, &uri, Role::Admin) {
        return *r;
    }
    match report_for(&st, &q).await {
        Ok((r, from, to)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"herken-leren-{from}-{to}.csv\""),
                ),
            ],
            r.to_csv(),
        )
            .into_response(),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_back("/leren?van=2026-01-01"), "/leren?van=2026-01-01");
        assert_eq!(safe_back("//evil.example/"), "/");
        assert_eq!(safe_back("https://evil.example/"), "/");
        assert_eq!(safe_back("/\\evil"), "/");
        assert_eq!(safe_back(""), "/");
    }

    #[test]
    fn plain_http_pages_are_refused_off_loopback_unless_a_proxy_is_declared() {
        let mut access = crate::config::Config::default().access;
        assert!(check_exposure("127.0.0.1:8080".parse().unwrap(), &access).is_ok());
        let err = check_exposure("0.0.0.0:8080".parse().unwrap(), &access).unwrap_err();
        assert!(err.to_string().contains("allow_insecure"), "{err}");
        access.allow_insecure = true;
        assert!(check_exposure("0.0.0.0:8080".parse().unwrap(), &access).is_ok());
    }

    #[test]
    fn the_session_cookie_is_httponly_and_strict() {
        let c = set_cookie(&"a".repeat(64), false);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly"));
        assert!(!c.contains("Secure"));
        assert!(set_cookie(&"a".repeat(64), true)
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
        assert!(c.contains("SameSite=Strict"));
        assert!(c.starts_with("herken_sessie="));
    }

    #[test]
    fn only_well_formed_session_ids_are_read() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("x=1; herken_sessie=zz"),
        );
        assert_eq!(cookie_value(&h), None);
        let id = "ab".repeat(32);
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("x=1; herken_sessie={id}")).unwrap(),
        );
        assert_eq!(cookie_value(&h), Some(id));
    }

    #[test]
    fn periods_default_to_twelve_weeks_and_refuse_nonsense() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-31T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let (f, t) = period("", "", now).unwrap();
        assert_eq!(t.to_string(), "2026-03-31");
        assert_eq!((t - f).num_days(), 83);
        assert!(period("2026-04-01", "2026-03-01", now).is_err());
        assert!(period("gisteren", "", now).is_err());
        let s = spec(f, t, 5, now);
        assert_eq!(s.to.to_rfc3339(), "2026-04-01T00:00:00+00:00");
    }

    #[test]
    fn a_round_is_bounded_and_its_answers_are_letters() {
        let q = RoundQuery {
            set: "basis".into(),
            seed: 3,
            n: 1000,
            a: String::new(),
            keuze: String::new(),
        };
        assert_eq!(
            round(&q).unwrap().len(),
            exercises::set(Some("basis")).len()
        );
        let q = RoundQuery {
            set: "basis".into(),
            seed: 3,
            n: 2,
            a: "kmb".into(),
            keuze: String::new(),
        };
        assert!(round(&q).is_err());
        let q = RoundQuery {
            set: "basis".into(),
            seed: 3,
            n: 5,
            a: "x".into(),
            keuze: String::new(),
        };
        assert!(round(&q).is_err());
        let q = RoundQuery {
            set: "../etc".into(),
            seed: 3,
            n: 5,
            a: String::new(),
            keuze: String::new(),
        };
        assert!(round(&q).is_err());
    }
}
