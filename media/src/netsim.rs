//! A network simulator for tests and benchmarks: a UDP relay that drops and delays
//! RTP packets (STUN, DTLS and RTCP pass untouched, so sessions still connect), or
//! drops every kind of packet (call setup on a lossy path).

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

/// How packets are lost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    /// Each packet independently, with this probability.
    Random(f64),
    /// Gilbert-Elliott: a good state that loses nothing and a bad one that loses every
    /// packet; `average` of the packets lost, in bursts of `mean_burst` on average
    /// (Wi-Fi and mobile links lose this way).
    Bursty { average: f64, mean_burst: f64 },
}

impl Loss {
    /// `0.05` is random loss; `ge0.05` bursty loss of 5 % in bursts of 3 on average.
    pub fn parse(s: &str) -> Option<Loss> {
        match s.strip_prefix("ge") {
            Some(avg) => Some(Loss::Bursty {
                average: avg.parse().ok()?,
                mean_burst: 3.0,
            }),
            None => Some(Loss::Random(s.parse().ok()?)),
        }
    }
}

/// Loss decisions, one packet at a time.
struct Dropper {
    loss: Loss,
    bad: bool,
}

impl Dropper {
    /// Whether the packet goes, given a uniform draw `r` in [0, 1).
    fn drops(&mut self, r: f64) -> bool {
        match self.loss {
            Loss::Random(p) => r < p,
            Loss::Bursty {
                average,
                mean_burst,
            } => {
                // Leave the bad state with 1/mean_burst; enter it so that the share
                // of time in it is `average`.
                let leave = 1.0 / mean_burst.max(1.0);
                let enter = average * leave / (1.0 - average).max(1e-9);
                self.bad = if self.bad { r >= leave } else { r < enter };
                self.bad
            }
        }
    }
}

impl LossyRelay {
    /// Starts relaying on two 127.0.0.1 sockets: `loss` is the fraction of RTP packets
    /// dropped at random, `jitter_ms` the largest random extra delay (which also
    /// reorders).
    pub async fn start(loss: f64, jitter_ms: u64) -> LossyRelay {
        Self::start_with(Loss::Random(loss), jitter_ms).await
    }

    /// As `start`, with the loss model given.
    pub async fn start_with(loss: Loss, jitter_ms: u64) -> LossyRelay {
        Self::start_inner(loss, jitter_ms, false, 0x1234_5678).await
    }

    /// A relay that loses every kind of packet at random (STUN, DTLS and RTCP too, as
    /// a bad network does), from a loss pattern of its own (`seed`): for call setup
    /// on a lossy path.
    pub async fn start_losing_everything(loss: f64, seed: u64) -> LossyRelay {
        Self::start_inner(Loss::Random(loss), 0, true, seed).await
    }

    async fn start_inner(loss: Loss, jitter_ms: u64, everything: bool, seed: u64) -> LossyRelay {
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
                let mut rng = seed;
                let mut dropper = Dropper { loss, bad: false };
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
                    if (is_rtp || everything) && dropper.drops(r) {
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

/// One direction of a call between two local sessions through a relay that loses
/// and delays packets: A plays `speech` (a WAV file, looped) into the call for
/// `seconds` once both are connected, B records what it plays out to `out`. Returns
/// B's last receive figures and A's bitrate in them. (The speech-quality benchmark and
/// its CI regression test; the recording is scored with WB-PESQ by
/// scripts/pesq_score.py.)
pub async fn one_way_speech(
    speech: &std::path::Path,
    out: &std::path::Path,
    loss: Loss,
    jitter_ms: u64,
    seconds: f64,
    red: bool,
) -> crate::CallStats {
    use crate::audio::sink::SinkSpec;
    use crate::audio::source::SourceSpec;
    use crate::{Cidr, MediaConfig, MediaEvent, MediaSession};
    let mut a_cfg = MediaConfig::new(SourceSpec::Wav(speech.into()), SinkSpec::Null);
    let mut b_cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Wav(out.into()));
    for cfg in [&mut a_cfg, &mut b_cfg] {
        cfg.allow = vec![Cidr::parse("127.0.0.0/8").expect("cidr")];
        // Two Banters: A offers RED, B answers with it.
        cfg.red = red;
    }
    let relay = LossyRelay::start_with(loss, jitter_ms).await;
    let (atx, mut arx) = tokio::sync::mpsc::unbounded_channel();
    let (btx, mut brx) = tokio::sync::mpsc::unbounded_channel();
    let a = MediaSession::new(a_cfg, atx).await.expect("session A");
    let b = MediaSession::new(b_cfg, btx).await.expect("session B");
    let offer = a.create_offer().await.expect("offer");
    let answer = b.accept_offer(&offer).await.expect("answer");
    a.accept_answer(&answer).await.expect("accept");
    let mut connected = 0;
    let mut until = None;
    let mut last_b = None;
    loop {
        if until.is_some_and(|t| tokio::time::Instant::now() >= t) {
            break;
        }
        tokio::select! {
            Some(ev) = arx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => b.add_remote_candidate(relay.rewrite(c, true)).await,
                MediaEvent::Connected { .. } => connected += 1,
                MediaEvent::Failed(e) => panic!("{e}"),
                _ => {}
            },
            Some(ev) = brx.recv() => match ev {
                MediaEvent::LocalCandidate(c) => a.add_remote_candidate(relay.rewrite(c, false)).await,
                MediaEvent::Connected { .. } => connected += 1,
                MediaEvent::Stats(s) => last_b = Some(s),
                MediaEvent::Failed(e) => panic!("{e}"),
                _ => {}
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        if connected == 2 && until.is_none() {
            until = Some(tokio::time::Instant::now() + Duration::from_secs_f64(seconds));
        }
    }
    a.close().await;
    b.close().await;
    last_b.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bursty model loses its average share, in bursts of its mean length.
    #[test]
    fn gilbert_elliott_loses_the_average_in_bursts() {
        let mut d = Dropper {
            loss: Loss::parse("ge0.05").unwrap(),
            bad: false,
        };
        let mut rng = 1u64;
        let (mut lost, mut bursts, mut prev) = (0u32, 0u32, false);
        let n = 200_000;
        for _ in 0..n {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let gone = d.drops((rng >> 11) as f64 / (1u64 << 53) as f64);
            lost += gone as u32;
            bursts += (gone && !prev) as u32;
            prev = gone;
        }
        let share = lost as f64 / n as f64;
        let burst = lost as f64 / bursts as f64;
        assert!((0.045..0.055).contains(&share), "{share}");
        assert!((2.7..3.3).contains(&burst), "{burst}");
        assert_eq!(Loss::parse("0.15"), Some(Loss::Random(0.15)));
    }
}
