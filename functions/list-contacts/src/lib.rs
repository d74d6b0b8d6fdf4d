//! `GET /whatsapp/contacts?q=&cursor=&limit=`: the caller's organization's eligible contacts,
//! searched and paged. (What the channel is and may send: the `channel` function.)
#![cfg_attr(test, allow(clippy::too_many_lines))]

use serde::Serialize;

use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, ContactView, json_response,
    organization_id, query, query_limit, query_value, route_key,
};
use shared::config::Settings;
use shared::domain::OrganizationId;
use shared::ports::{ContactStore, Ports};
use shared::runtime::HttpRoutes;

pub const DEFAULT_PAGE_SIZE: usize = 25;
pub const MAX_PAGE_SIZE: usize = 100;
const MAX_SEARCH_CHARS: usize = 100;

#[derive(Clone)]
pub struct ContactsApi<P> {
    pub ports: P,
    pub org_claim: String,
}

impl<P: Ports> ContactsApi<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self {
            ports,
            org_claim: settings.org_claim.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ContactList {
    pub contacts: Vec<ContactView>,
    pub next_cursor: Option<String>,
}

impl<P: Ports> HttpRoutes for ContactsApi<P> {
    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let org = organization_id(event, &self.org_claim)?;
        match route_key(event).as_str() {
            "GET /whatsapp/contacts" => self.contacts(&org, event).await,
            _ => Err(ApiError::NotFound("No such route.")),
        }
    }
}

impl<P: Ports> ContactsApi<P> {
    async fn contacts(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let search = query(event, "q");
        if search
            .as_ref()
            .is_some_and(|q| q.chars().count() > MAX_SEARCH_CHARS)
        {
            return Err(ApiError::InvalidParameter(format!(
                "q must be at most {MAX_SEARCH_CHARS} characters."
            )));
        }
        let limit = query_limit(event, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
        let cursor = query_value(event, "cursor")?;
        let page = self
            .ports
            .contacts()
            .list_eligible(org, search.as_deref(), cursor.as_deref(), limit)
            .await?;
        Ok(json_response(
            200,
            &ContactList {
                contacts: page.items.iter().map(ContactView::from).collect(),
                next_cursor: page.next_cursor,
            },
        ))
    }
}
