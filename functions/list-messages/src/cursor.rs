//! The polling cursor: a floor and the changes above it the poller has already seen.
//!
//! A change's `revision` is minted before its write commits, and the `changes` index is
//! eventually consistent, so a change can become visible after a change with a higher
//! revision. A cursor that jumped to the highest revision seen would skip it for good.
//! Instead the floor stays a settle window behind the clock (longer than a write can take
//! to commit and reach the index), polls read everything above the floor, and the
//! revisions above the floor that were already returned travel in the cursor so they are
//! not returned twice.
//!
//! Text form: `{floor}` or `{floor}.{seen}.{seen}…`, every part a ULID. A plain message id
//! or revision is a cursor with nothing seen.

use std::time::Duration;

use shared::domain::MessageId;

/// How many seen revisions a cursor carries (about 27 characters each). Past this the floor
/// moves up to the oldest ones kept, which only matters when a conversation changes more
/// than this often within the settle window. A poll cut by its limit may leave up to twice
/// as many (the floor never passes what it read).
pub const MAX_SEEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollCursor {
    /// Every change at or below it has been returned (or was visible before the poller
    /// started).
    pub floor: MessageId,
    /// Revisions above the floor already returned, ascending.
    pub seen: Vec<MessageId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a polling cursor")]
pub struct InvalidCursor;

impl PollCursor {
    pub fn parse(text: &str) -> Result<Self, InvalidCursor> {
        let mut parts = text.split('.');
        let floor = parts
            .next()
            .and_then(|p| MessageId::parse(p).ok())
            .ok_or(InvalidCursor)?;
        let mut seen = parts
            .map(|p| MessageId::parse(p).map_err(|_| InvalidCursor))
            .collect::<Result<Vec<_>, _>>()?;
        // What `advance` makes stays within 2 × MAX_SEEN (see there).
        if seen.len() > 2 * MAX_SEEN {
            return Err(InvalidCursor);
        }
        seen.retain(|r| *r > floor);
        seen.sort();
        seen.dedup();
        Ok(Self { floor, seen })
    }

    /// A cursor for a poller that has seen `revisions` and nothing else changed at or
    /// before the settle horizon.
    pub fn start(revisions: impl IntoIterator<Item = MessageId>, horizon: MessageId) -> Self {
        Self {
            floor: horizon,
            seen: vec![],
        }
        .advance(revisions, None, horizon)
    }

    /// Whether a change (a message at this revision) was already returned to this poller.
    pub fn has_seen(&self, revision: MessageId) -> bool {
        revision <= self.floor || self.seen.binary_search(&revision).is_ok()
    }

    /// The cursor after a poll returned `revisions`. `read_up_to` is the highest revision
    /// the poll read when it stopped at its limit (more may be above); None when it read
    /// everything visible. `horizon` is the settle horizon: every change minted before it
    /// is visible by now.
    pub fn advance(
        &self,
        revisions: impl IntoIterator<Item = MessageId>,
        read_up_to: Option<MessageId>,
        horizon: MessageId,
    ) -> Self {
        let reached = read_up_to.map_or(horizon, |r| r.min(horizon));
        let floor = self.floor.max(reached);
        let mut seen: Vec<MessageId> = self
            .seen
            .iter()
            .copied()
            .chain(revisions)
            .filter(|r| *r > floor)
            .collect();
        seen.sort();
        seen.dedup();
        if seen.len() <= MAX_SEEN {
            return Self { floor, seen };
        }
        // Too many to carry: the floor moves up through the oldest seen ones, but never past
        // what this poll read (above that, unread changes may wait).
        let read = read_up_to.map_or(seen.len(), |r| seen.partition_point(|s| *s <= r));
        let cut = (seen.len() - MAX_SEEN).min(read);
        if cut == 0 {
            return Self { floor, seen };
        }
        Self {
            floor: seen[cut - 1],
            seen: seen.split_off(cut),
        }
    }
}

impl std::fmt::Display for PollCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.floor)?;
        for revision in &self.seen {
            write!(f, ".{revision}")?;
        }
        Ok(())
    }
}

/// The settle horizon at `now_ms`: changes minted before it have committed and reached the
/// index.
pub fn horizon(now_ms: u64, settle: Duration) -> MessageId {
    MessageId::floor_at(now_ms.saturating_sub(settle.as_millis() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, n: u8) -> MessageId {
        // Distinct ids at a given millisecond (the random part carries n).
        MessageId::parse(&format!(
            "{}{:0>16}",
            &MessageId::floor_at(ms).to_string()[..10],
            n
        ))
        .unwrap()
    }

    #[test]
    fn text_round_trips_and_bad_text_is_refused() {
        let cursor = PollCursor {
            floor: at(1_000, 0),
            seen: vec![at(2_000, 1), at(3_000, 2)],
        };
        assert_eq!(PollCursor::parse(&cursor.to_string()), Ok(cursor.clone()));
        let plain = at(5_000, 3).to_string();
        assert_eq!(
            PollCursor::parse(&plain).unwrap(),
            PollCursor {
                floor: at(5_000, 3),
                seen: vec![]
            }
        );
        for bad in [
            "",
            "x",
            "..",
            &format!("{plain}.nope"),
            &format!("{plain}."),
        ] {
            assert_eq!(PollCursor::parse(bad), Err(InvalidCursor), "{bad:?}");
        }
        let too_many = std::iter::repeat_n(plain.as_str(), 2 * MAX_SEEN + 2)
            .collect::<Vec<_>>()
            .join(".");
        assert_eq!(PollCursor::parse(&too_many), Err(InvalidCursor));
    }

    #[test]
    fn the_floor_stays_behind_the_horizon_and_seen_changes_ride_along() {
        let start = PollCursor::start([at(9_000, 1), at(10_500, 2)], at(10_000, 0));
        assert_eq!(start.floor, at(10_000, 0));
        assert_eq!(start.seen, [at(10_500, 2)]);
        assert!(start.has_seen(at(9_000, 1)) && start.has_seen(at(10_500, 2)));
        // A change minted at 10_200 becomes visible late: it is above the floor, unseen.
        assert!(!start.has_seen(at(10_200, 3)));

        let next = start.advance([at(10_200, 3), at(11_000, 4)], None, at(10_600, 0));
        assert_eq!(next.floor, at(10_600, 0));
        assert_eq!(
            next.seen,
            [at(11_000, 4)],
            "seen revisions below the floor drop"
        );
        assert!(next.has_seen(at(10_200, 3)));
    }

    #[test]
    fn a_poll_cut_by_its_limit_keeps_the_floor_at_what_it_read() {
        let cursor = PollCursor::start([], at(1_000, 0));
        let next = cursor.advance(
            [at(1_100, 1), at(1_200, 2)],
            Some(at(1_200, 2)),
            at(5_000, 0),
        );
        assert_eq!(next.floor, at(1_200, 2), "not past what was read");
        let behind = cursor.advance([], None, at(500, 0));
        assert_eq!(behind.floor, at(1_000, 0), "the floor never moves back");
    }

    #[test]
    fn seen_is_bounded() {
        let cursor = PollCursor::start([], at(0, 0));
        let many: Vec<_> = (0..(MAX_SEEN as u64 + 10))
            .map(|i| at(100 + i, 1))
            .collect();
        let next = cursor.advance(many.iter().copied(), None, at(0, 0));
        assert_eq!(next.seen.len(), MAX_SEEN);
        assert_eq!(next.floor, many[9]);
        assert!(many.iter().all(|r| next.has_seen(*r)));
        assert!(PollCursor::parse(&next.to_string()).is_ok());

        // A poll cut by its limit never moves the floor past what it read.
        let read_to = many[4];
        let cut = cursor.advance(many.iter().copied(), Some(read_to), at(100_000, 0));
        assert_eq!(cut.floor, read_to);
        assert!(cut.seen.iter().all(|r| *r > read_to));
        assert!(PollCursor::parse(&cut.to_string()).is_ok());
    }
}
