//! The local runner: every Lambda handler behind one HTTP server on the template's routes,
//! the send worker in process, the Twilio sandbox, demo data, and the web page.

mod backend;
pub mod chaos;
mod crm;
pub mod erase;
mod faults;
pub mod gateway;
pub mod live;
mod media_store;
pub mod sandbox;
pub mod seed;
mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, any, get};
use serde::Serialize;
use shared::config::{ConfigError, Settings};
use shared::domain::{ChannelConfig, parse_org_secret};
use shared::memory::MemoryMedia;
use shared::ports::PortError;
use shared::routes::{ROUTES, Route};
use shared::twilio::{TwilioClient, TwilioError};
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

use crate::gateway::{Claims, GatewayInput};
use crate::seed::Seed;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("seed: {0}")]
    Seed(String),
    #[error("twilio client: {0}")]
    Twilio(#[from] TwilioError),
    #[error("store: {0}")]
    Store(#[from] PortError),
}

/// Reads a setting by name (the process environment, or a map in tests).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub struct Options {
    /// 0 picks a free port.
    pub port: u16,
    pub seed: Seed,
    /// The Send Message page's static files.
    pub web_dir: PathBuf,
    /// Environment lookups (settings are read as the Lambdas read them, with local
    /// defaults for what points at this process).
    pub env: EnvLookup,
    /// Pause between the sandbox's status callbacks.
    pub callback_delay: Duration,
    pub backend: Backend,
}

/// Where data lives while the runner runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// In-process stores and queue (nothing to install, gone on exit).
    Memory,
    /// DynamoDB, Secrets Manager and SQS through the AWS adapters, at `AWS_ENDPOINT_URL`
    /// (an emulator) or real AWS.
    Aws,
}

impl Options {
    pub fn from_process_env(port: u16, seed: Seed, web_dir: PathBuf) -> Self {
        Self {
            port,
            seed,
            web_dir,
            env: Arc::new(|name| std::env::var(name).ok()),
            callback_delay: Duration::from_millis(700),
            backend: Backend::Memory,
        }
    }
}

/// One demo organization as `/local/demo` shows it (never its Twilio token).
#[derive(Debug, Clone, Serialize)]
pub struct DemoOrganization {
    pub organization_id: String,
    pub name: String,
    pub user: DemoUser,
    pub token: String,
    pub whatsapp_configured: bool,
    /// The organization's number, or its Messaging Service sid when it has no number.
    pub sender: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoUser {
    pub sub: String,
    pub email: String,
}

pub struct Running {
    pub addr: SocketAddr,
    pub base_url: String,
    /// Whether the Twilio API in use is this process's sandbox: only then are demo tokens
    /// served (`/local/demo`) and `/sandbox/*` mounted.
    pub own_sandbox: bool,
    pub organizations: Vec<DemoOrganization>,
    pub settings: Settings,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Resolves when the server stops.
    pub async fn server_finished(&self) {
        while !self.server.is_finished() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub fn stop(&self) {
        self.server.abort();
    }
}

#[derive(Clone)]
struct AppState {
    handlers: Arc<dyn backend::Dispatch>,
    /// The JWT claim that carries the organization (`ORG_CLAIM`).
    org_claim: String,
    /// The in-process stores' failure injection (None on the AWS adapters).
    store_faults: Option<backend::StoreFaultSwitches>,
    tokens: Arc<HashMap<String, Claims>>,
    demo: Arc<Vec<DemoOrganization>>,
    /// The Event API's WebSocket (`/event/realtime`); None where push is not served.
    live: Option<live::socket::Context>,
}

/// The settings the handlers get: the environment first, then local defaults pointing the
/// Twilio client and the webhook URLs at this process.
fn local_settings(
    env: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    base_url: &str,
    backend: Backend,
) -> Result<Settings, ConfigError> {
    let base_url = base_url.to_owned();
    let host = base_url.trim_start_matches("http://").to_owned();
    // Push is served here with the in-process stores (their change feed); on the AWS
    // adapters there is no stream to read, and pages poll.
    let live_here = backend == Backend::Memory && env("LIVE_REALTIME_URL").is_none();
    Settings::from_lookup(|name| {
        env(name).or_else(|| match name {
            "LIVE_HTTP_HOST" if live_here => Some(host.clone()),
            "LIVE_REALTIME_URL" if live_here => Some(format!("ws://{host}/event/realtime")),
            "PUBLIC_BASE_URL" => Some(base_url.clone()),
            "TWILIO_API_BASE_URL" => Some(format!("{base_url}/sandbox")),
            // Templates come from wherever messages go: real Twilio's Content API when the
            // API is real Twilio.
            "TWILIO_CONTENT_BASE_URL" | "TWILIO_MESSAGING_BASE_URL"
                if env("TWILIO_API_BASE_URL").is_none() =>
            {
                Some(format!("{base_url}/sandbox"))
            }
            "TWILIO_TIMEOUT_SECONDS" => Some("5".into()),
            "SEND_RETRY_BASE_MS" => Some("1000".into()),
            _ => None,
        })
    })
}

pub async fn start(options: Options) -> Result<Running, LocalError> {
    let listener = TcpListener::bind(("127.0.0.1", options.port))
        .await
        .map_err(|source| LocalError::Bind {
            port: options.port,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| LocalError::Bind {
        port: options.port,
        source,
    })?;
    let base_url = format!("http://{addr}");
    let settings = local_settings(options.env.as_ref(), &base_url, options.backend)?;

    let own_sandbox = uses_own_sandbox(&settings.twilio_api_base_url, addr);
    let mut media_policy = settings.media_policy();
    if own_sandbox {
        // The sandbox serves media over plain http on loopback: the one exception.
        media_policy = media_policy.with_local_sandbox(&settings.twilio_api_base_url);
    }
    let twilio = TwilioClient::new(&settings.twilio_api_base_url, settings.twilio_timeout)?
        .with_content_base_url(&settings.twilio_content_base_url)?
        .with_messaging_base_url(&settings.twilio_messaging_base_url)?
        .with_media_policy(media_policy);
    let media = MemoryMedia::new(base_url.clone());
    let hub = live::Hub::default();
    let (handlers, store_faults, feeds) = match options.backend {
        Backend::Memory => {
            let (handlers, faults, feeds) =
                backend::memory(&options.seed, &settings, twilio, media.clone()).await?;
            (handlers, Some(faults), feeds)
        }
        Backend::Aws => (
            backend::aws(&options.seed, &settings, twilio, &options.env).await?,
            None,
            Vec::new(),
        ),
    };
    let serve_live = !feeds.is_empty()
        && settings
            .live
            .as_ref()
            .is_some_and(|l| l.realtime_url == format!("ws://{}/event/realtime", addr));
    if serve_live {
        live::feed(hub.clone(), media.clone(), feeds);
    }
    let mut tokens = HashMap::new();
    let mut demo = Vec::new();
    for org in &options.seed.organizations {
        // Its number, or the Messaging Service it sends through.
        let sender =
            org.twilio
                .as_ref()
                .and_then(|secret| match parse_org_secret(&secret.to_string()) {
                    ChannelConfig::Configured(config) => config
                        .whatsapp_from
                        .map(|from| from.to_string())
                        .or(config.messaging_service_sid),
                    ChannelConfig::NotConfigured { .. } => None,
                });
        let token = format!("demo.{}.{}", org.organization_id, ulid::Ulid::new());
        tokens.insert(
            token.clone(),
            HashMap::from([
                ("sub".to_owned(), org.user.sub.clone()),
                ("email".to_owned(), org.user.email.clone()),
                (settings.org_claim.clone(), org.organization_id.to_string()),
            ]),
        );
        demo.push(DemoOrganization {
            organization_id: org.organization_id.to_string(),
            name: org.name.clone(),
            user: DemoUser {
                sub: org.user.sub.clone(),
                email: org.user.email.clone(),
            },
            token,
            whatsapp_configured: sender.is_some(),
            sender,
        });
    }
    let tokens = Arc::new(tokens);
    let state = AppState {
        handlers,
        org_claim: settings.org_claim.clone(),
        store_faults,
        live: serve_live.then(|| live::socket::Context {
            hub,
            tokens: tokens.clone(),
            org_claim: settings.org_claim.clone(),
        }),
        tokens,
        demo: Arc::new(demo.clone()),
    };
    let sandbox_public = settings
        .public_base_url
        .clone()
        .unwrap_or_else(|| base_url.clone());
    let own_hosts = own_host_names(addr, settings.public_base_url.as_deref());
    let sandbox = own_sandbox
        .then(|| sandbox::Sandbox::new(&options.seed, &sandbox_public, options.callback_delay));
    let app = router(state, sandbox, media, &options.web_dir).layer(
        axum::middleware::from_fn_with_state(Arc::new(own_hosts), own_host_only),
    );
    let server = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, service).await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(Running {
        addr,
        base_url,
        own_sandbox,
        organizations: demo,
        settings,
        server,
    })
}

/// Whether `api_base_url` is this process's own sandbox (`http://127.0.0.1:{port}/sandbox`):
/// a TWILIO_API_BASE_URL pointing anywhere else means real Twilio (or another Twilio-alike).
fn uses_own_sandbox(api_base_url: &str, addr: SocketAddr) -> bool {
    let Ok(url) = url::Url::parse(api_base_url) else {
        return false;
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    loopback
        && url.port_or_known_default() == Some(addr.port())
        && url.path().trim_end_matches('/') == "/sandbox"
}

/// The `Host` values this process answers: its loopback address and, when set, the host of
/// `PUBLIC_BASE_URL` (a tunnel). Anything else — a DNS-rebound name — is refused.
fn own_host_names(addr: SocketAddr, public_base_url: Option<&str>) -> Vec<String> {
    let port = addr.port();
    let mut hosts = vec![
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ];
    if let Some(url) = public_base_url.and_then(|u| url::Url::parse(u).ok())
        && let Some(host) = url.host_str()
    {
        hosts.push(match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        });
    }
    hosts.iter().map(|h| h.to_ascii_lowercase()).collect()
}

async fn own_host_only(
    State(hosts): State<Arc<Vec<String>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    if host.is_some_and(|h| hosts.contains(&h)) {
        return next.run(request).await;
    }
    tracing::warn!(host = ?request.headers().get(axum::http::header::HOST), "request for another host refused");
    (
        axum::http::StatusCode::MISDIRECTED_REQUEST,
        axum::Json(serde_json::json!({"error": {
            "code": "unknown_host",
            "message": "This runner answers only requests addressed to its own host name."
        }})),
    )
        .into_response()
}

fn router(
    state: AppState,
    sandbox: Option<sandbox::Sandbox>,
    media: MemoryMedia,
    web_dir: &std::path::Path,
) -> Router {
    let mut api = Router::new();
    // One method router per path, with every method the route table lists for it.
    let mut paths: Vec<&'static str> = ROUTES.iter().map(|r| r.path).collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        let mut methods: MethodRouter<AppState> = MethodRouter::new().fallback(unmatched);
        for route in ROUTES.iter().filter(|r| r.path == path) {
            let filter = match route.method {
                "POST" => MethodFilter::POST,
                "HEAD" => MethodFilter::HEAD,
                _ => MethodFilter::GET,
            };
            methods = methods.on(filter, move |state, peer, method, uri, headers, body| {
                serve(state, peer, method, uri, headers, body, route)
            });
        }
        api = api.route(path, methods);
    }
    api = api
        .route("/whatsapp/{*rest}", any(unmatched))
        .route("/webhook/{*rest}", any(unmatched));
    if sandbox.is_some() {
        // Demo tokens, fault switches and the contact's panel: only for the sandbox. With
        // real Twilio the tokens are printed to the terminal, never served.
        api = api
            .route("/local/demo", get(demo))
            .route(
                "/local/store-faults",
                axum::routing::post(faults::store_faults),
            )
            .route(
                "/local/live-faults",
                axum::routing::post(faults::live_faults),
            )
            .route(
                "/local/contacts/{contact_id}",
                axum::routing::put(crm::put_contact).delete(crm::delete_contact),
            )
            .route("/local/sandbox.js", get(sandbox_panel_script))
            .route("/local/sandbox.css", get(sandbox_panel_style));
    }
    let mut app = api
        .route("/event/realtime", get(realtime))
        .route("/local/{*rest}", any(unmatched))
        .layer(DefaultBodyLimit::max(gateway::MAX_BODY_BYTES))
        .with_state(state)
        .nest("/local/media", media_store::router(media));
    app = match sandbox {
        Some(sandbox) => app.nest("/sandbox", sandbox.router()),
        None => app.route("/sandbox/{*rest}", any(unmatched)),
    };
    app.fallback_service(ServeDir::new(web_dir))
}

async fn unmatched(method: Method, uri: Uri) -> Response {
    gateway::unrouted(&method, &uri)
}

/// The Event API's WebSocket, when push is served here.
async fn realtime(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<
        axum::extract::ws::WebSocketUpgrade,
        axum::extract::ws::rejection::WebSocketUpgradeRejection,
    >,
) -> Response {
    let Some(context) = state.live else {
        return gateway::no_route();
    };
    match upgrade {
        Ok(upgrade) => live::socket::upgrade(context, headers, upgrade).await,
        Err(rejection) => (
            rejection.status(),
            axum::Json(serde_json::json!({"error": {
                "code": "not_a_websocket",
                "message": "This is the Event API's WebSocket endpoint: connect with the aws-appsync-event-ws protocol."
            }})),
        )
            .into_response(),
    }
}

/// The page's "play the contact" panel: compiled in, so it is served whatever `--web` says,
/// and never part of the deployable page in `web/`.
async fn sandbox_panel_script() -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/javascript; charset=utf-8",
        )],
        include_str!("../web/sandbox.js"),
    )
        .into_response()
}

async fn sandbox_panel_style() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../web/sandbox.css"),
    )
        .into_response()
}

async fn demo(State(state): State<AppState>) -> Response {
    axum::Json(serde_json::json!({ "organizations": *state.demo })).into_response()
}

async fn serve(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    route: &'static Route,
) -> Response {
    let input = GatewayInput {
        method,
        uri,
        headers,
        body,
        peer,
    };
    let Some((_, params)) = shared::routes::find(input.method.as_str(), input.uri.path()) else {
        return gateway::unrouted(&input.method, &input.uri);
    };
    let event = match gateway::to_event(&input, route, params, |token| {
        state.tokens.get(token).cloned()
    }) {
        Ok(event) => event,
        Err(e) => return gateway::to_response(e.into_response()),
    };
    let Some(answer) = state.handlers.call(route.function, event).await else {
        return gateway::no_route();
    };
    gateway::to_response(answer)
}
