//! Canned responses: an organization's shared answers, which any of its agents types with
//! `/shortcut` in the composer (`shared::domain::canned` says what a text may hold).
//!
//! - `GET /whatsapp/canned-responses?cursor=&limit=`: the organization's responses, in the
//!   order they were made (the page sorts and filters them as the agent types);
//! - `POST /whatsapp/canned-responses` `{shortcut, title, text}`: 201 with the response;
//! - `PUT /whatsapp/canned-responses/{id}` `{shortcut, title, text, updated_at}`: the edit of
//!   the version `updated_at` names (another's edit since: 409 `canned_response_changed`);
//! - `DELETE /whatsapp/canned-responses/{id}`: 204.
//!
//! A shortcut is kept lowercase and held by one response of the organization (409
//! `shortcut_taken`); an organization holds at most 1,000 (409 `canned_response_limit`); both
//! by conditional writes, so saves that race cannot break them. An unknown variable or an
//! unclosed `{{` is refused when saved (422 `unknown_variable`). Another organization's id is
//! "not found", like an unknown one.
#![cfg_attr(test, allow(clippy::too_many_lines))]

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, json_body, json_response,
    organization_id, path_parameter, query_limit, query_value, route_key,
};
use shared::config::Settings;
use shared::domain::{
    Button, CannedRejection, CannedResponse, MAX_CANNED_RESPONSES, MessageId, OrganizationId,
};
use shared::ports::{CannedResponseStore, CannedWrite, Ports};
use shared::runtime::HttpRoutes;

pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: usize = 200;

#[derive(Clone)]
pub struct CannedApi<P> {
    pub ports: P,
    pub org_claim: String,
}

impl<P: Ports> CannedApi<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self {
            ports,
            org_claim: settings.org_claim.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedRequest {
    shortcut: String,
    title: String,
    text: String,
    /// Quick-reply buttons the response goes out with (none: text).
    #[serde(default)]
    buttons: Vec<Button>,
    /// An edit: the version it was made from.
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
struct CannedList {
    canned_responses: Vec<CannedResponse>,
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct CannedAnswer {
    canned_response: CannedResponse,
}

impl<P: Ports> HttpRoutes for CannedApi<P> {
    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let org = organization_id(event, &self.org_claim)?;
        match route_key(event).as_str() {
            "GET /whatsapp/canned-responses" => self.list(&org, event).await,
            "POST /whatsapp/canned-responses" => self.create(&org, event).await,
            "PUT /whatsapp/canned-responses/{id}" => self.edit(&org, event).await,
            "DELETE /whatsapp/canned-responses/{id}" => self.delete(&org, event).await,
            _ => Err(ApiError::NotFound("No such route.")),
        }
    }
}

fn rejected(why: CannedRejection) -> ApiError {
    match why {
        CannedRejection::TextTooLong => ApiError::TextTooLong,
        // Two buttons with one id: what the OpenAPI description cannot refuse by itself.
        CannedRejection::Buttons(why) if why.duplicate_id() => {
            ApiError::DuplicateOptionId(why.to_string())
        }
        CannedRejection::TextTooLongForButtons => ApiError::TextTooLongForButtons(why.to_string()),
        CannedRejection::UnknownVariable(_) | CannedRejection::Unclosed => {
            ApiError::UnknownVariable(why.to_string())
        }
        other => ApiError::InvalidParameter(other.to_string()),
    }
}

/// A time later than `before` (the next version of a response is always newer).
fn after(before: DateTime<Utc>) -> DateTime<Utc> {
    Utc::now().max(before + chrono::Duration::milliseconds(1))
}

impl<P: Ports> CannedApi<P> {
    async fn list(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let limit = query_limit(event, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
        let cursor = query_value(event, "cursor")?;
        let page = self
            .ports
            .messages()
            .canned_responses(org, cursor.as_deref(), limit)
            .await?;
        Ok(json_response(
            200,
            &CannedList {
                canned_responses: page.items,
                next_cursor: page.next_cursor,
            },
        ))
    }

    async fn create(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let request: CannedRequest = json_body(event)?;
        if request.updated_at.is_some() {
            return Err(ApiError::InvalidParameter(
                "updated_at names the version an edit (PUT) is made from; a new response has none."
                    .into(),
            ));
        }
        let response = CannedResponse::new(
            MessageId::new().to_string(),
            &request.shortcut,
            &request.title,
            request.text,
            Utc::now(),
        )
        .and_then(|r| r.with_buttons(request.buttons))
        .map_err(rejected)?;
        let write = self
            .ports
            .messages()
            .create_canned_response(org, &response, MAX_CANNED_RESPONSES)
            .await?;
        saved(write)?;
        tracing::info!(canned_response = %response.id, "canned response created");
        Ok(json_response(
            201,
            &CannedAnswer {
                canned_response: response,
            },
        ))
    }

    /// The path's response, the organization's own.
    async fn path_response(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<CannedResponse, ApiError> {
        let not_found = ApiError::NotFound("Canned response not found.");
        let Some(id) = path_parameter(event, "id").filter(|id| MessageId::parse(id).is_ok()) else {
            return Err(not_found);
        };
        self.ports
            .messages()
            .canned_response(org, id)
            .await?
            .ok_or(not_found)
    }

    async fn edit(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let request: CannedRequest = json_body(event)?;
        let Some(version) = request.updated_at else {
            return Err(ApiError::InvalidParameter(
                "updated_at must name the version this edit was made from.".into(),
            ));
        };
        let previous = self.path_response(org, event).await?;
        let next = CannedResponse::new(
            previous.id.clone(),
            &request.shortcut,
            &request.title,
            request.text,
            after(previous.updated_at),
        )
        .and_then(|r| r.with_buttons(request.buttons))
        .map_err(rejected)?;
        if previous.updated_at != version {
            return Err(ApiError::CannedResponseChanged);
        }
        let write = self
            .ports
            .messages()
            .update_canned_response(org, &previous, &next)
            .await?;
        saved(write)?;
        Ok(json_response(
            200,
            &CannedAnswer {
                canned_response: next,
            },
        ))
    }

    async fn delete(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let previous = self.path_response(org, event).await?;
        match self
            .ports
            .messages()
            .delete_canned_response(org, &previous)
            .await?
        {
            // Removed meanwhile, or edited: what the agent saw is no longer there to remove.
            CannedWrite::Changed => Err(ApiError::CannedResponseChanged),
            _ => {
                let mut gone = ApiGatewayV2httpResponse::default();
                gone.status_code = 204;
                Ok(gone)
            }
        }
    }
}

fn saved(write: CannedWrite) -> Result<(), ApiError> {
    match write {
        CannedWrite::Saved => Ok(()),
        CannedWrite::ShortcutTaken => Err(ApiError::ShortcutTaken),
        CannedWrite::LimitReached => Err(ApiError::CannedResponseLimit),
        CannedWrite::Changed => Err(ApiError::CannedResponseChanged),
    }
}
