//! Twilio's lists, page after page: each page names the next (`meta.next_page_url`); the
//! credentials go only to the API's own origin, so a next page elsewhere is an error, never
//! followed; and a list longer than the pages allowed is an error rather than a silent cut.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::TwilioError;
use super::client::{TwilioClient, json_answer};
use crate::domain::OrgConfig;

/// One read of a list: where it starts and where it may go.
pub(super) struct ListRead<'a> {
    /// The API's base URL (the origin every page must stay on).
    pub base: &'a str,
    pub first_page: String,
    pub max_pages: usize,
    /// Each request's own limit, when shorter than the client's.
    pub timeout: Option<Duration>,
    /// What the list holds, for the error when it runs past `max_pages`.
    pub what: &'a str,
}

impl TwilioClient {
    /// Every page of a list; `keep` takes what it needs of a page and answers the next
    /// page's URL (None or empty: the last page).
    pub(super) async fn read_pages<P: DeserializeOwned, T>(
        &self,
        config: &OrgConfig,
        list: ListRead<'_>,
        mut keep: impl FnMut(P, &mut Vec<T>) -> Option<String>,
    ) -> Result<Vec<T>, TwilioError> {
        let invalid = |what: String| TwilioError::InvalidResponse(what);
        let base = url::Url::parse(list.base)
            .map_err(|e| invalid(format!("{} base URL: {e}", list.what)))?;
        let mut next = Some(list.first_page);
        let mut kept = Vec::new();
        for _ in 0..list.max_pages {
            let Some(page_url) = next.take() else {
                return Ok(kept);
            };
            let url = url::Url::parse(&page_url)
                .map_err(|_| invalid("the next page is not a URL".into()))?;
            if url.origin() != base.origin() {
                return Err(invalid("the next page is on another host".into()));
            }
            let mut request = self.api(reqwest::Method::GET, url)?;
            if let Some(timeout) = list.timeout {
                request = request.timeout(timeout);
            }
            let page: P = json_answer(request, config).await?;
            next = keep(page, &mut kept).filter(|u| !u.is_empty());
        }
        match next {
            None => Ok(kept),
            Some(_) => Err(invalid(format!(
                "more than {} pages of {}",
                list.max_pages, list.what
            ))),
        }
    }
}
