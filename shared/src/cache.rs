//! A bounded cache whose entries expire: what a warm Lambda keeps per organization (its
//! Twilio configuration, its templates). Bounded because the keys come from requests — a
//! flood of made-up organization ids must not grow a process without limit; the least
//! recently used entry leaves first.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;

struct Entry<V> {
    stored_at: Instant,
    ttl: Duration,
    value: V,
}

#[derive(Clone)]
pub struct TtlCache<K: Hash + Eq, V> {
    entries: Arc<Mutex<LruCache<K, Entry<V>>>>,
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// At most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Arc::new(Mutex::new(LruCache::new(capacity))),
        }
    }

    /// The value while it is fresh; an expired one is dropped.
    pub fn get(&self, key: &K) -> Option<V> {
        let mut entries = self.entries.lock().ok()?;
        let fresh = entries.get(key).map(|e| e.stored_at.elapsed() < e.ttl)?;
        if fresh {
            entries.get(key).map(|e| e.value.clone())
        } else {
            entries.pop(key);
            None
        }
    }

    /// Keeps `value` for `ttl`, evicting the least recently used entry when full.
    pub fn insert(&self, key: K, value: V, ttl: Duration) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(
                key,
                Entry {
                    stored_at: Instant::now(),
                    ttl,
                    value,
                },
            );
        }
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_its_capacity_dropping_the_least_recently_used() {
        let cache = TtlCache::new(3);
        for i in 0..3 {
            cache.insert(i, i * 10, Duration::from_secs(60));
        }
        assert_eq!(cache.get(&0), Some(0), "0 is now the most recently used");
        for i in 100..1100 {
            cache.insert(i, i, Duration::from_secs(60));
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.get(&0), None);
        assert_eq!(cache.get(&1099), Some(1099));
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn an_entry_is_served_only_within_its_own_ttl() {
        let cache = TtlCache::new(10);
        cache.insert("long", 1, Duration::from_secs(60));
        cache.insert("gone", 2, Duration::ZERO);
        assert_eq!(cache.get(&"long"), Some(1));
        assert_eq!(cache.get(&"gone"), None);
        assert_eq!(cache.len(), 1, "the expired entry was dropped");
        cache.insert("long", 3, Duration::from_secs(60));
        assert_eq!(cache.get(&"long"), Some(3), "replaced");
    }
}
