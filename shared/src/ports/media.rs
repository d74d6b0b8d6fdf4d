//! Stored media: the organization-prefixed keys, presigned requests and the store.

use std::future::Future;
use std::time::Duration;

use super::{PortError, PortResult};
use crate::domain::OrganizationId;

/// What storage knows about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub size: u64,
    pub content_type: String,
}

/// A request the browser (or Twilio) makes directly to storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    pub url: String,
    pub method: String,
    /// Headers the request must carry as signed.
    pub headers: Vec<(String, String)>,
    pub key: String,
}

/// The storage key of an organization's object: always under `{organization_id}/`. A key
/// given whole must already be under the caller's prefix; a bare name is put under it.
pub fn media_key(org: &OrganizationId, key_or_name: &str) -> PortResult<String> {
    let prefix = format!("{org}/");
    let key = if key_or_name.contains('/') {
        key_or_name.to_owned()
    } else {
        format!("{prefix}{key_or_name}")
    };
    let safe = key.starts_with(&prefix)
        && key.len() > prefix.len()
        && key.len() <= 1024
        && !key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        && key.chars().all(|c| c.is_ascii_graphic());
    if safe {
        Ok(key)
    } else {
        Err(PortError::NotFound)
    }
}

pub trait MediaStore: Clone + Send + Sync + 'static {
    /// Stores a received file under the organization's prefix, to be served as `served`
    /// says (type, and whether as a download); returns the key.
    /// `retention_days`: the organization's retention, as the object's lifecycle tag
    /// (`RETENTION_TAG`), so the bucket deletes it when its message expires.
    fn put(
        &self,
        org: &OrganizationId,
        name: &str,
        bytes: Vec<u8>,
        served: &crate::domain::ServedAs,
        retention_days: Option<u32>,
    ) -> impl Future<Output = PortResult<String>> + Send;

    fn head(
        &self,
        org: &OrganizationId,
        key: &str,
    ) -> impl Future<Output = PortResult<Option<StoredObject>>> + Send;

    fn presign_get(
        &self,
        org: &OrganizationId,
        key: &str,
        expires: Duration,
    ) -> impl Future<Output = PortResult<String>> + Send;

    fn presign_put(
        &self,
        org: &OrganizationId,
        key: &str,
        content_type: &str,
        length: u64,
        expires: Duration,
    ) -> impl Future<Output = PortResult<PresignedRequest>> + Send;

    /// The first `max_bytes` of an object (for content checks); None if there is none.
    fn read_head(
        &self,
        org: &OrganizationId,
        key: &str,
        max_bytes: usize,
    ) -> impl Future<Output = PortResult<Option<Vec<u8>>>> + Send;

    /// Copies an upload to `sealed_key`, a key no presigned PUT is ever issued for and that
    /// the abandoned-upload rule does not expire: what a message sends can no longer change or
    /// vanish. The copy's own size and type; None if the upload does not exist.
    /// The copy carries no tag but the retention one (`retention_days`), so the
    /// abandoned-upload rule never expires it and the retention rule does.
    fn seal(
        &self,
        org: &OrganizationId,
        upload_key: &str,
        sealed_key: &str,
        retention_days: Option<u32>,
    ) -> impl Future<Output = PortResult<Option<StoredObject>>> + Send;

    /// Deletes an object: a sealed copy that turned out not to be what was declared, or the
    /// file of an erased message. No error if there is none.
    fn discard(
        &self,
        org: &OrganizationId,
        key: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// Where a message's attachment is sealed: `{org}/sent/{id}/{file name}`.
pub fn sealed_key(org: &OrganizationId, upload_key: &str) -> String {
    let name = upload_key.rsplit('/').next().unwrap_or("file");
    format!("{org}/sent/{}/{name}", ulid::Ulid::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_keys_stay_under_the_organizations_prefix() {
        let org = OrganizationId::parse("acme").unwrap();
        assert_eq!(media_key(&org, "a.png").unwrap(), "acme/a.png");
        assert_eq!(
            media_key(&org, "acme/uploads/a.png").unwrap(),
            "acme/uploads/a.png"
        );
        for bad in [
            "globex/a.png",
            "acme/../globex/a.png",
            "acme//a",
            "acme/",
            "acme/a b",
            "/acme/a",
        ] {
            assert_eq!(media_key(&org, bad), Err(PortError::NotFound), "{bad}");
        }
    }
}
