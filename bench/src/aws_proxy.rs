//! A counting proxy in front of the AWS emulator. The function processes get its address as
//! `AWS_ENDPOINT_URL`, so every AWS request the real binaries make passes here and is counted
//! per operation for the invocation being measured. DynamoDB capacity is estimated from the
//! items as DynamoDB bills them (item size rules, 4 KB read units, 1 KB write units, ×0.5 for
//! eventually consistent reads, ×2 in transactions, one more write per index the item is in,
//! keys-only indexes only when their key changes): the emulator's own figures are constants.
//! Writes are also counted per partition key value of the table and of each index, since
//! DynamoDB limits each key value to 1,000 write units per second. The billing rules:
//! `dynamodb_units`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::dynamodb_units::{
    KeyWrite, hash_value, item_size, read_units, spec, table_name, write_units,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

/// What one labelled phase (an operation of the product) cost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    /// Requests by `service.Operation`.
    pub requests: BTreeMap<String, u64>,
    pub read_units: f64,
    pub write_units: f64,
    /// Write units by copy (`messages`, `messages.sid`, …) and partition key value.
    #[serde(skip)]
    pub key_writes: BTreeMap<String, BTreeMap<String, f64>>,
}

struct Counters {
    label: Option<String>,
    usage: BTreeMap<String, Usage>,
    /// Capacity estimates still being worked out (after the answer went back).
    pending: usize,
}

#[derive(Clone)]
pub struct AwsProxy {
    upstream: String,
    http: reqwest::Client,
    counters: Arc<Mutex<Counters>>,
    /// The key each item last had in each keys-only index, by table, item key and index:
    /// such an index is written only when that key changes.
    index_keys: Arc<Mutex<HashMap<IndexEntry, Option<String>>>>,
}

/// An item of a table in one index: table name, the item's key, the index name.
type IndexEntry = (String, String, &'static str);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AwsProxy {
    /// Serves on a free loopback port; answers with the proxy and its URL.
    pub async fn start(upstream: &str) -> std::io::Result<(Self, String)> {
        let proxy = Self {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            counters: Arc::new(Mutex::new(Counters {
                label: None,
                usage: BTreeMap::new(),
                pending: 0,
            })),
            index_keys: Arc::default(),
        };
        let app = Router::new().fallback(forward).with_state(proxy.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((proxy, url))
    }

    /// Requests from now on count for `label` (None: not counted).
    pub fn label(&self, label: Option<&str>) {
        lock(&self.counters).label = label.map(str::to_owned);
    }

    /// Usage by label, once every estimate under way is in.
    pub async fn usage(&self) -> BTreeMap<String, Usage> {
        loop {
            {
                let counters = lock(&self.counters);
                if counters.pending == 0 {
                    return counters.usage.clone();
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Read units and the writes (per partition key) of one DynamoDB request, from its
    /// request and answer. `authorization` is the request's own: the emulator finds the
    /// service and region of a read-back by it.
    #[expect(
        clippy::too_many_lines,
        reason = "the benchmark's script, step after step (docs/design.md, \"Long functions\")"
    )]
    async fn dynamodb_units(
        &self,
        operation: &str,
        request: &Value,
        answer: &Value,
        authorization: Option<&str>,
    ) -> (f64, Vec<KeyWrite>) {
        let table = request["TableName"].as_str().unwrap_or_default();
        let consistent = request["ConsistentRead"].as_bool().unwrap_or(false);
        let read_factor = if consistent { 1.0 } else { 0.5 };
        match operation {
            "GetItem" => {
                let size = answer.get("Item").map(item_size).unwrap_or(0);
                (read_units(size) * read_factor, Vec::new())
            }
            "Query" => {
                let size: usize = answer["Items"]
                    .as_array()
                    .map(|items| items.iter().map(item_size).sum())
                    .unwrap_or(0);
                (read_units(size) * read_factor, Vec::new())
            }
            // Each item rounded up on its own; eventually consistent unless asked.
            "BatchGetItem" => {
                let mut units = 0.0;
                for (table, items) in answer["Responses"].as_object().into_iter().flatten() {
                    let consistent = request["RequestItems"][table]["ConsistentRead"]
                        .as_bool()
                        .unwrap_or(false);
                    let factor = if consistent { 1.0 } else { 0.5 };
                    for item in items.as_array().into_iter().flatten() {
                        units += read_units(item_size(item)) * factor;
                    }
                }
                (units, Vec::new())
            }
            "PutItem" => (0.0, self.writes(table, &request["Item"], 1.0)),
            "UpdateItem" => {
                let item = self.item(table, &request["Key"], authorization).await;
                (0.0, self.writes(table, &item, 1.0))
            }
            // `answer` is the item as it was, read before the delete (`forward`): it leaves
            // the table and every index that held it, each copy billed by its size.
            "DeleteItem" => {
                let old = match answer.as_object() {
                    Some(item) if !item.is_empty() => answer.clone(),
                    _ => request["Key"].clone(),
                };
                let size = item_size(&old);
                (
                    0.0,
                    write_units(spec(table), &old, size, 1.0, |_, key| {
                        if key.is_some() { 1.0 } else { 0.0 }
                    }),
                )
            }
            "BatchWriteItem" => {
                let mut writes = Vec::new();
                let tables = request["RequestItems"].as_object().into_iter().flatten();
                for (table, requests) in tables {
                    for entry in requests.as_array().into_iter().flatten() {
                        if let Some(put) = entry.get("PutRequest") {
                            writes.extend(self.writes(table, &put["Item"], 1.0));
                        } else if let Some(delete) = entry.get("DeleteRequest") {
                            writes.push(KeyWrite {
                                copy: table_name(spec(table)),
                                key: hash_value(spec(table).hash_key, &delete["Key"]),
                                units: 1.0,
                            });
                        }
                    }
                }
                (0.0, writes)
            }
            "TransactWriteItems" => {
                let mut writes = Vec::new();
                for entry in request["TransactItems"].as_array().into_iter().flatten() {
                    if let Some(put) = entry.get("Put") {
                        let table = put["TableName"].as_str().unwrap_or_default();
                        writes.extend(self.writes(table, &put["Item"], 2.0));
                    } else if let Some(update) = entry.get("Update") {
                        let table = update["TableName"].as_str().unwrap_or_default();
                        let item = self.item(table, &update["Key"], authorization).await;
                        writes.extend(self.writes(table, &item, 2.0));
                    } else if let Some(other) =
                        entry.get("ConditionCheck").or_else(|| entry.get("Delete"))
                    {
                        // One transactional write unit each.
                        let table = other["TableName"].as_str().unwrap_or_default();
                        writes.push(KeyWrite {
                            copy: table_name(spec(table)),
                            key: hash_value(spec(table).hash_key, &other["Key"]),
                            units: 2.0,
                        });
                    }
                }
                (0.0, writes)
            }
            _ => (0.0, Vec::new()),
        }
    }

    /// The writes of one item as it is after the request, `factor` × (2 in transactions).
    fn writes(&self, table: &str, item: &Value, factor: f64) -> Vec<KeyWrite> {
        let spec = spec(table);
        let item_key = hash_value(spec.hash_key, item)
            + &spec
                .range_key
                .map(|r| format!("|{}", hash_value(r, item)))
                .unwrap_or_default();
        let mut index_keys = lock(&self.index_keys);
        write_units(spec, item, item_size(item), factor, |index, key| {
            let last = index_keys
                .insert((table.to_owned(), item_key.clone(), index), key.clone())
                .flatten();
            // A key moved is two index writes (the old entry deleted, the new one put).
            match (last, key) {
                (Some(last), Some(key)) if last != key => 2.0,
                (last, key) if last != key => 1.0,
                _ => 0.0,
            }
        })
    }

    /// The item as it is now (after an update), read back from the emulator; the key alone
    /// when it cannot be read, so the write still lands on its partition key.
    async fn item(&self, table: &str, key: &Value, authorization: Option<&str>) -> Value {
        let request = serde_json::json!({"TableName": table, "Key": key, "ConsistentRead": true});
        let mut read = self
            .http
            .post(&self.upstream)
            .header("x-amz-target", "DynamoDB_20120810.GetItem")
            .header("content-type", "application/x-amz-json-1.0");
        if let Some(authorization) = authorization {
            read = read.header("authorization", authorization);
        }
        let item = match read.body(request.to_string()).send().await {
            Ok(r) => r
                .bytes()
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v.get("Item").cloned()),
            Err(_) => None,
        };
        item.unwrap_or_else(|| key.clone())
    }
}

/// `service.Operation` of one AWS request.
fn operation(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or(("aws", target));
        let service = match service {
            s if s.starts_with("DynamoDB") => "dynamodb",
            "AmazonSQS" => "sqs",
            "secretsmanager" => "secretsmanager",
            other => other,
        };
        return format!("{service}.{op}");
    }
    // The SQS query protocol names the action in the form body.
    if let Some(action) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v)
        })
    {
        return format!("sqs.{action}");
    }
    let _ = uri;
    format!("s3.{method}")
}

#[expect(
    clippy::too_many_lines,
    reason = "the benchmark's script, step after step (docs/design.md, \"Long functions\")"
)]
async fn forward(
    State(proxy): State<AwsProxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation(&method, &uri, &headers, &body);
    // A delete is billed by what it removes: read the item first (only while counting).
    let counting = lock(&proxy.counters).label.is_some();
    let deleted = if counting && op == "dynamodb.DeleteItem" {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
        let table = request["TableName"].as_str().unwrap_or_default();
        let item = proxy.item(table, &request["Key"], authorization).await;
        Some(Bytes::from(item.to_string()))
    } else {
        None
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = proxy
        .http
        .request(method.clone(), format!("{}{path}", proxy.upstream));
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = match request.body(body.clone()).send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let mut response_headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "transfer-encoding" | "content-length" | "connection"
        ) {
            response_headers.insert(name, value.clone());
        }
    }
    let answer_body = answer.bytes().await.unwrap_or_default();
    // Counted for the phase the request arrived in; the capacity estimate (which may read the
    // written item back) runs after the answer has gone, so it adds nothing to the latency.
    let label = {
        let mut counters = lock(&proxy.counters);
        let label = counters.label.clone();
        if let Some(label) = &label {
            *counters
                .usage
                .entry(label.clone())
                .or_default()
                .requests
                .entry(op.clone())
                .or_default() += 1;
            counters.pending += 1;
        }
        label
    };
    if let Some(label) = label {
        let answer_json = deleted.unwrap_or_else(|| answer_body.clone());
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let (read, writes) = match op.strip_prefix("dynamodb.") {
                Some(dynamo_op) if status.is_success() => {
                    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let answer: Value = serde_json::from_slice(&answer_json).unwrap_or(Value::Null);
                    proxy
                        .dynamodb_units(dynamo_op, &request, &answer, authorization.as_deref())
                        .await
                }
                _ => (0.0, Vec::new()),
            };
            let mut counters = lock(&proxy.counters);
            let usage = counters.usage.entry(label).or_default();
            usage.read_units += read;
            for write in writes {
                usage.write_units += write.units;
                *usage
                    .key_writes
                    .entry(write.copy)
                    .or_default()
                    .entry(write.key)
                    .or_default() += write.units;
            }
            counters.pending -= 1;
        });
    }
    (status, response_headers, answer_body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn item_sizes_follow_dynamodb_rules() {
        let item = json!({"pk": {"S": "abc"}, "n": {"N": "12345"}, "ok": {"BOOL": true}});
        // "pk"+3, "n"+(5/2 rounded up + 1 = 4), "ok"+1
        assert_eq!(item_size(&item), 2 + 3 + 1 + 4 + 2 + 1);
        let nested = json!({"m": {"M": {"a": {"S": "xy"}}}});
        assert_eq!(item_size(&nested), 1 + 3 + 1 + 1 + 2);
    }

    fn total(writes: &[KeyWrite]) -> f64 {
        writes.iter().map(|w| w.units).sum()
    }

    #[test]
    fn writes_count_the_indexes_an_item_is_in() {
        let in_two = json!({"organization_id": {"S": "o"}, "contact_id": {"S": "c"},
            "phone_number": {"S": "+1"}, "eligible_sort": {"S": "a#c"}});
        let writes = write_units(spec("x-contacts"), &in_two, 100, 1.0, |_, _| 1.0);
        assert_eq!(total(&writes), 3.0);
        assert!(writes.iter().all(|w| w.key == "o"), "{writes:?}");
        let sparse = json!({"organization_id": {"S": "o"}, "contact_id": {"S": "c"}});
        let writes = write_units(spec("x-contacts"), &sparse, 2048, 1.0, |_, _| 1.0);
        assert_eq!(total(&writes), 2.0);
        assert_eq!(read_units(0), 1.0);
        assert_eq!(read_units(4097), 2.0);
    }

    #[test]
    fn a_keys_only_index_is_written_when_its_key_changes() {
        let message = json!({"item_key": {"S": "o#01J"}, "conversation": {"S": "o#c"},
            "message_id": {"S": "01J"}, "revision": {"S": "01K"},
            "twilio_message_sid": {"S": "SM1"}});
        // Table, `conversation`, `changes` (all attributes, 2 KB each) and `sid` (keys, 1).
        let writes = write_units(spec("x-messages"), &message, 1500, 1.0, |_, key| {
            if key.is_some() { 1.0 } else { 0.0 }
        });
        assert_eq!(total(&writes), 7.0);
        let sid = writes
            .iter()
            .find(|w| w.copy.starts_with("messages.sid"))
            .unwrap();
        assert_eq!((sid.key.as_str(), sid.units), ("SM1", 1.0));
        let writes = write_units(spec("x-messages"), &message, 1500, 2.0, |_, _| 0.0);
        assert_eq!(total(&writes), 12.0, "in a transaction, sid unchanged");
        assert_eq!(writes[0].copy, "messages (item_key)");
        assert_eq!(writes[0].key, "o#01J");
    }

    #[tokio::test]
    async fn a_keys_only_entry_whose_keys_move_is_two_writes() {
        let (proxy, _) = AwsProxy::start("http://127.0.0.1:9").await.unwrap();
        let summary = |unread: Option<&str>| {
            let mut item = json!({"item_key": {"S": "o#CONV#c"}});
            if let Some(unread) = unread {
                item["unread_inbox"] = json!({"S": "o"});
                item["unread"] = json!({"S": unread});
            }
            json!({"TableName": "s-messages", "Item": item})
        };
        let mut unread_index = Vec::new();
        for put in [
            summary(Some("99#1")),
            summary(Some("99#2")),
            summary(Some("99#2")),
            summary(None),
        ] {
            let (_, writes) = proxy
                .dynamodb_units("PutItem", &put, &Value::Null, None)
                .await;
            unread_index.push(
                writes
                    .iter()
                    .filter(|w| w.copy.starts_with("messages.unread"))
                    .map(|w| w.units)
                    .sum::<f64>(),
            );
        }
        // Put; the count moves (delete and put); unchanged; removed.
        assert_eq!(unread_index, [1.0, 2.0, 0.0, 1.0]);
    }

    #[tokio::test]
    async fn writes_land_on_their_partition_keys() {
        let (proxy, _) = AwsProxy::start("http://127.0.0.1:9").await.unwrap();
        let put = json!({"TableName": "s-messages", "Item": {"item_key": {"S": "o#01J"},
            "message_id": {"S": "01J"}, "twilio_message_sid": {"S": "SM1"}}});
        let (_, first) = proxy
            .dynamodb_units("PutItem", &put, &Value::Null, None)
            .await;
        let (_, again) = proxy
            .dynamodb_units("PutItem", &put, &Value::Null, None)
            .await;
        // The sid index is written the first time the item has the sid, not when it keeps it.
        assert_eq!((total(&first), total(&again)), (2.0, 1.0));
        let search = json!({"TableName": "s-contact-search", "Item": {
            "organization_id": {"S": "o"}, "term_key": {"S": "t#ann#c"}}});
        let (_, writes) = proxy
            .dynamodb_units("PutItem", &search, &Value::Null, None)
            .await;
        assert_eq!(writes.len(), 1, "the search table has no index");
        assert_eq!(writes[0].copy, "contact-search (organization_id)");
        let batch = json!({"RequestItems": {"s-contact-search": [
            {"PutRequest": {"Item": {"organization_id": {"S": "o"}, "term_key": {"S": "t#b#c"}}}},
            {"DeleteRequest": {"Key": {"organization_id": {"S": "o"}, "term_key": {"S": "t#a#c"}}}}
        ]}});
        let (_, writes) = proxy
            .dynamodb_units("BatchWriteItem", &batch, &Value::Null, None)
            .await;
        assert_eq!(total(&writes), 2.0);
        assert!(writes.iter().all(|w| w.key == "o"), "{writes:?}");
        // A delete is billed on every copy that held the item (read before it went): the
        // table, `conversation` and `changes`, and the `sid` index; one unit when nothing was
        // there but the key.
        let delete = json!({"TableName": "s-messages", "Key": {"item_key": {"S": "o#01J"}}});
        let old = json!({"item_key": {"S": "o#01J"}, "conversation": {"S": "o#c"},
            "message_id": {"S": "01J"}, "revision": {"S": "01K"},
            "twilio_message_sid": {"S": "SM1"}});
        let (_, writes) = proxy
            .dynamodb_units("DeleteItem", &delete, &old, None)
            .await;
        assert_eq!(total(&writes), 4.0, "{writes:?}");
        let (_, writes) = proxy
            .dynamodb_units("DeleteItem", &delete, &delete["Key"], None)
            .await;
        assert_eq!(total(&writes), 1.0);
        // An update whose item cannot be read back still lands on its key.
        let update = json!({"TableName": "s-messages", "Key": {"item_key": {"S": "o#01K"}}});
        let (_, writes) = proxy
            .dynamodb_units("UpdateItem", &update, &Value::Null, None)
            .await;
        assert_eq!(writes[0].key, "o#01K");
    }

    #[test]
    fn operations_are_named_by_service() {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", "DynamoDB_20120810.Query".parse().unwrap());
        let uri: Uri = "/".parse().unwrap();
        assert_eq!(
            operation(&Method::POST, &uri, &headers, b""),
            "dynamodb.Query"
        );
        headers.insert("x-amz-target", "AmazonSQS.SendMessage".parse().unwrap());
        assert_eq!(
            operation(&Method::POST, &uri, &headers, b""),
            "sqs.SendMessage"
        );
        let none = HeaderMap::new();
        assert_eq!(operation(&Method::PUT, &uri, &none, b""), "s3.PUT");
    }
}
