//! Media objects in S3, always under the organization's own prefix (`{organization_id}/…`).

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use super::unavailable;
use crate::domain::{OrganizationId, ServedAs};
use crate::ports::{MediaStore, PortError, PortResult, PresignedRequest, StoredObject, media_key};

#[derive(Clone)]
pub struct S3Media {
    client: super::LazyClient<Client>,
    bucket: String,
}

impl S3Media {
    pub fn new(client: impl Into<super::LazyClient<Client>>, bucket: impl Into<String>) -> Self {
        Self {
            client: client.into(),
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

/// The object tag (URL-encoded, as S3 takes it) that puts a file under the retention rule of
/// its organization's period.
fn retention_tag(days: u32) -> String {
    format!("{}={days}", crate::domain::RETENTION_TAG)
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
        retention_days: Option<u32>,
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
            // Only the retention tag: the abandoned-upload rule (a tag filter) never expires
            // the copy, the organization's retention rule does.
            .tagging_directive(aws_sdk_s3::types::TaggingDirective::Replace)
            .set_tagging(retention_days.map(retention_tag))
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
        served: &ServedAs,
        retention_days: Option<u32>,
    ) -> PortResult<String> {
        let key = media_key(org, name)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(&served.content_type)
            .set_content_disposition(served.download.then(|| "attachment".to_owned()))
            .set_tagging(retention_days.map(retention_tag))
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

#[cfg(test)]
mod tests {
    //! How S3's answers for a missing upload are read. With s3:ListBucket S3 says 404 (no
    //! such key): the upload was never made, which the user is told. Without it S3 says 403
    //! for the same object: that is a deployment fault, reported as unavailable, never as
    //! "not uploaded". A fake S3 on loopback answers exactly as S3 does.
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn fake_s3(status: u16) -> S3Media {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = vec![0u8; 16 * 1024];
                    let n = socket.read(&mut request).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&request[..n]).to_string();
                    let (reason, code) = match status {
                        404 => ("Not Found", "NoSuchKey"),
                        _ => ("Forbidden", "AccessDenied"),
                    };
                    // HEAD answers carry no body; the others S3's XML error document.
                    let body = if head.starts_with("HEAD") {
                        String::new()
                    } else {
                        format!(
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>m</Message><RequestId>R</RequestId></Error>"
                        )
                    };
                    let answer = format!(
                        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nx-amz-request-id: R\r\nConnection: close\r\n\r\n{}",
                        if head.starts_with("HEAD") {
                            0
                        } else {
                            body.len()
                        },
                        body
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        let config = aws_sdk_s3::config::Builder::from(&crate::aws::loopback_sdk_config(&endpoint))
            .force_path_style(true)
            .build();
        S3Media::new(Client::from_conf(config), "media")
    }

    #[tokio::test]
    async fn a_missing_upload_is_none_with_list_permission_and_unavailable_without() {
        let acme = OrganizationId::parse("acme").unwrap();
        let key = "acme/uploads/01J/photo.jpg";
        let sealed = "acme/sent/01J/photo.jpg";

        let s3 = fake_s3(404).await;
        assert_eq!(s3.head(&acme, key).await, Ok(None));
        assert_eq!(s3.read_head(&acme, key, 16).await, Ok(None));
        assert_eq!(s3.seal(&acme, key, sealed, None).await, Ok(None));

        let s3 = fake_s3(403).await;
        assert!(matches!(
            s3.head(&acme, key).await,
            Err(PortError::Unavailable(_))
        ));
        assert!(matches!(
            s3.read_head(&acme, key, 16).await,
            Err(PortError::Unavailable(_))
        ));
        assert!(matches!(
            s3.seal(&acme, key, sealed, None).await,
            Err(PortError::Unavailable(_))
        ));
    }
}
