//! What one peer can make us do per second is bounded: a token bucket per bare JID.
//! Kept free of I/O and clocks (time comes in), so it is unit-tested.

use std::collections::HashMap;
use std::time::Instant;

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::time::Duration;

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
}
