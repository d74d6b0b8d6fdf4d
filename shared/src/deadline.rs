//! How long the current unit of work may go on retrying: an invocation's deadline, set once
//! where the work starts (the Lambda runtime from the function's timeout, the webhook from
//! Twilio's read timeout) and read wherever a write retries contention (`aws::contention`).
//! Past it, an answer that says "try again" (503, a batch item failure) beats an answer
//! that comes after the caller has given up.

use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Retries that start with no deadline in force (a test, the local runner's in-memory
/// stores) stop this long after they start.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(4);

/// What is kept back from a deadline for answering: retries stop this long before the
/// function's timeout or the caller's read timeout.
pub const MARGIN: Duration = Duration::from_secs(1);

/// Runs `work` with its retries ending by `deadline`, or by the deadline already in force
/// if that one comes first (a handler's own bound inside the function's).
pub async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    let deadline = current().map_or(deadline, |outer| outer.min(deadline));
    DEADLINE.scope(deadline, work).await
}

/// The deadline in force, if any.
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// When retries that start now must stop.
pub fn retries_end() -> Instant {
    current().unwrap_or_else(|| Instant::now() + DEFAULT_BUDGET)
}

/// The retry deadline of a Lambda invocation whose context says it ends at `deadline_ms`
/// (milliseconds since the epoch): `MARGIN` before it, and never before `now`.
pub fn for_invocation(deadline_ms: u64, now: std::time::SystemTime) -> Instant {
    let now_ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Instant::now() + left.saturating_sub(MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_earlier_deadline_wins_and_none_means_the_default_budget() {
        let before = Instant::now();
        let end = retries_end();
        assert!(end >= before + DEFAULT_BUDGET && end <= Instant::now() + DEFAULT_BUDGET);
        assert_eq!(current(), None);

        let outer = Instant::now() + Duration::from_secs(10);
        let inner = Instant::now() + Duration::from_secs(3);
        let seen = within(outer, async {
            let nested = within(inner, async { current() }).await;
            // A later bound inside never extends the one in force.
            let later = within(outer + Duration::from_secs(60), async { current() }).await;
            (current(), nested, later)
        })
        .await;
        assert_eq!(seen, (Some(outer), Some(inner), Some(outer)));
        assert_eq!(current(), None, "the bound ends with its work");
    }

    #[test]
    fn an_invocation_keeps_a_second_back_and_never_ends_in_the_past() {
        let now = std::time::SystemTime::now();
        let now_ms = now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let start = Instant::now();
        let end = for_invocation(now_ms + 10_000, now);
        let left = end.duration_since(start);
        assert!(left <= Duration::from_millis(9_050), "{left:?}");
        assert!(left >= Duration::from_millis(8_900), "{left:?}");
        // Already past, or within the margin: retries end at once.
        assert!(for_invocation(now_ms + 500, now) <= Instant::now());
        assert!(for_invocation(now_ms.saturating_sub(5_000), now) <= Instant::now());
    }
}
