//! The in-process stores' change feed: what a DynamoDB stream is to the tables. Every write
//! that changes what the page shows (a message's revision moved, a contact written or
//! removed) is sent to whoever listens; with no listener it goes nowhere. A listener that
//! falls behind loses the oldest changes, as a publish can be lost on AWS: the page's polls
//! make up for it.

use tokio::sync::broadcast;

use crate::live::Change;

/// Changes kept for a slow listener before the oldest are dropped.
const CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct ChangeFeed(broadcast::Sender<Change>);

impl Default for ChangeFeed {
    fn default() -> Self {
        Self(broadcast::channel(CAPACITY).0)
    }
}

impl ChangeFeed {
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.0.subscribe()
    }

    pub(super) fn send(&self, change: Change) {
        // No listener: nothing to tell.
        let _ = self.0.send(change);
    }
}
