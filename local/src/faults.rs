//! The sandbox's fault switches (sandbox-only routes): in-process store operations that fail
//! on demand (`POST /local/store-faults`), and live updates that break on demand
//! (`POST /local/live-faults`).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// `{store, operation, times, after?}`: after `after` calls (default 0), the next `times` calls of that in-process store operation
/// fail as a throttled DynamoDB or SQS would (`contacts`: update; `messages`: insert,
/// insert_inbound, count_inline (the summary contended until the webhook had to answer: the
/// message is stored uncounted and a `CountInbound` job counts it), inbound_effects_done, apply_status, update_attachments,
/// save_idempotent_send; `queue`: enqueue; `worker`: stop_mid_job).
pub async fn store_faults(State(state): State<AppState>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request {
        store: String,
        operation: String,
        times: u32,
        /// Calls that still succeed first (default 0): fail the Nth write, not the next.
        #[serde(default)]
        after: u32,
    }
    const OPERATIONS: &[&str] = &[
        "update",
        "insert",
        "insert_inbound",
        "count_inline",
        "inbound_effects_done",
        "apply_status",
        "update_attachments",
        "save_idempotent_send",
        "enqueue",
        "stop_mid_job",
        "hold_sid",
        "record_destination",
        "erase",
    ];
    let refuse = |message: String| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": {"code": "invalid_fault", "message": message}})),
        )
            .into_response()
    };
    let Some(switches) = &state.store_faults else {
        return refuse("Store faults exist only with the in-process stores.".into());
    };
    let request: Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return refuse(format!("Not a store fault: {e}.")),
    };
    let Some(faults) = switches.get(&request.store) else {
        return refuse("\"store\" is one of contacts, messages, queue, worker.".into());
    };
    let Some(operation) = OPERATIONS.iter().find(|o| **o == request.operation) else {
        return refuse(format!("Unknown operation {:?}.", request.operation));
    };
    faults.fail_after(operation, request.after, request.times);
    axum::http::StatusCode::NO_CONTENT.into_response()
}

/// `{drop?, refuse?, lose?}`: closes every open live connection (`drop`), refuses the next
/// `refuse` connection attempts with a 503, as an unreachable Event API would, and loses the
/// next `lose` events (published, never delivered).
pub async fn live_faults(State(state): State<AppState>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request {
        #[serde(default)]
        drop: bool,
        #[serde(default)]
        refuse: u32,
        #[serde(default)]
        lose: u32,
    }
    let refuse = |message: &str| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": {"code": "invalid_fault", "message": message}})),
        )
            .into_response()
    };
    let Some(live) = &state.live else {
        return refuse("Live updates are not served by this runner.");
    };
    let Ok(request) = serde_json::from_slice::<Request>(&body) else {
        return refuse("Not a live fault: {\"drop\": bool, \"refuse\": count, \"lose\": count}.");
    };
    live.hub.fail(request.drop, request.refuse, request.lose);
    axum::http::StatusCode::NO_CONTENT.into_response()
}
