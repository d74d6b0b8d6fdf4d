//! DynamoDB's billing rules, for the counting proxy (`aws_proxy`): an item's size, read
//! units per 4 KB, write units per started KB on the table and every index the item is in,
//! each on the partition key value it lands on.

use serde_json::Value;
use shared::aws::schema::{CONTACT_SEARCH, CONTACTS, MESSAGES, Projected, TableSpec};

/// Write units on one partition key value of the table or of one of its indexes.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyWrite {
    /// `table` or `table.index`, with the key attribute: `messages.sid (twilio_message_sid)`.
    pub copy: String,
    pub key: String,
    pub units: f64,
}

pub(crate) fn read_units(size: usize) -> f64 {
    // Every read costs at least one 4 KB unit, even one that finds nothing.
    size.div_ceil(4096).max(1) as f64
}

pub(crate) fn spec(table: &str) -> &'static TableSpec {
    if table.ends_with("-contact-search") {
        &CONTACT_SEARCH
    } else if table.ends_with("-contacts") {
        &CONTACTS
    } else {
        &MESSAGES
    }
}

/// `messages`, `contacts`, `contact-search`: the table's name without the stack.
pub(crate) fn table_name(spec: &TableSpec) -> String {
    let name = spec.default_name.trim_start_matches("whatsapp-");
    format!("{name} ({})", spec.hash_key)
}

/// The string value of a key attribute in an item or key (empty when absent).
pub(crate) fn hash_value(attribute: &str, item: &Value) -> String {
    item.get(attribute)
        .and_then(Value::as_object)
        .and_then(|typed| typed.values().next())
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// One write unit per started KB, for the table and each index that projects all attributes
/// and holds the item; a keys-only index costs what `key_changed` says its entry took: one
/// unit when it was put or removed, two when its keys moved (delete and put). Each on the partition key value it lands on.
pub(crate) fn write_units(
    spec: &TableSpec,
    item: &Value,
    size: usize,
    factor: f64,
    mut key_changed: impl FnMut(&'static str, Option<String>) -> f64,
) -> Vec<KeyWrite> {
    let per_copy = factor * size.div_ceil(1024).max(1) as f64;
    let mut writes = vec![KeyWrite {
        copy: table_name(spec),
        key: hash_value(spec.hash_key, item),
        units: per_copy,
    }];
    for index in spec.indexes {
        let held = item.get(index.hash_key).is_some()
            && index.range_key.is_none_or(|r| item.get(r).is_some());
        let key = held.then(|| hash_value(index.hash_key, item));
        // A keys-only entry is rewritten when either of its keys changes.
        let entry = held.then(|| {
            let range = index.range_key.map(|r| hash_value(r, item));
            format!(
                "{}#{}",
                hash_value(index.hash_key, item),
                range.unwrap_or_default()
            )
        });
        let units = match index.projected {
            Projected::All if held => per_copy,
            Projected::KeysOnly => match key_changed(index.name, entry) {
                0.0 => continue,
                writes => factor * writes,
            },
            _ => continue,
        };
        let name = spec.default_name.trim_start_matches("whatsapp-");
        writes.push(KeyWrite {
            copy: format!("{name}.{} ({})", index.name, index.hash_key),
            key: key.unwrap_or_default(),
            units,
        });
    }
    writes
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

pub(crate) fn value_size(value: &Value) -> usize {
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
