//! Twilio's Content API for the seed's accounts: `GET /v1/ContentAndApprovals`, their
//! templates exactly as the seed holds them (Twilio's JSON), then the Contents they created
//! (`content_create`), paged like Twilio (`PageSize` ≤ 1000, `Page`, `PageToken`,
//! `meta.next_page_url`).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::Sandbox;
use super::answers::twilio_error;

pub async fn content_and_approvals(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let unauthenticated = || twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    // No account in the URL: the credential's (the account sid, or its API key's account).
    let Some(sid) = super::auth::account_of(&sandbox, &headers) else {
        return unauthenticated();
    };
    let Some(account) = sandbox.state.accounts.get(&sid) else {
        return unauthenticated();
    };
    let number = |name: &str, default: usize, max: usize| match query.get(name) {
        None => Some(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| *n <= max),
    };
    let (Some(page_size), Some(page)) = (number("PageSize", 50, 1000), number("Page", 0, 100_000))
    else {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid paging parameter");
    };
    if page_size == 0 {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid PageSize");
    }
    // A page after the first must carry the token Twilio handed out for it.
    if page > 0 && query.get("PageToken") != Some(&format!("PT{page}")) {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid PageToken");
    }
    // The seed's templates, then what the account created (never approved: no approval
    // request was made for them).
    let all: Vec<serde_json::Value> = account
        .templates
        .iter()
        .cloned()
        .chain(sandbox.created_contents(&sid).into_iter().map(|mut c| {
            c["approval_requests"] = json!({});
            c
        }))
        .collect();
    let contents: Vec<_> = all
        .iter()
        .skip(page * page_size)
        .take(page_size)
        .cloned()
        .collect();
    let base = format!(
        "{}/sandbox/v1/ContentAndApprovals",
        sandbox.state.public_base_url
    );
    let url = |p: usize| match p {
        0 => format!("{base}?PageSize={page_size}&Page=0"),
        p => format!("{base}?PageSize={page_size}&Page={p}&PageToken=PT{p}"),
    };
    let more = (page + 1) * page_size < all.len();
    super::list_page("contents", contents, (page, page_size), more, url)
}

/// A template send as the sandbox renders it.
pub(super) struct RenderedTemplate {
    pub body: Option<String>,
    /// WhatsApp approved it: it goes outside the 24-hour window too.
    pub approved: bool,
}

impl Sandbox {
    /// Checks `ContentSid` and `ContentVariables` as Twilio does (21655, 21656: the error
    /// code and message of its 400) and renders the body the contact receives.
    pub(super) fn render_template(
        &self,
        account_sid: &str,
        account: &super::Account,
        content_sid: &str,
        variables: Option<&str>,
    ) -> Result<RenderedTemplate, (u32, &'static str)> {
        let invalid_sid = || (21655, "The ContentSid is Invalid");
        let invalid_variables = || (21656, "The ContentVariables Parameter is invalid");
        if !shared::domain::is_content_sid(content_sid) {
            return Err(invalid_sid());
        }
        let created = self.created_contents(account_sid);
        let Some(content) = account
            .templates
            .iter()
            .chain(created.iter())
            .find(|t| t.get("sid").and_then(|s| s.as_str()) == Some(content_sid))
        else {
            return Err(invalid_sid());
        };
        let values: std::collections::BTreeMap<String, String> = match variables {
            None => Default::default(),
            Some(json) => serde_json::from_str(json).map_err(|_| invalid_variables())?,
        };
        if values.values().any(|v| v.is_empty()) {
            return Err(invalid_variables());
        }
        let Some(template) = shared::twilio::content::approved_template(content) else {
            // Not approved (a session Content such as buttons or a list): delivered inside
            // the window, showing its body.
            let body = content["types"]
                .as_object()
                .and_then(|types| types.values().find_map(|t| t["body"].as_str()))
                .map(str::to_owned);
            return Ok(RenderedTemplate {
                body,
                approved: false,
            });
        };
        if template
            .placeholders()
            .iter()
            .any(|name| !values.contains_key(name))
        {
            return Err(invalid_variables());
        }
        Ok(RenderedTemplate {
            body: Some(template.render(&values)),
            approved: true,
        })
    }
}
