//! An organization's canned responses (`domain::CannedResponse`): listed in the order they
//! were made, each shortcut held by one response whatever its case, and at most
//! `MAX_CANNED_RESPONSES` per organization — both held by conditional writes, so two saves
//! at once can never break them.

use std::future::Future;

use super::{Page, PortResult};
use crate::domain::{CannedResponse, OrganizationId};

/// How a write of a canned response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CannedWrite {
    Saved,
    /// Another response of the organization holds the shortcut.
    ShortcutTaken,
    /// The organization has as many as it may.
    LimitReached,
    /// The response changed (or went) since the version the write was made from.
    Changed,
}

pub trait CannedResponseStore: Clone + Send + Sync + 'static {
    /// A page of the organization's responses, oldest first.
    fn canned_responses(
        &self,
        org: &OrganizationId,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = PortResult<Page<CannedResponse>>> + Send;

    /// One response, read consistently.
    fn canned_response(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> impl Future<Output = PortResult<Option<CannedResponse>>> + Send;

    /// Adds a response while the organization has fewer than `limit` (the API's is
    /// `MAX_CANNED_RESPONSES`): `ShortcutTaken` or `LimitReached` change nothing.
    fn create_canned_response(
        &self,
        org: &OrganizationId,
        response: &CannedResponse,
        limit: usize,
    ) -> impl Future<Output = PortResult<CannedWrite>> + Send;

    /// Replaces `previous` (as read) with `next` (same id): `Changed` when it is no longer
    /// as read, `ShortcutTaken` when the new shortcut is another's; either changes nothing.
    fn update_canned_response(
        &self,
        org: &OrganizationId,
        previous: &CannedResponse,
        next: &CannedResponse,
    ) -> impl Future<Output = PortResult<CannedWrite>> + Send;

    /// Removes a response as read, freeing its shortcut and its place; `Changed` when it is
    /// no longer as read (gone already, or edited since).
    fn delete_canned_response(
        &self,
        org: &OrganizationId,
        previous: &CannedResponse,
    ) -> impl Future<Output = PortResult<CannedWrite>> + Send;
}
