//! A network simulator for tests and benchmarks: a UDP relay that drops and delays
//! RTP packets (STUN, DTLS and RTCP pass untouched, so sessions still connect).

// A test harness (an impaired network for the tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Duration;

use crate::description::Candidate;

/// A UDP relay between sessions A and B that loses and delays RTP packets on purpose. B sees A
/// at `to_a` (packets arriving there go on to A), A sees B at `to_b`.
pub struct LossyRelay {
    pub to_a: std::net::SocketAddr,
    pub to_b: std::net::SocketAddr,
    a_real: Arc<std::sync::Mutex<Option<std::net::SocketAddr>>>,
    b_real: Arc<std::sync::Mutex<Option<std::net::SocketAddr>>>,
    /// RTP packets dropped so far.
    pub dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl LossyRelay {
    /// Starts relaying on two 127.0.0.1 sockets: `loss` is the fraction of RTP packets
    /// dropped, `jitter_ms` the largest random extra delay (which also reorders).
    pub async fn start(loss: f64, jitter_ms: u64) -> LossyRelay {
        let sa = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let sb = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let relay = LossyRelay {
            to_a: sa.local_addr().unwrap(),
            to_b: sb.local_addr().unwrap(),
            a_real: Default::default(),
            b_real: Default::default(),
            dropped: Default::default(),
        };
        // Packets from B arrive at `sa` and leave from `sb` towards A, and back.
        for (rx, tx, dest) in [
            (sa.clone(), sb.clone(), relay.a_real.clone()),
            (sb.clone(), sa.clone(), relay.b_real.clone()),
        ] {
            let dropped = relay.dropped.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                let mut rng = 0x1234_5678u64;
                loop {
                    let Ok((n, _)) = rx.recv_from(&mut buf).await else {
                        return;
                    };
                    let Some(to) = *dest.lock().unwrap() else {
                        continue;
                    };
                    rng = rng
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let r = (rng >> 11) as f64 / (1u64 << 53) as f64;
                    let is_rtp = n > 12
                        && (128..=191).contains(&buf[0])
                        && !(72..=76).contains(&(buf[1] & 0x7f));
                    if is_rtp && r < loss {
                        dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        continue;
                    }
                    let data = buf[..n].to_vec();
                    let tx = tx.clone();
                    if jitter_ms > 0 && is_rtp {
                        let delay = (rng >> 20) % (jitter_ms + 1);
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(delay)).await;
                            let _ = tx.send_to(&data, to).await;
                        });
                    } else {
                        let _ = tx.send_to(&data, to).await;
                    }
                }
            });
        }
        relay
    }

    /// Records the real address and returns the candidate the other side should use.
    pub fn rewrite(&self, mut c: Candidate, from_a: bool) -> Candidate {
        let real = std::net::SocketAddr::new(c.ip, c.port);
        let (slot, via) = if from_a {
            (&self.a_real, self.to_a)
        } else {
            (&self.b_real, self.to_b)
        };
        *slot.lock().unwrap() = Some(real);
        c.ip = via.ip();
        c.port = via.port();
        c
    }
}
