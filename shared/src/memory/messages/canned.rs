//! `CannedResponseStore` in memory: each organization's responses by id, the shortcut and the
//! limit checked under the store's lock (what the DynamoDB store's conditional writes do).

use super::MemoryMessages;
use crate::domain::{CannedResponse, OrganizationId};
use crate::memory::lock;
use crate::ports::{CannedResponseStore, CannedWrite, Page, PortResult, decode_cursor, page_of};

impl CannedResponseStore for MemoryMessages {
    async fn canned_responses(
        &self,
        org: &OrganizationId,
        cursor: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<CannedResponse>> {
        let after = cursor.map(decode_cursor).transpose()?;
        let state = lock(&self.state)?;
        let items: Vec<CannedResponse> = state
            .canned
            .get(org)
            .into_iter()
            .flat_map(|all| all.values())
            .filter(|r| after.as_ref().is_none_or(|after| &r.id > after))
            .take(limit + 1)
            .cloned()
            .collect();
        Ok(page_of(items, limit, |r| r.id.clone()))
    }

    async fn canned_response(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> PortResult<Option<CannedResponse>> {
        Ok(lock(&self.state)?
            .canned
            .get(org)
            .and_then(|all| all.get(id))
            .cloned())
    }

    async fn create_canned_response(
        &self,
        org: &OrganizationId,
        response: &CannedResponse,
        limit: usize,
    ) -> PortResult<CannedWrite> {
        let mut state = lock(&self.state)?;
        let all = state.canned.entry(org.clone()).or_default();
        if all.values().any(|r| r.shortcut == response.shortcut) {
            return Ok(CannedWrite::ShortcutTaken);
        }
        if all.len() >= limit {
            return Ok(CannedWrite::LimitReached);
        }
        all.insert(response.id.clone(), response.clone());
        Ok(CannedWrite::Saved)
    }

    async fn update_canned_response(
        &self,
        org: &OrganizationId,
        previous: &CannedResponse,
        next: &CannedResponse,
    ) -> PortResult<CannedWrite> {
        let mut state = lock(&self.state)?;
        let all = state.canned.entry(org.clone()).or_default();
        if all.get(&previous.id) != Some(previous) {
            return Ok(CannedWrite::Changed);
        }
        if all
            .values()
            .any(|r| r.id != next.id && r.shortcut == next.shortcut)
        {
            return Ok(CannedWrite::ShortcutTaken);
        }
        all.insert(next.id.clone(), next.clone());
        Ok(CannedWrite::Saved)
    }

    async fn delete_canned_response(
        &self,
        org: &OrganizationId,
        previous: &CannedResponse,
    ) -> PortResult<CannedWrite> {
        let mut state = lock(&self.state)?;
        let all = state.canned.entry(org.clone()).or_default();
        if all.get(&previous.id) != Some(previous) {
            return Ok(CannedWrite::Changed);
        }
        all.remove(&previous.id);
        Ok(CannedWrite::Saved)
    }
}
