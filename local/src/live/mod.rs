//! Live updates, locally: the same Event API protocol the page speaks to AWS AppSync Events,
//! fed by the in-process stores' change feed through the live publisher's own code.
//!
//! - [`Hub`]: the channels — what is published on one reaches every subscriber of it;
//! - [`feed`]: the stores' changes → `live_publisher::LivePublisher` → the hub (what the
//!   tables' streams and the Lambda function do on AWS);
//! - [`socket`]: the WebSocket protocol at `/event/realtime`.

pub mod socket;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use live_publisher::LivePublisher;
use shared::live::Change;
use shared::memory::{ChangeFeed, MemoryMedia};
use shared::ports::{ChannelPublisher, PublishError};
use tokio::sync::broadcast;

/// Events kept for a slow subscriber before it loses the oldest (then its page polls).
const HUB_CAPACITY: usize = 4096;

/// One event on one channel, as the Event API carries it (a JSON string).
#[derive(Debug, Clone)]
pub struct Published {
    pub channel: String,
    pub event: String,
}

/// The channels of the local Event API.
#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Published>,
    /// How often an idle connection hears `ka` (AppSync: about a minute).
    pub keep_alive: Duration,
    /// Closes every open connection (the sandbox's "drop"), as AppSync does at its 2-hour
    /// limit or in a deployment.
    drops: broadcast::Sender<()>,
    /// Connection attempts still to be refused (503), as when the service is unreachable.
    refusals: Arc<AtomicU32>,
    /// Events still to be lost (published, never delivered), as push may lose them.
    losses: Arc<AtomicU32>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(HUB_CAPACITY).0,
            keep_alive: Duration::from_secs(60),
            drops: broadcast::channel(4).0,
            refusals: Arc::new(AtomicU32::new(0)),
            losses: Arc::new(AtomicU32::new(0)),
        }
    }
}

impl Hub {
    pub fn listen(&self) -> broadcast::Receiver<Published> {
        self.sender.subscribe()
    }

    pub fn drops(&self) -> broadcast::Receiver<()> {
        self.drops.subscribe()
    }

    /// Drops every open connection, refuses the next `refuse` attempts and loses the next
    /// `lose` events.
    pub fn fail(&self, drop: bool, refuse: u32, lose: u32) {
        self.refusals.store(refuse, Ordering::SeqCst);
        self.losses.store(lose, Ordering::SeqCst);
        if drop {
            let _ = self.drops.send(());
        }
    }

    /// Whether this connection attempt is refused (one fewer to refuse afterwards).
    pub fn refuse_next(&self) -> bool {
        self.refusals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl ChannelPublisher for Hub {
    async fn publish(&self, channel: &str, events: &[String]) -> Result<(), PublishError> {
        for event in events {
            let lost = self
                .losses
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if lost {
                continue;
            }
            // No subscriber: nobody to tell, as on AWS.
            let _ = self.sender.send(Published {
                channel: channel.to_owned(),
                event: event.clone(),
            });
        }
        Ok(())
    }
}

/// Publishes every change of the stores' feeds on the hub, as the live publisher does on
/// AWS, until the process ends.
pub fn feed(hub: Hub, media: MemoryMedia, feeds: Vec<ChangeFeed>) {
    let publisher = LivePublisher::new(media, hub);
    for feed in feeds {
        let publisher = publisher.clone();
        let mut changes = feed.subscribe();
        tokio::spawn(async move {
            loop {
                let change: Change = match changes.recv().await {
                    Ok(change) => change,
                    Err(broadcast::error::RecvError::Lagged(lost)) => {
                        tracing::warn!(lost, "live feed fell behind: pages catch up by polling");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if let Err(stopped) = publisher.publish(std::slice::from_ref(&change)).await {
                    tracing::warn!(error = %stopped.error, "live publish failed");
                }
            }
        });
    }
}
