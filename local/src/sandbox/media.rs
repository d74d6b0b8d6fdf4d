//! Media a sandbox contact sends: served like Twilio serves it — behind the account's basic
//! auth at the Messages API's Media URL, which redirects to a CDN URL that needs (and must
//! not be sent) no credentials.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::{Sandbox, lock};

/// A photo (a 160×120 JPEG that reads "Sandbox photo"), a PDF document and an Ogg/Opus voice note.
pub const SAMPLE_PHOTO: &[u8] = include_bytes!("sample-photo.jpg");
pub const SAMPLE_DOCUMENT: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
pub const SAMPLE_VOICE: &[u8] = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x8a\x9f\x8b\x8a\x01\x13OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00";

/// A shared contact, as WhatsApp sends one (vCard 3.0).
pub const SAMPLE_CONTACT: &[u8] = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lim;Grace;;;\r\nFN:Grace Lim\r\nitem1.TEL;waid=60123456781:+60 12-345 6781\r\nitem1.X-ABLabel:Mobile\r\nEND:VCARD\r\n";
/// A web page sent as a document: what must never render in the CRM's browser.
pub const SAMPLE_WEBPAGE: &[u8] =
    b"<!doctype html><title>Invoice</title><script>document.title = 'ran'</script><p>Invoice</p>\n";
/// A sticker: a 96×96 WebP smiley with transparency (WhatsApp stickers are WebP images).
pub const SAMPLE_STICKER: &[u8] = include_bytes!("sample-sticker.webp");

/// A sample by kind: (bytes, content type, WhatsApp message type).
pub fn sample(kind: &str) -> Option<(&'static [u8], &'static str, &'static str)> {
    Some(match kind {
        "image" | "photo" => (SAMPLE_PHOTO, "image/jpeg", "image"),
        "document" => (SAMPLE_DOCUMENT, "application/pdf", "document"),
        "voice" | "audio" => (SAMPLE_VOICE, "audio/ogg", "audio"),
        "contact" => (SAMPLE_CONTACT, "text/vcard", "contacts"),
        "sticker" => (SAMPLE_STICKER, "image/webp", "sticker"),
        "webpage" => (SAMPLE_WEBPAGE, "text/html", "document"),
        _ => return None,
    })
}

impl Sandbox {
    pub(super) fn keep_media(&self, media_sid: &str, bytes: &[u8], content_type: &str) {
        lock(&self.state.media).insert(
            media_sid.to_owned(),
            (bytes.to_vec(), content_type.to_owned()),
        );
    }
}

/// `GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}`
pub async fn media(
    State(sandbox): State<Sandbox>,
    Path((account_sid, _message_sid, media_sid)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if !sandbox.state.accounts.contains_key(&account_sid) {
        return StatusCode::NOT_FOUND.into_response();
    }
    if !super::auth::authenticated(&sandbox, &headers, &account_sid) {
        return (StatusCode::UNAUTHORIZED, "Authenticate").into_response();
    }
    if !lock(&sandbox.state.media).contains_key(&media_sid) {
        return StatusCode::NOT_FOUND.into_response();
    }
    Redirect::temporary(&format!(
        "{}/sandbox/cdn/{media_sid}",
        sandbox.state.public_base_url
    ))
    .into_response()
}

/// The CDN the Media URL redirects to. Credentials sent here would be a leak: refused.
pub async fn cdn(
    State(sandbox): State<Sandbox>,
    Path(media_sid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return (
            StatusCode::BAD_REQUEST,
            "credentials were forwarded to the CDN",
        )
            .into_response();
    }
    match lock(&sandbox.state.media).get(&media_sid) {
        Some((bytes, content_type)) => (
            [(header::CONTENT_TYPE, content_type.clone())],
            Bytes::from(bytes.clone()),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
