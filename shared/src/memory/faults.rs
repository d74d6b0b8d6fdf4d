//! Failure injection for the in-process stores: the next N calls of a named operation fail
//! as DynamoDB or SQS would when throttled or unreachable. Tests (and the local runner's
//! fault runs) use it to fail a write halfway through a handler.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::lock;
use crate::ports::{PortError, PortResult};

#[derive(Clone, Default)]
pub struct StoreFaults {
    pending: Arc<Mutex<HashMap<&'static str, u32>>>,
}

impl StoreFaults {
    /// The next `times` calls of `operation` fail.
    pub fn fail_next(&self, operation: &'static str, times: u32) {
        if let Ok(mut pending) = lock(&self.pending) {
            *pending.entry(operation).or_default() += times;
        }
    }

    /// Called at the start of an operation: fails it if a failure is due.
    pub fn check(&self, operation: &'static str) -> PortResult<()> {
        let mut pending = lock(&self.pending)?;
        match pending.get_mut(operation) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(PortError::Unavailable(format!(
                    "{operation} failed (injected: ProvisionedThroughputExceededException)"
                )))
            }
            _ => Ok(()),
        }
    }
}
