//! `POST /whatsapp/attachments` `{filename, content_type, size}`: checks the file against
//! what WhatsApp on Twilio accepts and answers a short-lived presigned PUT under the
//! organization's own prefix. The signature binds the content type and length, so the upload
//! must be exactly what was declared; the bytes are checked again before a send.
#![cfg_attr(test, allow(clippy::too_many_lines))]

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, json_body, json_response,
    organization_id, route_key,
};
use shared::config::Settings;
use shared::domain::{OrganizationId, check_declared};
use shared::ports::{MediaStore, Ports};
use shared::runtime::HttpRoutes;

/// How long the browser has to start the upload.
pub const UPLOAD_EXPIRY: Duration = Duration::from_secs(300);
const MAX_FILENAME_CHARS: usize = 200;

#[derive(Clone)]
pub struct PresignApi<P> {
    pub ports: P,
    pub org_claim: String,
}

impl<P: Ports> PresignApi<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self {
            ports,
            org_claim: settings.org_claim.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
}

#[derive(Debug, Serialize)]
pub struct PresignedUpload {
    pub url: String,
    pub method: String,
    /// Send exactly these headers with the PUT.
    pub headers: std::collections::BTreeMap<String, String>,
    pub key: String,
    pub expires_at: chrono::DateTime<Utc>,
}

/// What to put in `attachments` of `POST /whatsapp/messages` once uploaded.
#[derive(Debug, Serialize)]
pub struct AttachmentRef {
    pub key: String,
    pub content_type: String,
    pub filename: String,
    pub size: u64,
}

#[derive(Debug, Serialize)]
pub struct UploadAnswer {
    pub upload: PresignedUpload,
    pub attachment: AttachmentRef,
}

/// A storage-safe version of a user's file name (the original is kept for display).
pub fn storage_name(filename: &str) -> String {
    let cleaned: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c| c == '.' || c == '_');
    let tail: String = cleaned
        .chars()
        .rev()
        .take(100)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if tail.is_empty() { "file".into() } else { tail }
}

impl<P: Ports> HttpRoutes for PresignApi<P> {
    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let org = organization_id(event, &self.org_claim)?;
        match route_key(event).as_str() {
            "POST /whatsapp/attachments" => {
                let request: UploadRequest = json_body(event)?;
                Ok(json_response(200, &self.presign(&org, request).await?))
            }
            _ => Err(ApiError::NotFound("No such route.")),
        }
    }
}

impl<P: Ports> PresignApi<P> {
    pub async fn presign(
        &self,
        org: &OrganizationId,
        request: UploadRequest,
    ) -> Result<UploadAnswer, ApiError> {
        // Counted as sent, blanks included (the OpenAPI's maxLength); stored trimmed.
        let filename = request.filename.trim().to_owned();
        if filename.is_empty()
            || request.filename.chars().count() > MAX_FILENAME_CHARS
            || filename.chars().any(char::is_control)
        {
            return Err(ApiError::InvalidParameter(format!(
                "filename must be 1 to {MAX_FILENAME_CHARS} printable characters."
            )));
        }
        let rule = check_declared(&filename, &request.content_type, request.size)
            .map_err(ApiError::AttachmentRejected)?;
        let key = format!(
            "{org}/uploads/{}/{}",
            ulid::Ulid::new(),
            storage_name(&filename)
        );
        let presigned = self
            .ports
            .media()
            .presign_put(org, &key, rule.content_type, request.size, UPLOAD_EXPIRY)
            .await?;
        tracing::info!(key = %presigned.key, size = request.size, "upload presigned");
        Ok(UploadAnswer {
            attachment: AttachmentRef {
                key: presigned.key.clone(),
                content_type: rule.content_type.to_owned(),
                filename,
                size: request.size,
            },
            upload: PresignedUpload {
                url: presigned.url,
                method: presigned.method,
                headers: presigned.headers.into_iter().collect(),
                key: presigned.key,
                expires_at: Utc::now() + chrono::Duration::seconds(UPLOAD_EXPIRY.as_secs() as i64),
            },
        })
    }
}
