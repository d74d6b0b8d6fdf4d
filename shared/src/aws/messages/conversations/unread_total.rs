//! The organization's unread total, beside the summaries: the `unread` index read page by
//! page, and the summaries whose counts changed since they were written read again.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::summary_item::read_summary;
use crate::aws::contention::Backoff;
use crate::aws::messages::{DynamoMessages, ITEM_KEY};
use crate::aws::unavailable;
use crate::domain::ConversationSummary;
use crate::ports::{PortError, PortResult};

impl DynamoMessages {
    /// Every item of an `unread` Query (keys only), page after page.
    pub(super) async fn unread_keys(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        operation: &str,
    ) -> PortResult<Vec<HashMap<String, AttributeValue>>> {
        let query = query.expression_attribute_names("#unread", "unread");
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable(operation, e.into_service_error()))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|key| !key.is_empty());
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Summaries by their item keys, 100 a BatchGetItem, unprocessed keys asked again.
    pub(super) async fn summaries_by_key(
        &self,
        keys: Vec<AttributeValue>,
    ) -> PortResult<Vec<ConversationSummary>> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(
                        chunk
                            .iter()
                            .map(|key| HashMap::from([(ITEM_KEY.to_owned(), key.clone())]))
                            .collect(),
                    ))
                    .build()
                    .map_err(|e| PortError::Unavailable(e.to_string()))?,
            );
            let mut backoff = Backoff::start();
            while let Some(keys) = request.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(|e| unavailable("BatchGetItem summaries", e.into_service_error()))?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    found.push(read_summary(item)?);
                }
                request = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.table)
                    .filter(|k| !k.keys.is_empty());
                if request.is_some() && !backoff.pause().await {
                    return Err(PortError::Unavailable(
                        "BatchGetItem summaries: keys left unprocessed".into(),
                    ));
                }
            }
        }
        Ok(found)
    }
}
