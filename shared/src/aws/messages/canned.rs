//! Canned responses, in the messages table beside the conversations (see docs/dynamodb.md):
//! - `{org}#CANNED#<id>`: the response; `canned_org`/`canned_id` put it in the sparse
//!   `canned` index, which lists an organization's responses in id (creation) order;
//! - `{org}#SHORTCUT#<shortcut>`: the shortcut's holder (`response_id`), so one shortcut is
//!   one response's (shortcuts are kept lowercase);
//! - `{org}#CANNED_COUNT`: how many the organization has (`canned_count`).
//!
//! Each save is one TransactWriteItems whose conditions hold the rules: a new claim on a
//! shortcut nobody holds, a count under the limit, a response still as it was read. Of two
//! creates with one shortcut, one is saved and the other told `ShortcutTaken`; a conflict or
//! throttling is retried (`contention`).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::{DynamoMessages, ITEM_KEY, item_key};
use crate::aws::contention::{Backoff, cancelled_by_contention};
use crate::aws::{s, unavailable};
use crate::domain::{CannedResponse, OrganizationId};
use crate::ports::{
    CannedResponseStore, CannedWrite, Page, PortError, PortResult, decode_cursor, page_of,
};

/// The sparse index of canned responses.
const CANNED_INDEX: &str = "canned";

fn response_key(org: &OrganizationId, id: &str) -> String {
    item_key(org, &format!("CANNED#{id}"))
}

fn shortcut_key(org: &OrganizationId, shortcut: &str) -> String {
    item_key(org, &format!("SHORTCUT#{shortcut}"))
}

fn count_key(org: &OrganizationId) -> String {
    item_key(org, "CANNED_COUNT")
}

fn built<T, E: std::fmt::Display>(built: Result<T, E>) -> PortResult<T> {
    built.map_err(|e| PortError::Unavailable(e.to_string()))
}

/// The response as the table holds it.
fn response_item(
    org: &OrganizationId,
    r: &CannedResponse,
) -> PortResult<HashMap<String, AttributeValue>> {
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(r)
        .map_err(|e| PortError::Corrupt(format!("canned response: {e}")))?;
    item.insert(ITEM_KEY.into(), s(response_key(org, &r.id)));
    item.insert("organization_id".into(), s(org.as_str()));
    item.insert("canned_org".into(), s(org.as_str()));
    item.insert("canned_id".into(), s(&r.id));
    Ok(item)
}

fn read_response(item: HashMap<String, AttributeValue>) -> PortResult<CannedResponse> {
    serde_dynamo::from_item(item).map_err(|e| PortError::Corrupt(format!("canned response: {e}")))
}

/// The response's `updated_at` as stored: a save is conditional on it.
fn stored_version(r: &CannedResponse) -> PortResult<AttributeValue> {
    serde_dynamo::to_attribute_value(r.updated_at)
        .map_err(|e| PortError::Corrupt(format!("canned response: {e}")))
}

fn claim(table: &str, org: &OrganizationId, r: &CannedResponse) -> PortResult<TransactWriteItem> {
    let put = built(
        Put::builder()
            .table_name(table)
            .item(ITEM_KEY, s(shortcut_key(org, &r.shortcut)))
            .item("organization_id", s(org.as_str()))
            .item("response_id", s(&r.id))
            .condition_expression("attribute_not_exists(item_key)")
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn release(table: &str, org: &OrganizationId, r: &CannedResponse) -> PortResult<TransactWriteItem> {
    let delete = built(
        Delete::builder()
            .table_name(table)
            .key(ITEM_KEY, s(shortcut_key(org, &r.shortcut)))
            .condition_expression("response_id = :id")
            .expression_attribute_values(":id", s(&r.id))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Which conditions of a cancelled transaction failed, by position.
fn failed_conditions(e: &TransactWriteItemsError) -> Vec<bool> {
    match e {
        TransactWriteItemsError::TransactionCanceledException(t) => t
            .cancellation_reasons()
            .iter()
            .map(|r| r.code() == Some("ConditionalCheckFailed"))
            .collect(),
        _ => Vec::new(),
    }
}

impl DynamoMessages {
    /// Sends a transaction until it is done or cancelled by a condition (the positions that
    /// failed); contention is retried until the deadline.
    async fn save_canned(
        &self,
        items: Vec<TransactWriteItem>,
        operation: &str,
    ) -> PortResult<Vec<bool>> {
        let mut backoff = Backoff::start();
        loop {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let e = match sent {
                Ok(_) => return Ok(Vec::new()),
                Err(e) => e.into_service_error(),
            };
            let failed = failed_conditions(&e);
            if failed.iter().any(|f| *f) {
                return Ok(failed);
            }
            if !cancelled_by_contention(&e) {
                return Err(unavailable(operation, e));
            }
            if !backoff.pause().await {
                return Err(PortError::Unavailable(format!(
                    "{operation}: kept contended"
                )));
            }
        }
    }
}

impl CannedResponseStore for DynamoMessages {
    async fn canned_responses(
        &self,
        org: &OrganizationId,
        cursor: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<CannedResponse>> {
        let after = cursor.map(decode_cursor).transpose()?;
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        // A Query stops at 1 MB: read on until the page (and one more) or the end.
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(CANNED_INDEX)
                .expression_attribute_values(":org", s(org.as_str()))
                .limit(i32::try_from(limit + 1 - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            query = match &after {
                Some(after) => query
                    .key_condition_expression("canned_org = :org AND canned_id > :after")
                    .expression_attribute_values(":after", s(after)),
                None => query.key_condition_expression("canned_org = :org"),
            };
            let out = query
                .send()
                .await
                .map_err(|e| unavailable("Query canned responses", e.into_service_error()))?;
            for item in out.items.unwrap_or_default() {
                items.push(read_response(item)?);
            }
            start = out.last_evaluated_key;
            if items.len() > limit || start.is_none() {
                break;
            }
        }
        Ok(page_of(items, limit, |r| r.id.clone()))
    }

    async fn canned_response(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> PortResult<Option<CannedResponse>> {
        self.item(org, format!("CANNED#{id}"), "GetItem canned response")
            .await?
            .map(read_response)
            .transpose()
    }

    async fn create_canned_response(
        &self,
        org: &OrganizationId,
        response: &CannedResponse,
        limit: usize,
    ) -> PortResult<CannedWrite> {
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(response_item(org, response)?))
                .condition_expression("attribute_not_exists(item_key)")
                .build(),
        )?;
        let count = built(
            Update::builder()
                .table_name(&self.table)
                .key(ITEM_KEY, s(count_key(org)))
                .update_expression("SET organization_id = :org ADD canned_count :one")
                .condition_expression("attribute_not_exists(canned_count) OR canned_count < :max")
                .expression_attribute_values(":org", s(org.as_str()))
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":max", AttributeValue::N(limit.to_string()))
                .build(),
        )?;
        let failed = self
            .save_canned(
                vec![
                    TransactWriteItem::builder().put(put).build(),
                    claim(&self.table, org, response)?,
                    TransactWriteItem::builder().update(count).build(),
                ],
                "TransactWriteItems canned response",
            )
            .await?;
        Ok(match failed.as_slice() {
            [] => CannedWrite::Saved,
            [_, true, ..] => CannedWrite::ShortcutTaken,
            [_, _, true] => CannedWrite::LimitReached,
            _ => CannedWrite::Changed,
        })
    }

    async fn update_canned_response(
        &self,
        org: &OrganizationId,
        previous: &CannedResponse,
        next: &CannedResponse,
    ) -> PortResult<CannedWrite> {
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(response_item(org, next)?))
                .condition_expression("updated_at = :read")
                .expression_attribute_values(":read", stored_version(previous)?)
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if next.shortcut != previous.shortcut {
            items.push(release(&self.table, org, previous)?);
            items.push(claim(&self.table, org, next)?);
        }
        let failed = self
            .save_canned(items, "TransactWriteItems canned response update")
            .await?;
        Ok(match failed.as_slice() {
            [] => CannedWrite::Saved,
            [true, ..] | [_, true, _] => CannedWrite::Changed,
            _ => CannedWrite::ShortcutTaken,
        })
    }

    async fn delete_canned_response(
        &self,
        org: &OrganizationId,
        previous: &CannedResponse,
    ) -> PortResult<CannedWrite> {
        let delete = built(
            Delete::builder()
                .table_name(&self.table)
                .key(ITEM_KEY, s(response_key(org, &previous.id)))
                .condition_expression("updated_at = :read")
                .expression_attribute_values(":read", stored_version(previous)?)
                .build(),
        )?;
        let count = built(
            Update::builder()
                .table_name(&self.table)
                .key(ITEM_KEY, s(count_key(org)))
                .update_expression("ADD canned_count :less")
                .condition_expression("canned_count > :zero")
                .expression_attribute_values(":less", AttributeValue::N("-1".into()))
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .build(),
        )?;
        let failed = self
            .save_canned(
                vec![
                    TransactWriteItem::builder().delete(delete).build(),
                    release(&self.table, org, previous)?,
                    TransactWriteItem::builder().update(count).build(),
                ],
                "TransactWriteItems canned response removal",
            )
            .await?;
        Ok(if failed.is_empty() {
            CannedWrite::Saved
        } else {
            CannedWrite::Changed
        })
    }
}
