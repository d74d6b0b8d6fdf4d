use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::lock;
use crate::domain::OrganizationId;
use crate::ports::{MediaStore, PortResult, PresignedRequest, StoredObject, media_key};

/// Bytes and content type by key.
type Objects = HashMap<String, (Vec<u8>, String)>;

/// Objects in memory. Presigned URLs point at `base_url` (the local runner serves them).
#[derive(Clone)]
pub struct MemoryMedia {
    objects: Arc<Mutex<Objects>>,
    base_url: String,
}

impl MemoryMedia {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            objects: Arc::default(),
            base_url: base_url.into(),
        }
    }

    /// An object's bytes and content type, by full key.
    pub fn object(&self, key: &str) -> Option<(Vec<u8>, String)> {
        lock(&self.objects).ok()?.get(key).cloned()
    }
}

impl MediaStore for MemoryMedia {
    async fn put(
        &self,
        org: &OrganizationId,
        name: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> PortResult<String> {
        let key = media_key(org, name)?;
        lock(&self.objects)?.insert(key.clone(), (bytes, content_type.to_owned()));
        Ok(key)
    }

    async fn head(&self, org: &OrganizationId, key: &str) -> PortResult<Option<StoredObject>> {
        let key = media_key(org, key)?;
        Ok(lock(&self.objects)?
            .get(&key)
            .map(|(bytes, content_type)| StoredObject {
                size: bytes.len() as u64,
                content_type: content_type.clone(),
            }))
    }

    async fn presign_get(
        &self,
        org: &OrganizationId,
        key: &str,
        expires: Duration,
    ) -> PortResult<String> {
        let key = media_key(org, key)?;
        Ok(format!(
            "{}/local/media/{key}?expires_in={}",
            self.base_url,
            expires.as_secs()
        ))
    }

    async fn presign_put(
        &self,
        org: &OrganizationId,
        key: &str,
        content_type: &str,
        length: u64,
        expires: Duration,
    ) -> PortResult<PresignedRequest> {
        let key = media_key(org, key)?;
        Ok(PresignedRequest {
            url: format!(
                "{}/local/media/{key}?expires_in={}",
                self.base_url,
                expires.as_secs()
            ),
            method: "PUT".into(),
            headers: vec![
                ("content-type".into(), content_type.to_owned()),
                ("content-length".into(), length.to_string()),
            ],
            key,
        })
    }
}
