//! Pages of a listing and their opaque cursors (a sort key, base64url): what every store
//! answers a paged read with.

use super::{PortError, PortResult};
use crate::domain::Contact;

/// base64url without padding, as cursors are written; trailing bits need not be zero, so
/// every text of the OpenAPI's cursor pattern (groups of four base64url characters, then two
/// or three) decodes.
const CURSOR: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// An opaque page cursor for a sort key.
pub fn encode_cursor(sort_key: &str) -> String {
    use base64::Engine;
    CURSOR.encode(sort_key)
}

/// The sort key inside a cursor: any base64url text is a position in the sort order (bytes
/// that are not UTF-8 read as U+FFFD), so a cursor never made here pages from wherever it
/// falls; a text that is not base64url (or is empty) is refused.
pub fn decode_cursor(cursor: &str) -> PortResult<String> {
    use base64::Engine;
    CURSOR
        .decode(cursor)
        .ok()
        .filter(|b| !b.is_empty())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .ok_or(PortError::InvalidCursor)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass back to get the next page. None on the last page.
    pub next_cursor: Option<String>,
}

/// A page from up to `limit + 1` items in list order: the extra one only tells that there is
/// a next page, whose cursor is the last returned item's sort key.
pub fn page_of<T>(mut sorted: Vec<T>, limit: usize, sort_key: impl Fn(&T) -> String) -> Page<T> {
    let has_more = sorted.len() > limit;
    sorted.truncate(limit);
    let next_cursor = if has_more {
        sorted.last().map(|item| encode_cursor(&sort_key(item)))
    } else {
        None
    };
    Page {
        items: sorted,
        next_cursor,
    }
}

/// A page of the contact picker (`page_of` by the list's sort key).
pub fn contact_page(sorted: Vec<Contact>, limit: usize) -> Page<Contact> {
    page_of(sorted, limit, Contact::list_sort_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_base64url_text_is_a_cursor_and_nothing_else_is() {
        assert_eq!(
            decode_cursor(&encode_cursor("aisha#c1")).unwrap(),
            "aisha#c1"
        );
        // Not made here, still positions: non-zero trailing bits, bytes that are not UTF-8.
        assert_eq!(decode_cursor("AB").unwrap(), "\0");
        assert_eq!(decode_cursor("_w").unwrap(), "\u{FFFD}");
        for bad in ["", "A", "ABCDE", "a+b/", "QQ==", "é"] {
            assert_eq!(decode_cursor(bad), Err(PortError::InvalidCursor), "{bad}");
        }
    }
}
