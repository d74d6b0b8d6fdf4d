//! The Event API's publish endpoint on loopback, for the live publisher: checks the request
//! is SigV4-signed for AppSync and well formed (a channel, one to five events, each a JSON
//! string), counts what it takes, answers as AppSync does (`successful`, `failed`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

#[derive(Clone, Default)]
pub struct EventApiStub {
    pub publishes: Arc<AtomicU64>,
    pub events: Arc<AtomicU64>,
}

impl EventApiStub {
    /// Serves on a free loopback port; answers with the publish URL (`…/event`).
    pub async fn start() -> std::io::Result<(Self, String)> {
        let stub = Self::default();
        let app = Router::new()
            .route("/event", post(publish))
            .with_state(stub.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/event", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((stub, url))
    }
}

async fn publish(State(stub): State<EventApiStub>, headers: HeaderMap, body: Bytes) -> Response {
    let signed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 ") && v.contains("/appsync/aws4_request"));
    if !signed || !headers.contains_key("x-amz-date") {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"errors": [{"errorType": "UnauthorizedException"}]})),
        )
            .into_response();
    }
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let events = request["events"].as_array().cloned().unwrap_or_default();
    let well_formed = request["channel"]
        .as_str()
        .is_some_and(|c| c.starts_with('/'))
        && (1..=5).contains(&events.len())
        && events.iter().all(|e| {
            e.as_str()
                .is_some_and(|s| serde_json::from_str::<serde_json::Value>(s).is_ok())
        });
    if !well_formed {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"errors": [{"errorType": "BadRequestException"}]})),
        )
            .into_response();
    }
    stub.publishes.fetch_add(1, Ordering::Relaxed);
    stub.events
        .fetch_add(events.len() as u64, Ordering::Relaxed);
    let successful: Vec<_> = (0..events.len())
        .map(|index| json!({"identifier": ulid::Ulid::new().to_string(), "index": index}))
        .collect();
    axum::Json(json!({"failed": [], "successful": successful})).into_response()
}
