//! Twilio's Content API, writing: `POST /v1/Content` (a JSON `ContentCreateRequest`:
//! `language` and `types` required, `friendly_name`, `variables`), `GET` and `DELETE
//! /v1/Content/{Sid}`, as twilio_content_v1 describes them (201 with the Content resource,
//! `HX…` sids, 204 on delete, 404 for another account's or an unknown sid). The session
//! types a product sends are checked as WhatsApp holds them (twilio/quick-reply: body ≤ 1,024,
//! 1–3 actions with a title ≤ 20; twilio/list-picker: a button ≤ 20, 1–10 items ≤ 24 with a
//! description ≤ 72, ids ≤ 200; twilio/text: body ≤ 1,600); a refusal is a 400 with Twilio's
//! generic invalid-parameter code (20001), since the reference names no other. More than 100
//! creates in a second for one account answer 429 (20429), the Content API's documented rate.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::answers::twilio_error;
use super::{Sandbox, lock, twilio_date};

/// Creates per account per second before 429.
pub(super) const CREATES_PER_SECOND: usize = 100;

/// Contents made through the API, and when each account last created some.
#[derive(Default)]
pub(super) struct CreatedContents {
    /// (account sid, the Content resource as Twilio answers it).
    pub contents: Vec<(String, Value)>,
    creates: Vec<(String, Instant)>,
}

impl CreatedContents {
    /// Whether the account may create one more Content at `now` (counted if so): at most
    /// `CREATES_PER_SECOND` in any second.
    fn allow_create(&mut self, account_sid: &str, now: Instant) -> bool {
        self.creates
            .retain(|(_, at)| now.duration_since(*at) < Duration::from_secs(1));
        let recent = self
            .creates
            .iter()
            .filter(|(a, _)| a == account_sid)
            .count();
        if recent >= CREATES_PER_SECOND {
            return false;
        }
        self.creates.push((account_sid.to_owned(), now));
        true
    }
}

fn invalid(message: &str) -> Response {
    twilio_error(StatusCode::BAD_REQUEST, 20001, message)
}

fn text<'a>(types: &'a Value, field: &str) -> Option<&'a str> {
    types.get(field).and_then(Value::as_str)
}

fn within(value: Option<&str>, what: &str, max: usize) -> Result<(), String> {
    match value {
        Some(v) if !v.trim().is_empty() && v.chars().count() <= max => Ok(()),
        Some(v) if !v.trim().is_empty() => Err(format!("{what} exceeds {max} characters")),
        _ => Err(format!("{what} is required")),
    }
}

/// WhatsApp's limits on the session types, as Twilio's Content type references state them.
fn check_types(types: &Value) -> Result<(), String> {
    let Some(types) = types.as_object().filter(|t| !t.is_empty()) else {
        return Err("types must name at least one content type".into());
    };
    for (name, content) in types {
        match name.as_str() {
            "twilio/text" => within(text(content, "body"), "twilio/text body", 1600)?,
            "twilio/quick-reply" => {
                within(text(content, "body"), "twilio/quick-reply body", 1024)?;
                let actions = content.get("actions").and_then(Value::as_array);
                let actions = actions.filter(|a| (1..=3).contains(&a.len()));
                let Some(actions) = actions else {
                    return Err("twilio/quick-reply needs 1 to 3 actions in a session".into());
                };
                for a in actions {
                    within(text(a, "title"), "a quick-reply action's title", 20)?;
                    if let Some(id) = text(a, "id") {
                        within(Some(id), "a quick-reply action's id", 200)?;
                    }
                }
            }
            "twilio/list-picker" => {
                within(text(content, "body"), "twilio/list-picker body", 1024)?;
                within(text(content, "button"), "twilio/list-picker button", 20)?;
                let items = content.get("items").and_then(Value::as_array);
                let Some(items) = items.filter(|i| (1..=10).contains(&i.len())) else {
                    return Err("twilio/list-picker needs 1 to 10 items".into());
                };
                for i in items {
                    within(text(i, "item"), "a list item", 24)?;
                    within(text(i, "id"), "a list item's id", 200)?;
                    if let Some(d) = text(i, "description")
                        && d.chars().count() > 72
                    {
                        return Err("a list item's description exceeds 72 characters".into());
                    }
                }
            }
            // Other types are taken as given.
            _ => {}
        }
    }
    Ok(())
}

fn content_url(sandbox: &Sandbox, sid: &str) -> String {
    format!("{}/sandbox/v1/Content/{sid}", sandbox.state.public_base_url)
}

/// `POST /v1/Content`.
pub async fn create(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(account_sid) = super::auth::account_of(&sandbox, &headers) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return invalid("The request body must be JSON");
    };
    let Some(language) = request.get("language").and_then(Value::as_str) else {
        return invalid("Missing required parameter language");
    };
    let Some(types) = request.get("types") else {
        return invalid("Missing required parameter types");
    };
    if let Err(why) = check_types(types) {
        return invalid(&format!("Invalid content: {why}"));
    }
    let mut created = lock(&sandbox.state.created_contents);
    if !created.allow_create(&account_sid, Instant::now()) {
        return twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
    }
    let sid = format!("HX{:032x}", u128::from(ulid::Ulid::new()));
    let date = twilio_date(chrono::Utc::now());
    let url = content_url(&sandbox, &sid);
    let content = json!({
        "sid": sid,
        "account_sid": account_sid,
        "friendly_name": request.get("friendly_name").cloned().unwrap_or(Value::Null),
        "language": language,
        "variables": request.get("variables").cloned().unwrap_or_else(|| json!({})),
        "types": types,
        "url": url,
        "date_created": date,
        "date_updated": date,
        "links": {
            "approval_fetch": format!("{url}/ApprovalRequests"),
            "approval_create": format!("{url}/ApprovalRequests/whatsapp"),
        },
    });
    created.contents.push((account_sid, content.clone()));
    (StatusCode::CREATED, Json(content)).into_response()
}

fn not_found(sid: &str) -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        &format!("The requested resource /Content/{sid} was not found"),
    )
}

/// `GET /v1/Content`: the account's Contents (the seed's templates, then those it created),
/// one page (`PageSize` 1–1000, 50 by default; `Page`), `meta.next_page_url` to the next.
pub async fn list(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(account_sid) = super::auth::account_of(&sandbox, &headers) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let page_size = match query.get("PageSize").map(|p| p.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return invalid("Invalid PageSize"),
    };
    let page = match query.get("Page").map(|p| p.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return invalid("Invalid Page"),
    };
    let seeded = sandbox
        .state
        .accounts
        .get(&account_sid)
        .map(|a| a.templates.clone())
        .unwrap_or_default();
    let all: Vec<Value> = seeded
        .into_iter()
        .map(|mut t| {
            if let Some(t) = t.as_object_mut() {
                t.remove("approval_requests");
            }
            t
        })
        .chain(sandbox.created_contents(&account_sid))
        .collect();
    let base = format!("{}/sandbox/v1/Content", sandbox.state.public_base_url);
    let url = |p: usize| format!("{base}?PageSize={page_size}&Page={p}");
    let contents: Vec<Value> = all
        .iter()
        .skip(page * page_size)
        .take(page_size)
        .cloned()
        .collect();
    let more = (page + 1) * page_size < all.len();
    super::list_page("contents", contents, (page, page_size), more, url)
}

/// `GET /v1/Content/{Sid}`: the credential's account's own Content only.
pub async fn fetch(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(sid): Path<String>,
) -> Response {
    let Some(account_sid) = super::auth::account_of(&sandbox, &headers) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let created = lock(&sandbox.state.created_contents);
    match created
        .contents
        .iter()
        .find(|(a, c)| *a == account_sid && c["sid"] == sid.as_str())
    {
        Some((_, content)) => Json(content.clone()).into_response(),
        None => not_found(&sid),
    }
}

/// `DELETE /v1/Content/{Sid}`: 204, or 404 when the account has no such Content.
pub async fn delete(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(sid): Path<String>,
) -> Response {
    let Some(account_sid) = super::auth::account_of(&sandbox, &headers) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let mut created = lock(&sandbox.state.created_contents);
    let before = created.contents.len();
    created
        .contents
        .retain(|(a, c)| !(*a == account_sid && c["sid"] == sid.as_str()));
    if created.contents.len() == before {
        return not_found(&sid);
    }
    StatusCode::NO_CONTENT.into_response()
}

impl Sandbox {
    /// The Contents an account made through the API (what `ContentAndApprovals` lists after
    /// the seed's templates, and a send's `ContentSid` may name).
    pub(super) fn created_contents(&self, account_sid: &str) -> Vec<Value> {
        lock(&self.state.created_contents)
            .contents
            .iter()
            .filter(|(a, _)| a == account_sid)
            .map(|(_, c)| c.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_creates_at_most_a_hundred_contents_a_second() {
        let mut created = CreatedContents::default();
        let start = Instant::now();
        for _ in 0..CREATES_PER_SECOND {
            assert!(created.allow_create("AC1", start));
        }
        assert!(!created.allow_create("AC1", start + Duration::from_millis(999)));
        assert!(
            created.allow_create("AC2", start),
            "another account has its own rate"
        );
        assert!(created.allow_create("AC1", start + Duration::from_secs(1)));
    }

    #[test]
    fn the_session_types_are_held_to_whatsapps_limits() {
        let ok = json!({"twilio/quick-reply": {"body": "Pick", "actions": [{"title": "Yes", "id": "y"}]}});
        assert_eq!(check_types(&ok), Ok(()));
        let cases = [
            (json!({}), "types must name at least one content type"),
            (
                json!({"twilio/quick-reply": {"body": "Pick", "actions": []}}),
                "twilio/quick-reply needs 1 to 3 actions in a session",
            ),
            (
                json!({"twilio/quick-reply": {"body": "Pick", "actions": [{"title": "x".repeat(21)}]}}),
                "a quick-reply action's title exceeds 20 characters",
            ),
            (
                json!({"twilio/list-picker": {"body": "Pick", "items": [{"id": "a", "item": "A"}]}}),
                "twilio/list-picker button is required",
            ),
            (
                json!({"twilio/list-picker": {"body": "Pick", "button": "Open", "items": [{"id": "a", "item": "x".repeat(25)}]}}),
                "a list item exceeds 24 characters",
            ),
            (
                json!({"twilio/list-picker": {"body": "Pick", "button": "Open", "items": [{"id": "a", "item": "A", "description": "d".repeat(73)}]}}),
                "a list item's description exceeds 72 characters",
            ),
        ];
        for (types, why) in cases {
            assert_eq!(check_types(&types), Err(why.to_owned()), "{types}");
        }
    }
}
