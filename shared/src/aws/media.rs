//! Media objects in S3, always under the organization's own prefix (`{organization_id}/…`).

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use super::unavailable;
use crate::domain::OrganizationId;
use crate::ports::{MediaStore, PortError, PortResult, PresignedRequest, StoredObject, media_key};

#[derive(Clone)]
pub struct S3Media {
    client: Client,
    bucket: String,
}

impl S3Media {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

/// A key as it goes into `x-amz-copy-source`: each segment percent-encoded.
fn url_path(key: &str) -> String {
    key.split('/')
        .map(|segment| {
            url::form_urlencoded::byte_serialize(segment.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn presigning(expires: Duration) -> PortResult<PresigningConfig> {
    PresigningConfig::expires_in(expires).map_err(|e| PortError::Unavailable(e.to_string()))
}

impl MediaStore for S3Media {
    async fn read_head(
        &self,
        org: &OrganizationId,
        key: &str,
        max_bytes: usize,
    ) -> PortResult<Option<Vec<u8>>> {
        let key = media_key(org, key)?;
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .range(format!("bytes=0-{}", max_bytes.saturating_sub(1)))
            .send()
            .await;
        match result {
            Ok(out) => {
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| PortError::Unavailable(format!("GetObject body: {e}")))?
                    .into_bytes();
                Ok(Some(bytes[..bytes.len().min(max_bytes)].to_vec()))
            }
            Err(e) => {
                let e = e.into_service_error();
                if e.is_no_such_key() {
                    Ok(None)
                } else {
                    Err(unavailable("GetObject", e))
                }
            }
        }
    }

    async fn seal(
        &self,
        org: &OrganizationId,
        upload_key: &str,
        sealed_key: &str,
    ) -> PortResult<Option<StoredObject>> {
        let (from, to) = (media_key(org, upload_key)?, media_key(org, sealed_key)?);
        // Keys are printable ASCII without spaces (media_key); `/` stays as it is.
        let source = format!("{}/{}", self.bucket, url_path(&from));
        let copied = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(&to)
            .copy_source(source)
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Copy)
            // No tags: the abandoned-upload rule (a tag filter) never expires the copy.
            .tagging_directive(aws_sdk_s3::types::TaggingDirective::Replace)
            .send()
            .await;
        match copied {
            Ok(_) => self.head(org, &to).await,
            Err(e) => {
                let e = e.into_service_error();
                if e.meta().code() == Some("NoSuchKey") {
                    Ok(None)
                } else {
                    Err(unavailable("CopyObject", e))
                }
            }
        }
    }

    async fn discard(&self, org: &OrganizationId, key: &str) -> PortResult<()> {
        let key = media_key(org, key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| unavailable("DeleteObject", e.into_service_error()))?;
        Ok(())
    }

    async fn put(
        &self,
        org: &OrganizationId,
        name: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> PortResult<String> {
        let key = media_key(org, name)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| unavailable("PutObject", e.into_service_error()))?;
        Ok(key)
    }

    async fn head(&self, org: &OrganizationId, key: &str) -> PortResult<Option<StoredObject>> {
        let key = media_key(org, key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(StoredObject {
                size: out.content_length().unwrap_or_default().max(0) as u64,
                content_type: out
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned(),
            })),
            Err(e) => {
                let e = e.into_service_error();
                if e.is_not_found() {
                    Ok(None)
                } else {
                    Err(unavailable("HeadObject", e))
                }
            }
        }
    }

    async fn presign_get(
        &self,
        org: &OrganizationId,
        key: &str,
        expires: Duration,
    ) -> PortResult<String> {
        let key = media_key(org, key)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .presigned(presigning(expires)?)
            .await
            .map_err(|e| unavailable("presign GetObject", e.into_service_error()))?;
        Ok(request.uri().to_owned())
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
        // Content type and length are signed: the upload must be what was declared.
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .content_length(length as i64)
            // Uploads stay tagged until a message uses them; the bucket's lifecycle rule
            // deletes abandoned ones.
            .tagging("whatsapp-upload=pending")
            .presigned(presigning(expires)?)
            .await
            .map_err(|e| unavailable("presign PutObject", e.into_service_error()))?;
        Ok(PresignedRequest {
            url: request.uri().to_owned(),
            method: request.method().to_owned(),
            headers: request
                .headers()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            key,
        })
    }
}
