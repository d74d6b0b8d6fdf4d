//! AppSync Events' WebSocket protocol at `/event/realtime`, as the page uses it on AWS:
//!
//! - the client offers the subprotocols `aws-appsync-event-ws` and `header-<base64url of
//!   {"host", "Authorization"}>`; the token is the CRM's JWT (here a demo token), raw or as
//!   `Bearer <token>`. Without a valid one the server sends `connection_error` and closes;
//! - `connection_init` → `connection_ack` (`connectionTimeoutMs`), then `ka` while idle;
//! - `subscribe` {id, channel, authorization?} → `subscribe_success` or `subscribe_error`.
//!   The organization rule is the namespace handler's: only `/whatsapp/<organization claim>`,
//!   exactly. The subscription's own authorization decides when it carries one;
//! - `data` {id, event: <JSON string>} for every event on a subscribed channel;
//! - `unsubscribe` {id} → `unsubscribe_success` or `unsubscribe_error`;
//! - `publish` → `publish_error`: browsers may not publish (IAM only, as the template says);
//! - anything else (not JSON, unknown type, binary) → an `error` frame; the connection stays.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use shared::live::{NAMESPACE, may_subscribe};
use tokio::sync::broadcast;

use super::Hub;
use crate::gateway::Claims;

/// The protocol's name among the offered subprotocols.
pub const PROTOCOL: &str = "aws-appsync-event-ws";

/// How long a connection may stay silent before the client should consider it dead.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);

/// Largest frame taken from a client.
const MAX_FRAME_BYTES: usize = 128 * 1024;

/// A connection's view of the runner: the channels and who a token belongs to.
#[derive(Clone)]
pub struct Context {
    pub hub: Hub,
    pub tokens: crate::tokens::TokenBook,
    pub org_claim: String,
}

impl Context {
    /// The claims of an `Authorization` value (`<token>` or `Bearer <token>`).
    fn claims(&self, authorization: &str) -> Option<Claims> {
        self.tokens.claims(bare_token(authorization))
    }

    /// When the token of an authorization object expires (epoch seconds).
    fn expiry(&self, authorization: &Value) -> Option<i64> {
        self.tokens
            .expires_at(bare_token(authorization_value(authorization)?))
    }

    /// The organization claim of an authorization object `{"Authorization": …, "host": …}`.
    fn organization(&self, authorization: &Value) -> Option<String> {
        let value = authorization_value(authorization)?;
        self.claims(value)?.get(&self.org_claim).cloned()
    }
}

/// The `Authorization` member of an authorization object `{"Authorization": …, "host": …}`.
fn authorization_value(authorization: &Value) -> Option<&str> {
    authorization.as_object()?.iter().find_map(|(k, v)| {
        k.eq_ignore_ascii_case("authorization")
            .then(|| v.as_str())
            .flatten()
    })
}

/// `<token>` or `Bearer <token>`.
fn bare_token(authorization: &str) -> &str {
    authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
        .unwrap_or(authorization)
        .trim()
}

/// The authorization object a `header-…` subprotocol carries.
fn header_authorization(headers: &HeaderMap) -> Option<Value> {
    let offered = headers.get("sec-websocket-protocol")?.to_str().ok()?;
    let encoded = offered
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("header-"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub async fn upgrade(context: Context, headers: HeaderMap, upgrade: WebSocketUpgrade) -> Response {
    if context.hub.refuse_next() {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let authorization = header_authorization(&headers);
    upgrade
        .protocols([PROTOCOL])
        .max_message_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| serve(context, authorization, socket))
}

/// A publish over HTTP (`POST /event`), as AppSync answers one that its publish auth mode
/// (IAM, only the live publisher's role) does not admit: 401 with an `errors` list, the
/// shape AWS's own Events client reads (Amplify's `events.post`). The page never publishes;
/// a browser's request with the CRM's token lands here.
pub fn http_publish_refused() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::UNAUTHORIZED,
        axum::Json(json!({
            "errors": error("UnauthorizedException", "You are not authorized to make this call."),
        })),
    )
        .into_response()
}

fn error(kind: &str, message: &str) -> Value {
    json!([{ "errorType": kind, "message": message }])
}

async fn send(socket: &mut WebSocket, frame: Value) -> bool {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .is_ok()
}

/// Whether `channel` is a channel path the Event API accepts: `/namespace/segment…`, one to
/// five segments of letters, digits and dashes (a trailing `*` subscribes to a subtree).
fn well_formed(channel: &str) -> bool {
    let Some(path) = channel.strip_prefix('/') else {
        return false;
    };
    let segments: Vec<&str> = path.split('/').collect();
    (2..=5).contains(&segments.len())
        && segments.iter().enumerate().all(|(i, s)| {
            (*s == "*" && i == segments.len() - 1)
                || (!s.is_empty()
                    && s.len() <= 50
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        })
}

/// A connection without a valid token: AppSync's `connection_error`, then closed.
async fn refuse(socket: &mut WebSocket) {
    let frame = json!({
        "type": "connection_error",
        "errors": error("UnauthorizedException", "You are not authorized to make this call."),
    });
    send(socket, frame).await;
    let close = axum::extract::ws::CloseFrame {
        code: axum::extract::ws::close_code::POLICY,
        reason: "unauthorized".into(),
    };
    let _ = socket.send(Message::Close(Some(close))).await;
}

async fn serve(context: Context, authorization: Option<Value>, mut socket: WebSocket) {
    let connection_org = authorization.as_ref().and_then(|a| context.organization(a));
    if connection_org.is_none() {
        return refuse(&mut socket).await;
    }
    // The stricter reading of AppSync (which documents the token's check at connect and
    // subscribe only): a connection ends when its token expires, so a page must reconnect
    // with a fresh one before then.
    let lapses = authorization
        .as_ref()
        .and_then(|a| context.expiry(a))
        .map_or(Duration::from_secs(365 * 24 * 3600), |exp| {
            Duration::from_secs(u64::try_from(exp - chrono::Utc::now().timestamp()).unwrap_or(0))
        });
    let lapsed = tokio::time::sleep(lapses);
    tokio::pin!(lapsed);
    let mut events = context.hub.listen();
    let mut drops = context.hub.drops();
    // Subscription id → channel.
    let mut subscriptions: HashMap<String, String> = HashMap::new();
    let mut keep_alive = tokio::time::interval(context.hub.keep_alive);
    keep_alive.tick().await;
    loop {
        tokio::select! {
            frame = socket.recv() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(Message::Binary(_))) => {
                        let frame = json!({"type": "error", "errors": error("BadRequestException", "Frames are JSON text.")});
                        if !send(&mut socket, frame).await { return; }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let answer = answer(&context, connection_org.as_deref(), &mut subscriptions, &text);
                if !send(&mut socket, answer).await {
                    return;
                }
            }
            published = events.recv() => {
                let published = match published {
                    Ok(published) => published,
                    // Fell behind: those events are lost, as a publish can be on AWS.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                for (id, channel) in &subscriptions {
                    if *channel == published.channel {
                        let frame = json!({"type": "data", "id": id, "event": published.event});
                        if !send(&mut socket, frame).await {
                            return;
                        }
                    }
                }
            }
            _ = drops.recv() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            () = &mut lapsed => {
                let close = axum::extract::ws::CloseFrame {
                    code: axum::extract::ws::close_code::POLICY,
                    reason: "token expired".into(),
                };
                let _ = socket.send(Message::Close(Some(close))).await;
                return;
            }
            _ = keep_alive.tick() => {
                if !send(&mut socket, json!({"type": "ka"})).await {
                    return;
                }
            }
        }
    }
}

/// The server's answer to one client frame.
fn answer(
    context: &Context,
    connection_org: Option<&str>,
    subscriptions: &mut HashMap<String, String>,
    text: &str,
) -> Value {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return json!({"type": "error", "errors": error("BadRequestException", "The frame is not JSON.")});
    };
    let id = frame["id"].as_str().map(str::to_owned);
    match frame["type"].as_str() {
        Some("connection_init") => json!({
            "type": "connection_ack",
            "connectionTimeoutMs": CONNECTION_TIMEOUT.as_millis() as u64,
        }),
        Some("subscribe") => {
            let Some(id) = id.filter(|id| !id.is_empty() && id.len() <= 128) else {
                return json!({"type": "error", "errors": error("BadRequestException", "A subscribe needs an id.")});
            };
            let refuse = |kind: &str, message: &str| json!({"type": "subscribe_error", "id": id, "errors": error(kind, message)});
            let Some(channel) = frame["channel"].as_str().filter(|c| well_formed(c)) else {
                return refuse("BadRequestException", "Not a channel path.");
            };
            if channel.split('/').nth(1) != Some(NAMESPACE) {
                return refuse("NamespaceNotFound", "No such channel namespace.");
            }
            if subscriptions.contains_key(&id) {
                return refuse("BadRequestException", "A subscription with this id exists.");
            }
            // The subscription's own authorization when it carries one.
            let org = match frame.get("authorization") {
                Some(authorization) => context.organization(authorization),
                None => connection_org.map(str::to_owned),
            };
            if !may_subscribe(channel, org.as_deref()) {
                tracing::warn!(channel, "subscribe refused: not the caller's organization");
                return refuse(
                    "UnauthorizedException",
                    "You are not authorized to make this call.",
                );
            }
            subscriptions.insert(id.clone(), channel.to_owned());
            json!({"type": "subscribe_success", "id": id})
        }
        Some("unsubscribe") => match id {
            Some(id) if subscriptions.remove(&id).is_some() => {
                json!({"type": "unsubscribe_success", "id": id})
            }
            _ => {
                json!({"type": "unsubscribe_error", "id": frame["id"], "errors": error("BadRequestException", "No such subscription.")})
            }
        },
        Some("publish") => json!({
            "type": "publish_error",
            "id": frame["id"],
            "errors": error("UnauthorizedException", "You are not authorized to make this call."),
        }),
        _ => {
            json!({"type": "error", "errors": error("BadRequestException", "Unknown message type.")})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_paths_are_checked_as_the_event_api_does() {
        for good in [
            "/whatsapp/acme",
            "/whatsapp/*",
            "/whatsapp/a-b/c",
            "/default/x",
        ] {
            assert!(well_formed(good), "{good}");
        }
        for bad in [
            "whatsapp/acme",
            "/whatsapp",
            "/whatsapp/",
            "/whatsapp/a b",
            "/a/b/c/d/e/f",
            "/whatsapp/*/x",
            "",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
