//! The runner's HTTP server: the template's routes to the handlers (as API Gateway would
//! call them), the Event API's WebSocket, the sandbox, the media store and the web page, for
//! this process's own host names only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, any, get};
use shared::memory::MemoryMedia;
use shared::routes::{ROUTES, Route};
use tower_http::services::ServeDir;

use crate::gateway::GatewayInput;
use crate::{DemoOrganization, backend, crm, faults, gateway, live, media_store, sandbox};

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) handlers: Arc<dyn backend::Dispatch>,
    /// The JWT claim that carries the organization (`ORG_CLAIM`).
    pub(crate) org_claim: String,
    /// The in-process stores' failure injection (None on the AWS adapters).
    pub(crate) store_faults: Option<backend::StoreFaultSwitches>,
    pub(crate) tokens: crate::tokens::TokenBook,
    pub(crate) demo: Arc<Vec<DemoOrganization>>,
    /// The Event API's WebSocket (`/event/realtime`); None where push is not served.
    pub(crate) live: Option<live::socket::Context>,
}

/// The `Host` values this process answers: its loopback address and, when set, the host of
/// `PUBLIC_BASE_URL` (a tunnel). Anything else — a DNS-rebound name — is refused.
pub(crate) fn own_host_names(addr: SocketAddr, public_base_url: Option<&str>) -> Vec<String> {
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

pub(crate) async fn own_host_only(
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

pub(crate) fn router(
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
                "PUT" => MethodFilter::PUT,
                "DELETE" => MethodFilter::DELETE,
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
            .route("/local/token", axum::routing::post(refresh_token))
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
        .route("/event", axum::routing::post(publish))
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

/// The Event API's HTTP publish endpoint, when push is served here: the runner's publisher
/// is in-process, so every request over HTTP is a browser's, refused as AppSync refuses it.
async fn publish(State(state): State<AppState>) -> Response {
    match state.live {
        Some(_) => live::socket::http_publish_refused(),
        None => gateway::no_route(),
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

/// The demo organizations, each agent with a token issued now.
async fn demo(State(state): State<AppState>) -> Response {
    let mut organizations = (*state.demo).clone();
    for org in &mut organizations {
        for agent in &mut org.agents {
            agent.token = state.tokens.issue(&agent.identity);
        }
        if let Some(first) = org.agents.first() {
            org.token = first.token.clone();
        }
    }
    axum::Json(serde_json::json!({ "organizations": organizations })).into_response()
}

/// The CRM's token refresh: a valid demo token (the Authorization header) gets a fresh one
/// for the same user; an expired or unknown one is 401 (sign in again).
async fn refresh_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let fresh = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| state.tokens.refresh(token.trim()));
    match fresh {
        Some(token) => {
            let expires_at = state.tokens.expires_at(&token);
            axum::Json(serde_json::json!({ "token": token, "expires_at": expires_at }))
                .into_response()
        }
        None => (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": {"code": "unauthorized", "message": "The token has expired or is not a demo token: sign in again."}})),
        )
            .into_response(),
    }
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
    let event = match gateway::to_event(&input, route, params, |token| state.tokens.claims(token)) {
        Ok(event) => event,
        Err(e) => return gateway::to_response(e.into_response()),
    };
    let Some(answer) = state.handlers.call(route.function, event).await else {
        return gateway::no_route();
    };
    gateway::to_response(answer)
}
