//! Twilio's Content API, writing (twilio_content_v1): `POST /v1/Content` makes a Content
//! from a JSON `ContentCreateRequest` (`language` and `types` required), `GET /v1/Content`
//! lists the account's Contents (paged by `meta.next_page_url`), `DELETE /v1/Content/{Sid}`
//! removes one. What the product sends as buttons and lists goes out as such a Content; the
//! list finds one it made before by its name, so a retry after a crash makes no second one.

use serde::Deserialize;
use serde_json::{Value, json};

use super::TwilioError;
use super::client::{TwilioClient, json_answer, transport_error};
use crate::domain::{OrgConfig, is_content_sid};

/// Contents read per page, and pages read at most while looking for one by name.
const PAGE_SIZE: u32 = 1000;
const MAX_PAGES: usize = 10;

#[derive(Debug, Deserialize)]
struct CreatedContent {
    sid: String,
}

#[derive(Debug, Deserialize)]
struct ContentList {
    #[serde(default)]
    contents: Vec<Value>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Debug, Deserialize)]
struct Meta {
    #[serde(default)]
    next_page_url: Option<String>,
}

impl TwilioClient {
    fn content_url(&self, path: &str) -> Result<url::Url, TwilioError> {
        url::Url::parse(&format!("{}{path}", self.content_base_url))
            .map_err(|e| TwilioError::InvalidResponse(format!("Content API base URL: {e}")))
    }

    /// Makes a Content named `friendly_name` of `types` (Twilio's shapes, e.g.
    /// `Interactive::content_types`); its `HX…` sid.
    pub async fn create_content(
        &self,
        config: &OrgConfig,
        friendly_name: &str,
        language: &str,
        types: &Value,
    ) -> Result<String, TwilioError> {
        let body = json!({"friendly_name": friendly_name, "language": language, "types": types});
        let request = self
            .api(reqwest::Method::POST, self.content_url("/v1/Content")?)?
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let created: CreatedContent = json_answer(request, config).await?;
        if !is_content_sid(&created.sid) {
            return Err(TwilioError::InvalidResponse("not a Content sid".into()));
        }
        Ok(created.sid)
    }

    /// The sid of the account's Content named `friendly_name`, if there is one (the oldest, if
    /// several). The credentials go only to the Content API's origin.
    pub async fn find_content(
        &self,
        config: &OrgConfig,
        friendly_name: &str,
    ) -> Result<Option<String>, TwilioError> {
        let invalid = |what: &str| TwilioError::InvalidResponse(what.to_owned());
        let base = self.content_url("")?;
        let mut next = Some(self.content_url(&format!("/v1/Content?PageSize={PAGE_SIZE}"))?);
        for _ in 0..MAX_PAGES {
            let Some(url) = next.take() else {
                return Ok(None);
            };
            if url.origin() != base.origin() {
                return Err(invalid("the next page is on another host"));
            }
            let page: ContentList =
                json_answer(self.api(reqwest::Method::GET, url)?, config).await?;
            let found = page
                .contents
                .iter()
                .filter(|c| c["friendly_name"] == friendly_name)
                .filter_map(|c| c["sid"].as_str())
                .find(|sid| is_content_sid(sid));
            if let Some(sid) = found {
                return Ok(Some(sid.to_owned()));
            }
            next = match page
                .meta
                .and_then(|m| m.next_page_url)
                .filter(|u| !u.is_empty())
            {
                Some(u) => {
                    Some(url::Url::parse(&u).map_err(|_| invalid("the next page is not a URL"))?)
                }
                None => None,
            };
        }
        Err(invalid("too many pages of Contents"))
    }

    /// Removes a Content; one already gone (404) counts as removed.
    pub async fn delete_content(&self, config: &OrgConfig, sid: &str) -> Result<(), TwilioError> {
        if !is_content_sid(sid) {
            return Err(TwilioError::InvalidResponse("not a Content sid".into()));
        }
        let (user, password) = config.rest_credentials();
        let response = self
            .api(
                reqwest::Method::DELETE,
                self.content_url(&format!("/v1/Content/{sid}"))?,
            )?
            .basic_auth(user, Some(secrecy::ExposeSecret::expose_secret(password)))
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        if status.is_success() || status.as_u16() == 404 {
            return Ok(());
        }
        let bytes = response.bytes().await.map_err(transport_error)?;
        Err(TwilioError::from_error_response(status.as_u16(), &bytes))
    }
}
