//! A counting proxy in front of the AWS emulator. The function processes get its address as
//! `AWS_ENDPOINT_URL`, so every AWS request the real binaries make passes here and is counted
//! per operation for the invocation being measured. DynamoDB capacity is estimated from the
//! items as DynamoDB bills them (item size rules, 4 KB read units, 1 KB write units, ×0.5 for
//! eventually consistent reads, ×2 in transactions, one more write per index the item is in):
//! the emulator's own figures are constants.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use shared::aws::schema::{CONTACTS, MESSAGES, TableSpec};

/// What one labelled phase (an operation of the product) cost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    /// Requests by `service.Operation`.
    pub requests: BTreeMap<String, u64>,
    pub read_units: f64,
    pub write_units: f64,
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
}

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

    /// Read and write units of one DynamoDB request, from its request and answer.
    async fn dynamodb_units(&self, operation: &str, request: &Value, answer: &Value) -> (f64, f64) {
        let table = request["TableName"].as_str().unwrap_or_default();
        let consistent = request["ConsistentRead"].as_bool().unwrap_or(false);
        let read_factor = if consistent { 1.0 } else { 0.5 };
        match operation {
            "GetItem" => {
                let size = answer.get("Item").map(item_size).unwrap_or(0);
                (read_units(size) * read_factor, 0.0)
            }
            "Query" => {
                let size: usize = answer["Items"]
                    .as_array()
                    .map(|items| items.iter().map(item_size).sum())
                    .unwrap_or(0);
                (read_units(size) * read_factor, 0.0)
            }
            "PutItem" => (
                0.0,
                write_units(table, &request["Item"], item_size(&request["Item"])),
            ),
            "UpdateItem" => {
                let item = self.item(table, &request["Key"]).await;
                (0.0, write_units(table, &item, item_size(&item)))
            }
            "DeleteItem" => (0.0, 1.0),
            "TransactWriteItems" => {
                let mut units = 0.0;
                for entry in request["TransactItems"].as_array().into_iter().flatten() {
                    if let Some(put) = entry.get("Put") {
                        let table = put["TableName"].as_str().unwrap_or_default();
                        units += 2.0 * write_units(table, &put["Item"], item_size(&put["Item"]));
                    } else if let Some(update) = entry.get("Update") {
                        let table = update["TableName"].as_str().unwrap_or_default();
                        let item = self.item(table, &update["Key"]).await;
                        units += 2.0 * write_units(table, &item, item_size(&item));
                    } else {
                        // ConditionCheck and Delete: one transactional write unit each.
                        units += 2.0;
                    }
                }
                (0.0, units)
            }
            _ => (0.0, 0.0),
        }
    }

    async fn item(&self, table: &str, key: &Value) -> Value {
        let request = serde_json::json!({"TableName": table, "Key": key, "ConsistentRead": true});
        let answer = self
            .http
            .post(&self.upstream)
            .header("x-amz-target", "DynamoDB_20120810.GetItem")
            .header("content-type", "application/x-amz-json-1.0")
            .body(request.to_string())
            .send()
            .await;
        match answer {
            Ok(r) => r
                .bytes()
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v.get("Item").cloned())
                .unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }
}

fn read_units(size: usize) -> f64 {
    // Every read costs at least one 4 KB unit, even one that finds nothing.
    size.div_ceil(4096).max(1) as f64
}

fn spec(table: &str) -> &'static TableSpec {
    if table.contains("contacts") {
        &CONTACTS
    } else {
        &MESSAGES
    }
}

/// One write unit per started KB, for the table and each index the item appears in (the
/// indexes project all attributes).
fn write_units(table: &str, item: &Value, size: usize) -> f64 {
    let per_copy = size.div_ceil(1024).max(1) as f64;
    let indexes = spec(table)
        .indexes
        .iter()
        .filter(|i| item.get(i.hash_key).is_some() && item.get(i.range_key).is_some())
        .count();
    per_copy * (1 + indexes) as f64
}

/// An item's size as DynamoDB counts it: names plus values.
pub fn item_size(item: &Value) -> usize {
    item.as_object()
        .map(|attributes| {
            attributes
                .iter()
                .map(|(name, value)| name.len() + value_size(value))
                .sum()
        })
        .unwrap_or(0)
}

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(0, |n| n.len().div_ceil(2) + 1),
        "B" => inner.as_str().map_or(0, |b| b.len() * 3 / 4),
        "BOOL" | "NULL" => 1,
        "SS" | "NS" | "BS" => inner.as_array().map_or(0, |a| {
            a.iter().map(|v| v.as_str().map_or(0, str::len)).sum()
        }),
        "L" => {
            3 + inner
                .as_array()
                .map_or(0, |a| a.iter().map(|v| 1 + value_size(v)).sum())
        }
        "M" => {
            3 + inner.as_object().map_or(0, |m| {
                m.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum()
            })
        }
        _ => 0,
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

async fn forward(
    State(proxy): State<AwsProxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation(&method, &uri, &headers, &body);
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
        let answer_json = answer_body.clone();
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let (read, write) = match op.strip_prefix("dynamodb.") {
                Some(dynamo_op) if status.is_success() => {
                    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let answer: Value = serde_json::from_slice(&answer_json).unwrap_or(Value::Null);
                    proxy.dynamodb_units(dynamo_op, &request, &answer).await
                }
                _ => (0.0, 0.0),
            };
            let mut counters = lock(&proxy.counters);
            let usage = counters.usage.entry(label).or_default();
            usage.read_units += read;
            usage.write_units += write;
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

    #[test]
    fn writes_count_the_indexes_an_item_is_in() {
        let in_two = json!({"organization_id": {"S": "o"}, "contact_id": {"S": "c"},
            "phone_number": {"S": "+1"}, "eligible_sort": {"S": "a#c"}});
        assert_eq!(write_units("x-contacts", &in_two, 100), 3.0);
        let sparse = json!({"organization_id": {"S": "o"}, "contact_id": {"S": "c"}});
        assert_eq!(write_units("x-contacts", &sparse, 2048), 2.0);
        assert_eq!(read_units(0), 1.0);
        assert_eq!(read_units(4097), 2.0);
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
