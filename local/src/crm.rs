//! What the CRM does to the contacts table, played locally (sandbox only), for the
//! organization of the demo token that calls it: `PUT /local/contacts/{contact_id}` writes a
//! contact whole, as the CRM's own writes do (the seed's contact format, without its id);
//! `DELETE` removes it, and its erasure runs as on AWS.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::domain::{ContactId, OrganizationId};

use crate::AppState;
use crate::seed::SeedContact;

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// The organization of the demo token in the Authorization header.
fn organization(state: &AppState, headers: &HeaderMap) -> Option<OrganizationId> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let claims = state.tokens.claims(token)?;
    OrganizationId::parse(claims.get(&state.org_claim)?).ok()
}

pub async fn put_contact(
    State(state): State<AppState>,
    Path(contact_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(org) = organization(&state, &headers) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A demo token is required.",
        );
    };
    let Ok(contact_id) = ContactId::parse(&contact_id) else {
        return refuse(StatusCode::NOT_FOUND, "not_found", "No such contact.");
    };
    let mut fields: serde_json::Map<String, serde_json::Value> = match serde_json::from_slice(&body)
    {
        Ok(fields) => fields,
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The body must be a contact as the seed file writes one.",
            );
        }
    };
    fields.insert("contact_id".into(), json!(contact_id.as_str()));
    let contact: SeedContact = match serde_json::from_value(serde_json::Value::Object(fields)) {
        Ok(contact) => contact,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("Not a contact: {e}."),
            );
        }
    };
    match state
        .handlers
        .put_contact(contact.to_contact(&org, chrono::Utc::now()))
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            tracing::warn!(organization_id = %org, error = %e, "contact not written");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                shared::domain::sentences::UNAVAILABLE,
            )
        }
    }
}

/// Removes the contact and queues its erasure: the in-process worker erases its messages and
/// files, and the final sweep follows `ERASURE_FINAL_SWEEP_DELAY` later. 204 whether or not
/// the contact existed, as a DeleteItem is.
pub async fn delete_contact(
    State(state): State<AppState>,
    Path(contact_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(org) = organization(&state, &headers) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A demo token is required.",
        );
    };
    let Ok(contact_id) = ContactId::parse(&contact_id) else {
        return refuse(StatusCode::NOT_FOUND, "not_found", "No such contact.");
    };
    match state.handlers.delete_contact(org.clone(), contact_id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            tracing::warn!(organization_id = %org, error = %e, "contact not deleted");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                shared::domain::sentences::UNAVAILABLE,
            )
        }
    }
}
