//! A contact change as a partial UpdateItem: only the attributes this service owns are
//! written, so attributes the CRM keeps on the item survive, and the write is conditional on
//! everything the change was computed from — the `version` (for writers that keep it) and the
//! values that decide eligibility and the list order (for writers that don't) — so a
//! concurrent CRM write is never reverted: the update is read again and retried instead.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::Contact;
use crate::ports::{PortError, PortResult};

/// The expression parts of one conditional update.
pub(super) struct PartialUpdate {
    pub expression: String,
    pub condition: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

fn value<T: serde::Serialize>(v: &T) -> PortResult<AttributeValue> {
    serde_dynamo::to_attribute_value(v).map_err(|e| PortError::Corrupt(format!("contact: {e}")))
}

impl PartialUpdate {
    /// From the contact as read (`before`, at `version`) to the contact after the change.
    pub fn new(before: &Contact, after: &Contact, version: u64) -> PortResult<Self> {
        let mut update = Self {
            expression: String::new(),
            condition: String::new(),
            names: HashMap::new(),
            values: HashMap::new(),
        };
        let (set, remove) = update.changes(before, after, version)?;
        update.expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            update
                .expression
                .push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        update.condition = update.read_as(before, version)?.join(" AND ");
        Ok(update)
    }

    /// What the change sets and removes: the next version, the attributes this service owns
    /// where the change moved them, and the `eligible` index's key.
    fn changes(
        &mut self,
        before: &Contact,
        after: &Contact,
        version: u64,
    ) -> PortResult<(Vec<String>, Vec<String>)> {
        let mut set = vec!["version = :next".to_owned()];
        let mut remove = Vec::new();
        self.values
            .insert(":next".into(), AttributeValue::N((version + 1).to_string()));
        let owned = [
            (
                "whatsapp_opt_in",
                value(&before.whatsapp_opt_in)?,
                value(&after.whatsapp_opt_in)?,
            ),
            (
                "whatsapp_unsubscribed",
                value(&before.whatsapp_unsubscribed)?,
                value(&after.whatsapp_unsubscribed)?,
            ),
            (
                "last_inbound_at",
                value(&before.last_inbound_at)?,
                value(&after.last_inbound_at)?,
            ),
            (
                "whatsapp_opt_changed_at",
                value(&before.whatsapp_opt_changed_at)?,
                value(&after.whatsapp_opt_changed_at)?,
            ),
        ];
        for (name, old, new) in owned {
            if old != new {
                let key = format!(":{name}");
                set.push(format!("{name} = {key}"));
                self.values.insert(key, new);
            }
        }
        // The `eligible` index follows eligibility.
        let sort = |c: &Contact| c.eligibility().is_ok().then(|| c.list_sort_key());
        match sort(after) {
            Some(key) => {
                set.push("eligible_sort = :eligible_sort".into());
                self.values
                    .insert(":eligible_sort".into(), AttributeValue::S(key));
            }
            None => remove.push("eligible_sort".to_owned()),
        }
        Ok((set, remove))
    }

    /// The conditions: everything that went into the change is still as read.
    fn read_as(&mut self, before: &Contact, version: u64) -> PortResult<Vec<String>> {
        let mut conditions = vec!["attribute_exists(contact_id)".to_owned()];
        conditions.push(if version == 0 {
            "(attribute_not_exists(version) OR version = :version)".into()
        } else {
            "version = :version".into()
        });
        self.values
            .insert(":version".into(), AttributeValue::N(version.to_string()));
        let inputs = [
            ("name", Some(value(&before.name)?)),
            (
                "phone_number",
                before.phone_number.as_ref().map(value).transpose()?,
            ),
            ("whatsapp_opt_in", Some(value(&before.whatsapp_opt_in)?)),
            ("whatsapp_blocked", Some(value(&before.whatsapp_blocked)?)),
            (
                "whatsapp_unsubscribed",
                Some(value(&before.whatsapp_unsubscribed)?),
            ),
        ];
        for (i, (attribute, read)) in inputs.into_iter().enumerate() {
            let name = format!("#in{i}");
            self.names.insert(name.clone(), attribute.to_owned());
            let key = format!(":in{i}");
            match read {
                // A false flag may be stored as false or not at all (the reader's default).
                Some(AttributeValue::Bool(false)) => {
                    conditions.push(format!("(attribute_not_exists({name}) OR {name} = {key})"));
                    self.values.insert(key, AttributeValue::Bool(false));
                }
                Some(read) => {
                    conditions.push(format!("{name} = {key}"));
                    self.values.insert(key, read);
                }
                None => conditions.push(format!("attribute_not_exists({name})")),
            }
        }
        Ok(conditions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ContactChange;
    use crate::testing::contact;

    #[test]
    fn only_owned_attributes_are_written_and_the_rest_is_a_condition() {
        let before = contact("acme", "c1", "Aisha Rahman", "+60123456789");
        let mut after = before.clone();
        after.apply(&ContactChange {
            whatsapp_opt_in: Some(false),
            opt_at: Some(chrono::Utc::now()),
            ..Default::default()
        });
        let update = PartialUpdate::new(&before, &after, 7).unwrap();
        assert!(update.expression.starts_with("SET version = :next"));
        assert!(
            update
                .expression
                .contains("whatsapp_opt_in = :whatsapp_opt_in")
        );
        assert!(update.expression.contains("whatsapp_opt_changed_at = "));
        assert!(
            update.expression.ends_with("REMOVE eligible_sort"),
            "{}",
            update.expression
        );
        for untouched in [
            "name",
            "email",
            "phone_number",
            "whatsapp_blocked",
            "last_inbound_at",
        ] {
            assert!(
                !update.expression.contains(&format!("{untouched} =")),
                "{untouched} is not written: {}",
                update.expression
            );
        }
        assert!(update.condition.contains("version = :version"));
        assert_eq!(update.values[":version"], AttributeValue::N("7".into()));
        assert_eq!(update.values[":next"], AttributeValue::N("8".into()));
        // A CRM that blocked the contact (or renamed it) meanwhile fails the condition.
        for attribute in [
            "name",
            "phone_number",
            "whatsapp_blocked",
            "whatsapp_opt_in",
        ] {
            assert!(
                update.names.values().any(|n| n == attribute),
                "{attribute} is checked"
            );
        }
        assert!(
            update
                .condition
                .contains("(attribute_not_exists(#in3) OR #in3 = :in3)")
        );
    }
}
