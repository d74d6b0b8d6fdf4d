//! The in-process media store's presigned URLs, served like S3 serves them: a PUT must carry
//! the content type and length it was signed for, a GET must be signed and unexpired.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shared::memory::MemoryMedia;

/// S3's own limit for a single PUT is far above WhatsApp's 16 MB; this runner's is WhatsApp's.
const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

pub fn router(media: MemoryMedia) -> Router {
    Router::new()
        .route("/{*key}", get(download).put(upload))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(media)
}

fn denied() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/xml")],
        "<Error><Code>SignatureDoesNotMatch</Code><Message>The request does not match its presigned URL.</Message></Error>",
    )
        .into_response()
}

async fn upload(
    State(media): State<MemoryMedia>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(grant) = query.as_deref().and_then(MemoryMedia::grant) else {
        return denied();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !media.verify("PUT", &key, &grant, content_type, Some(body.len() as u64)) {
        return denied();
    }
    match media.store(&key, body.to_vec(), content_type.unwrap_or_default()) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn download(
    State(media): State<MemoryMedia>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(grant) = query.as_deref().and_then(MemoryMedia::grant) else {
        return denied();
    };
    if !media.verify("GET", &key, &grant, None, None) {
        return denied();
    }
    match media.object(&key) {
        Some((bytes, content_type)) => {
            let mut response = ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
            if let Some(disposition) = media.disposition(&key) {
                response.headers_mut().insert(
                    header::CONTENT_DISPOSITION,
                    header::HeaderValue::from_static(disposition),
                );
            }
            response
        }
        None => (
            StatusCode::NOT_FOUND,
            "<Error><Code>NoSuchKey</Code></Error>",
        )
            .into_response(),
    }
}
