//! Failure injection for the in-process stores: the next N calls of a named operation fail
//! as DynamoDB or SQS would when throttled or unreachable. Tests (and the local runner's
//! fault runs) use it to fail a write halfway through a handler.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::lock;
use crate::ports::{PortError, PortResult};

#[derive(Clone, Default)]
pub struct StoreFaults {
    /// Per operation: how many calls still succeed, then how many fail.
    pending: Arc<Mutex<HashMap<&'static str, (u32, u32)>>>,
}

impl StoreFaults {
    /// The next `times` calls of `operation` fail.
    pub fn fail_next(&self, operation: &'static str, times: u32) {
        self.fail_after(operation, 0, times);
    }

    /// The next `skip` calls of `operation` succeed, then `times` fail: the Nth write of a
    /// handler fails, not the first.
    pub fn fail_after(&self, operation: &'static str, skip: u32, times: u32) {
        if let Ok(mut pending) = lock(&self.pending) {
            let entry = pending.entry(operation).or_default();
            if entry.1 == 0 {
                entry.0 = skip;
            }
            entry.1 += times;
        }
    }

    /// Called at the start of an operation: fails it if a failure is due.
    pub fn check(&self, operation: &'static str) -> PortResult<()> {
        let mut pending = lock(&self.pending)?;
        match pending.get_mut(operation) {
            Some((skip, _)) if *skip > 0 => {
                *skip -= 1;
                Ok(())
            }
            Some((_, n)) if *n > 0 => {
                *n -= 1;
                Err(PortError::Unavailable(format!(
                    "{operation} failed (injected: ProvisionedThroughputExceededException)"
                )))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nth_call_fails() {
        let faults = StoreFaults::default();
        faults.fail_after("insert", 2, 1);
        let results: Vec<bool> = (0..5).map(|_| faults.check("insert").is_ok()).collect();
        assert_eq!(results, [true, true, false, true, true]);
        assert!(
            faults.check("enqueue").is_ok(),
            "other operations are untouched"
        );
        faults.fail_next("enqueue", 2);
        assert!(faults.check("enqueue").is_err() && faults.check("enqueue").is_err());
        assert!(faults.check("enqueue").is_ok());
    }
}
