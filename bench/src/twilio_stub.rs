//! The Messages API on loopback, for the worker and for the Node.js alternative: checks that
//! the request is authenticated and complete, answers 201 with a new `SM…` sid, as Twilio does.
//! Also the Messaging API's typing indicator (the inbox's read receipts), which answers
//! `{"success": true}`, its Senders API (the channel status's sender health): the
//! benchmark's sender, ONLINE; and the Content API's list and create (buttons go out as a
//! Content the worker makes once).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

#[derive(Clone, Default)]
pub struct TwilioStub {
    pub accepted: Arc<AtomicU64>,
    pub indicators: Arc<AtomicU64>,
    /// Contents made: (friendly name, sid).
    pub contents: Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl TwilioStub {
    /// Messages the stub accepted.
    pub fn accepted_count(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Typing indicators the stub took.
    pub fn indicator_count(&self) -> u64 {
        self.indicators.load(Ordering::Relaxed)
    }

    /// Serves on a free loopback port; answers with the base URL to use instead of
    /// `https://api.twilio.com`.
    pub async fn start() -> std::io::Result<(Self, String)> {
        let stub = Self::default();
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages.json",
                post(create_message),
            )
            .route("/v2/Indicators/Typing.json", post(typing_indicator))
            .route("/v2/Channels/Senders", axum::routing::get(senders))
            .route(
                "/v1/Content",
                axum::routing::get(list_contents).post(create_content),
            )
            .with_state(stub.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((stub, url))
    }
}

async fn create_message(
    State(stub): State<TwilioStub>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(from), Some(to)) = (field("From"), field("To")) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"code": 21604, "message": "A 'To' and 'From' are required", "status": 400}),
            ),
        )
            .into_response();
    };
    let n = stub.accepted.fetch_add(1, Ordering::Relaxed);
    let sid = format!("SM{:032x}", u128::from(n) + 1);
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "sid": sid,
            "account_sid": account_sid,
            "from": from,
            "to": to,
            "body": field("Body"),
            "status": "queued",
            "num_media": if field("MediaUrl").is_some() { "1" } else { "0" },
            "api_version": "2010-04-01",
            "uri": format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"),
        })),
    )
        .into_response()
}

fn unauthenticated(headers: &HeaderMap) -> Option<Response> {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Basic "));
    (!basic).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"code": 20003, "message": "Authenticate", "status": 401})),
        )
            .into_response()
    })
}

async fn typing_indicator(
    State(stub): State<TwilioStub>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("channel") != Some("whatsapp") || field("messageId").is_none() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": 20001, "message": "Invalid parameter", "status": 400})),
        )
            .into_response();
    }
    stub.indicators.fetch_add(1, Ordering::Relaxed);
    axum::Json(json!({ "success": true })).into_response()
}

/// `GET /v2/Channels/Senders?Channel=whatsapp`: the benchmark's sender, ONLINE and rated HIGH.
async fn senders(headers: HeaderMap) -> Response {
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    axum::Json(json!({
        "senders": [{
            "sid": "XE00000000000000000000000000000001",
            "status": "ONLINE",
            "sender_id": format!("whatsapp:{}", crate::events::SENDER),
            "properties": {"quality_rating": "HIGH", "messaging_limit": "10K Customers/24hr"},
            "offline_reasons": null,
        }],
        "meta": {"page": 0, "page_size": 1000, "next_page_url": null, "key": "senders"},
    }))
    .into_response()
}

/// `GET /v1/Content`: the Contents made, one page.
async fn list_contents(State(stub): State<TwilioStub>, headers: HeaderMap) -> Response {
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    let contents: Vec<serde_json::Value> = stub
        .contents
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, sid)| {
            json!({"sid": sid, "friendly_name": name,
            "date_created": "2026-12-01T00:00:00Z", "date_updated": "2026-12-01T00:00:00Z"})
        })
        .collect();
    axum::Json(json!({
        "contents": contents,
        "meta": {"page": 0, "page_size": 1000, "next_page_url": null, "key": "contents"},
    }))
    .into_response()
}

/// `POST /v1/Content`: a new `HX…` sid for the named Content.
async fn create_content(
    State(stub): State<TwilioStub>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(name) = request["friendly_name"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": 20001, "message": "Missing friendly_name", "status": 400})),
        )
            .into_response();
    };
    let Ok(mut contents) = stub.contents.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let sid = format!("HX{:032x}", contents.len() + 1);
    contents.push((name.to_owned(), sid.clone()));
    (
        StatusCode::CREATED,
        axum::Json(json!({"sid": sid, "friendly_name": name})),
    )
        .into_response()
}
