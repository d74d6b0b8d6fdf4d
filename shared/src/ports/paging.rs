//! Pages of a listing and their opaque cursors (a sort key, base64url): what every store
//! answers a paged read with.

use super::{PortError, PortResult};
use crate::domain::Contact;

/// An opaque page cursor for a sort key.
pub fn encode_cursor(sort_key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sort_key)
}

/// The sort key inside a cursor from `encode_cursor`.
pub fn decode_cursor(cursor: &str) -> PortResult<String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(PortError::InvalidCursor)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass back to get the next page. None on the last page.
    pub next_cursor: Option<String>,
}

/// A page of the contact picker from up to `limit + 1` contacts in list order: the extra
/// one only tells that there is a next page, whose cursor is the last returned contact.
pub fn contact_page(mut sorted: Vec<Contact>, limit: usize) -> Page<Contact> {
    let has_more = sorted.len() > limit;
    sorted.truncate(limit);
    let next_cursor = if has_more {
        sorted.last().map(|c| encode_cursor(&c.list_sort_key()))
    } else {
        None
    };
    Page {
        items: sorted,
        next_cursor,
    }
}
