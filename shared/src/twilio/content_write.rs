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

/// A Content of the account as its list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedContent {
    pub sid: String,
    pub name: String,
    /// When it was last changed (None when Twilio's list gave no date it could read).
    pub changed: Option<chrono::DateTime<chrono::Utc>>,
}

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

/// A Content's date. Twilio's description of the Content resource gives its dates the
/// OpenAPI format `date-time` (RFC 3339, as its answers show) and says "specified in RFC 2822"
/// in the same breath: both readings are accepted.
fn content_date(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_rfc2822(text))
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
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

    /// Walks the account's Contents page by page, `visit` seeing each page's until it says
    /// it has found what it looks for. The credentials go only to the Content API's origin.
    async fn each_content_page(
        &self,
        config: &OrgConfig,
        mut visit: impl FnMut(&[Value]) -> bool,
    ) -> Result<(), TwilioError> {
        let invalid = |what: &str| TwilioError::InvalidResponse(what.to_owned());
        let base = self.content_url("")?;
        let mut next = Some(self.content_url(&format!("/v1/Content?PageSize={PAGE_SIZE}"))?);
        for _ in 0..MAX_PAGES {
            let Some(url) = next.take() else {
                return Ok(());
            };
            if url.origin() != base.origin() {
                return Err(invalid("the next page is on another host"));
            }
            let page: ContentList =
                json_answer(self.api(reqwest::Method::GET, url)?, config).await?;
            if visit(&page.contents) {
                return Ok(());
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

    /// The sid of the account's Content named `friendly_name`, if there is one (the first
    /// listed, if several).
    pub async fn find_content(
        &self,
        config: &OrgConfig,
        friendly_name: &str,
    ) -> Result<Option<String>, TwilioError> {
        let mut found = None;
        self.each_content_page(config, |contents| {
            found = contents
                .iter()
                .filter(|c| c["friendly_name"] == friendly_name)
                .filter_map(|c| c["sid"].as_str())
                .find(|sid| is_content_sid(sid))
                .map(str::to_owned);
            found.is_some()
        })
        .await?;
        Ok(found)
    }

    /// The account's Contents whose name starts with `prefix` (the ones the product made),
    /// with when each was last changed (`date_updated`, else `date_created`).
    pub async fn contents_named(
        &self,
        config: &OrgConfig,
        prefix: &str,
    ) -> Result<Vec<ListedContent>, TwilioError> {
        let mut listed = Vec::new();
        self.each_content_page(config, |contents| {
            listed.extend(contents.iter().filter_map(|c| {
                let name = c["friendly_name"]
                    .as_str()
                    .filter(|n| n.starts_with(prefix))?;
                let sid = c["sid"].as_str().filter(|sid| is_content_sid(sid))?;
                let changed = c["date_updated"]
                    .as_str()
                    .or_else(|| c["date_created"].as_str())
                    .and_then(content_date);
                Some(ListedContent {
                    sid: sid.to_owned(),
                    name: name.to_owned(),
                    changed,
                })
            }));
            false
        })
        .await?;
        Ok(listed)
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

#[cfg(test)]
mod tests {
    use super::content_date;

    #[test]
    fn content_dates_are_read_in_either_documented_form() {
        let expected = chrono::DateTime::parse_from_rfc3339("2026-12-06T22:16:28Z").unwrap();
        for text in [
            "2026-12-06T22:16:28Z",
            "2026-12-06T23:16:28+01:00",
            "Sun, 06 Dec 2026 22:16:28 +0000",
        ] {
            assert_eq!(content_date(text), Some(expected.to_utc()), "{text}");
        }
        assert_eq!(content_date("yesterday"), None);
    }
}
