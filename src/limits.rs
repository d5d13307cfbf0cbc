//! What one peer can make us do per second is bounded: a token bucket per bare JID.
//! Kept free of I/O and clocks (time comes in), so it is unit-tested.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use xmpp_parsers::jid::BareJid;

/// Peers tracked at once; under a flood from more distinct JIDs than this, buckets
/// that refilled are forgotten, and newcomers wait for room.
const MAX_PEERS: usize = 4096;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per peer: `burst` at once, then `rate` per second.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: HashMap<BareJid, Bucket>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            rate,
            burst,
            buckets: HashMap::new(),
        }
    }

    /// Whether `who` may do one more thing at `now` (and counts it).
    pub fn allow(&mut self, who: &BareJid, now: Instant) -> bool {
        if !self.buckets.contains_key(who) && self.buckets.len() >= MAX_PEERS {
            let (rate, burst) = (self.rate, self.burst);
            self.buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
            if self.buckets.len() >= MAX_PEERS {
                return false;
            }
        }
        let b = self.buckets.entry(who.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * self.rate;
        b.tokens = (b.tokens + refill).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Items (presences) held back at most this long.
pub const COALESCE_FLUSH: Duration = Duration::from_secs(1);
/// Items held at once, over all peers; beyond it a flooder's newest are dropped.
const MAX_HELD: usize = 4096;

/// Rate-limits a kind of update per peer by keeping only the latest one per key (a
/// full JID) while the peer is over its rate, and releasing the held ones together
/// once a `COALESCE_FLUSH` has passed. Presence is state, not history: the latest per
/// device is all that matters, so a flood costs one update per device per second.
#[derive(Debug)]
pub struct Coalescer<K, T> {
    limiter: RateLimiter,
    held: HashMap<K, T>,
    flush_at: Option<Instant>,
}

impl<K: std::hash::Hash + Eq, T> Coalescer<K, T> {
    pub fn new(rate: f64, burst: f64) -> Coalescer<K, T> {
        Coalescer {
            limiter: RateLimiter::new(rate, burst),
            held: HashMap::new(),
            flush_at: None,
        }
    }

    /// `Some(item)` to handle now, or `None` when it was held (replacing an older
    /// one of the same key, which is then never handled).
    pub fn offer(&mut self, peer: &BareJid, key: K, item: T, now: Instant) -> Option<T> {
        if !self.held.contains_key(&key) && self.limiter.allow(peer, now) {
            return Some(item);
        }
        if self.held.len() >= MAX_HELD && !self.held.contains_key(&key) {
            tracing::info!(%peer, "too many updates held; dropping one");
            return None;
        }
        self.held.insert(key, item);
        self.flush_at.get_or_insert(now + COALESCE_FLUSH);
        None
    }

    /// When the held items are due.
    pub fn next_flush(&self) -> Option<Instant> {
        self.flush_at
    }

    /// The held items, if due at `now` (each the latest of its key).
    pub fn take_due(&mut self, now: Instant) -> Vec<T> {
        match self.flush_at {
            Some(at) if at <= now => {
                self.flush_at = None;
                self.held.drain().map(|(_, v)| v).collect()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let mut l = RateLimiter::new(10.0, 5.0);
        let eve = BareJid::new("eve@x").unwrap();
        let bob = BareJid::new("bob@x").unwrap();
        let t0 = Instant::now();
        let allowed = (0..100).filter(|_| l.allow(&eve, t0)).count();
        assert_eq!(allowed, 5);
        // Another peer is not affected.
        assert!(l.allow(&bob, t0));
        // A second later: ten more.
        let t1 = t0 + Duration::from_secs(1);
        let allowed = (0..100).filter(|_| l.allow(&eve, t1)).count();
        assert_eq!(allowed, 5, "refill is capped at the burst");
        let t2 = t1 + Duration::from_millis(300);
        assert_eq!((0..100).filter(|_| l.allow(&eve, t2)).count(), 3);
    }

    #[test]
    fn the_table_of_peers_is_bounded() {
        let mut l = RateLimiter::new(1.0, 2.0);
        let t0 = Instant::now();
        for i in 0..MAX_PEERS {
            let j = BareJid::new(&format!("p{i}@x")).unwrap();
            assert!(l.allow(&j, t0));
        }
        let late = BareJid::new("late@x").unwrap();
        assert!(!l.allow(&late, t0), "no room while every bucket is in use");
        // Once the others refilled, they are forgotten and the newcomer gets in.
        assert!(l.allow(&late, t0 + Duration::from_secs(5)));
        assert!(l.buckets.len() <= MAX_PEERS);
    }

    /// A flood of updates from one device becomes the latest one per second; other
    /// peers pass untouched, and the held one is released when due.
    #[test]
    fn a_flood_is_coalesced_to_the_latest_per_key() {
        let mut c: Coalescer<&str, u32> = Coalescer::new(10.0, 5.0);
        let eve = BareJid::new("eve@x").unwrap();
        let bob = BareJid::new("bob@x").unwrap();
        let t0 = Instant::now();
        let now: Vec<u32> = (0..1000)
            .filter_map(|i| c.offer(&eve, "eve@x/a", i, t0))
            .collect();
        assert_eq!(now, vec![0, 1, 2, 3, 4], "the burst passes at once");
        assert_eq!(c.offer(&bob, "bob@x/b", 7, t0), Some(7));
        assert_eq!(c.next_flush(), Some(t0 + COALESCE_FLUSH));
        assert!(c.take_due(t0 + Duration::from_millis(999)).is_empty());
        // While one is held, a newer one of the same key replaces it even when the
        // bucket refilled, so the order of updates is kept.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(c.offer(&eve, "eve@x/a", 1000, t1), None);
        assert_eq!(c.take_due(t0 + COALESCE_FLUSH), vec![1000]);
        assert_eq!(c.next_flush(), None);
        assert!(c.take_due(t0 + COALESCE_FLUSH * 2).is_empty());
    }
}
