//! The call report (issue #19): what a person pastes into a bug report when a call
//! went wrong. Built from the account's events of one call, so the command line
//! (`--report FILE`) and the window ("Copy call report") say the same. No IP address
//! is in it: candidates and the selected pair by type only; the peer by its domain.

use std::fmt::Write as _;

use super::events::{CallStatus, Event};
use super::CallInfo;

/// Seconds of quality figures kept (one a second): about ten minutes; older ones are
/// summarised by the averages.
const MAX_SAMPLES: usize = 600;
/// Signaling lines kept (a call's normal life is about twenty).
const MAX_LINES: usize = 400;

/// One second of a call's figures.
#[derive(Debug, Clone)]
struct Sample {
    at_ms: u64,
    rtt_ms: Option<f32>,
    jitter_ms: f32,
    loss_pct: f32,
    send_kbps: f32,
    recv_kbps: f32,
    bitrate: i32,
    concealed: u64,
    recovered: u64,
}

#[derive(Debug, Clone)]
pub struct CallReport {
    id: String,
    started_ms: u64,
    peer_domain: String,
    /// The peer's client as its caps name it.
    peer_client: Option<String>,
    direction: String,
    media: Vec<String>,
    /// (ms since start, what happened).
    timeline: Vec<(u64, String)>,
    signals: Vec<(u64, bool, String)>,
    samples: Vec<Sample>,
    dropped_samples: usize,
    pairs: Vec<String>,
    restarts: u32,
    end: Option<String>,
}

/// Now, in ms since the epoch: the clock reports count from.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The call an event may begin a report for: its first state, or its first signal
/// (our proposal comes before our first state).
pub fn call_of(ev: &Event) -> Option<&str> {
    match ev {
        Event::Call { id, .. } | Event::CallSignal { id, .. } => Some(id),
        _ => None,
    }
}

impl CallReport {
    /// A report for call `id`, its times counted from `now_ms` (ms since the epoch).
    pub fn new(id: &str, now_ms: u64) -> CallReport {
        CallReport {
            id: id.to_string(),
            started_ms: now_ms,
            peer_domain: String::new(),
            peer_client: None,
            direction: String::new(),
            media: Vec::new(),
            timeline: Vec::new(),
            signals: Vec::new(),
            samples: Vec::new(),
            dropped_samples: 0,
            pairs: Vec::new(),
            restarts: 0,
            end: None,
        }
    }

    /// Takes in an event of the account at `now_ms`; others' calls are ignored.
    pub fn on(&mut self, ev: &Event, now_ms: u64) {
        let at = now_ms.saturating_sub(self.started_ms);
        match ev {
            Event::Call {
                id,
                peer,
                direction,
                media,
                state,
                reason,
            } if *id == self.id => {
                self.peer_domain = peer.rsplit('@').next().unwrap_or_default().to_string();
                self.direction = match direction {
                    crate::jingle::session::CallDirection::Out => "outgoing",
                    crate::jingle::session::CallDirection::In => "incoming",
                }
                .to_string();
                self.media = media
                    .iter()
                    .map(|m| format!("{m:?}").to_lowercase())
                    .collect();
                let what = match reason {
                    Some(r) => format!("{} ({})", state.as_str(), r.as_str()),
                    None => state.as_str().to_string(),
                };
                if self.timeline.last().map(|(_, w)| w) != Some(&what) {
                    self.timeline.push((at, what.clone()));
                }
                if *state == CallStatus::Ended {
                    self.end = Some(what);
                }
            }
            Event::CallSignal { id, outgoing, line }
                if *id == self.id && self.signals.len() < MAX_LINES =>
            {
                self.signals.push((at, *outgoing, line.clone()));
            }
            Event::CallInfo { id, info } if *id == self.id => {
                if *info == CallInfo::Reconnecting {
                    self.restarts += 1;
                }
                self.timeline.push((at, format!("{info}")));
            }
            Event::CallPeer { id, client } if *id == self.id => {
                self.peer_client = Some(client.chars().filter(|c| !c.is_control()).collect());
            }
            Event::CallAudio { id } if *id == self.id => {
                self.timeline.push((at, "first audio from the peer".into()));
            }
            Event::CallStats { id, stats } if *id == self.id => {
                if let Some(kind) = stats.candidate_pair {
                    let kind = kind.as_str().to_string();
                    if self.pairs.last() != Some(&kind) {
                        self.timeline.push((at, format!("selected pair: {kind}")));
                        self.pairs.push(kind);
                    }
                }
                if self.samples.len() >= MAX_SAMPLES {
                    self.samples.remove(0);
                    self.dropped_samples += 1;
                }
                self.samples.push(Sample {
                    at_ms: at,
                    rtt_ms: stats.rtt_ms,
                    jitter_ms: stats.jitter_ms,
                    loss_pct: stats.loss_pct,
                    send_kbps: stats.send_kbps,
                    recv_kbps: stats.recv_kbps,
                    bitrate: stats.bitrate,
                    concealed: stats.concealed,
                    recovered: stats.fec_recovered + stats.red_recovered,
                });
            }
            _ => {}
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The call has ended.
    pub fn is_done(&self) -> bool {
        self.end.is_some()
    }

    /// The report as text (Markdown-friendly, fixed-width tables).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let secs = |ms: u64| format!("{:>7.2}", ms as f64 / 1000.0);
        let _ = writeln!(s, "Banter call report ({})", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(
            s,
            "call {}: {} {} call with a contact at {}",
            self.id,
            self.direction,
            self.media.join("+"),
            self.peer_domain
        );
        if let Some(client) = &self.peer_client {
            let _ = writeln!(s, "the peer's client: {client}");
        }
        let _ = writeln!(
            s,
            "ended: {}; selected pairs: {}; connection lost and restarted: {} time(s)",
            self.end.as_deref().unwrap_or("not yet"),
            if self.pairs.is_empty() {
                "none".to_string()
            } else {
                self.pairs.join(" → ")
            },
            self.restarts
        );
        let _ = writeln!(s, "\ntimeline (s since the call began):");
        for (at, what) in &self.timeline {
            let _ = writeln!(s, "{}  {what}", secs(*at));
        }
        let _ = writeln!(s, "\nsignaling (s, direction, message):");
        for (at, out, line) in &self.signals {
            let dir = if *out { "sent" } else { "recv" };
            let _ = writeln!(s, "{}  {dir}  {line}", secs(*at));
        }
        let _ = writeln!(
            s,
            "\nquality once a second (s, rtt ms, jitter ms, loss %, send/recv kb/s, \
             Opus kb/s, concealed, recovered):"
        );
        if self.dropped_samples > 0 {
            let _ = writeln!(s, "(the first {} seconds left out)", self.dropped_samples);
        }
        for q in &self.samples {
            let rtt = q.rtt_ms.map_or("?".to_string(), |r| format!("{r:.0}"));
            let _ = writeln!(
                s,
                "{}  {rtt:>5} {:>6.1} {:>6.1} {:>6.0}/{:<6.0} {:>5.0} {:>6} {:>6}",
                secs(q.at_ms),
                q.jitter_ms,
                q.loss_pct,
                q.send_kbps,
                q.recv_kbps,
                q.bitrate as f64 / 1000.0,
                q.concealed,
                q.recovered
            );
        }
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::client::events::Media;
    use crate::jingle::session::{CallDirection, EndReason};
    use crate::jingle::Reason;
    use banter_media::{CallStats, CandidateKind};

    fn call(state: CallStatus, reason: Option<EndReason>) -> Event {
        Event::Call {
            id: "c1".into(),
            peer: "bob@example.org".into(),
            direction: CallDirection::Out,
            media: vec![Media::Audio],
            state,
            reason,
        }
    }

    /// A call's life in the report: states, signaling both ways, the pair, a lost and
    /// found path, figures; nothing of another call, no address, no user name.
    #[test]
    fn a_report_tells_the_calls_story_without_addresses() {
        let mut r = CallReport::new("c1", 1_000);
        r.on(&call(CallStatus::Proposing, None), 1_000);
        r.on(
            &Event::CallSignal {
                id: "c1".into(),
                outgoing: true,
                line: "JMI propose".into(),
            },
            1_001,
        );
        r.on(
            &Event::CallSignal {
                id: "other".into(),
                outgoing: true,
                line: "JMI propose (other call)".into(),
            },
            1_002,
        );
        r.on(
            &Event::CallSignal {
                id: "c1".into(),
                outgoing: false,
                line: "transport-info (candidates: host)".into(),
            },
            1_050,
        );
        r.on(&call(CallStatus::Active, None), 1_090);
        r.on(
            &Event::CallPeer {
                id: "c1".into(),
                client: "http://conversations.im\nforged line".into(),
            },
            1_090,
        );
        r.on(
            &Event::CallSignal {
                id: "c1".into(),
                outgoing: false,
                line: "session-accept (contents: 0 [opus/48000 red/48000])".into(),
            },
            1_091,
        );
        let stats = CallStats {
            rtt_ms: Some(12.0),
            loss_pct: 1.5,
            candidate_pair: Some(CandidateKind::Host),
            bitrate: 32_000,
            ..Default::default()
        };
        r.on(
            &Event::CallStats {
                id: "c1".into(),
                stats: stats.clone(),
            },
            2_090,
        );
        r.on(
            &Event::CallInfo {
                id: "c1".into(),
                info: CallInfo::Reconnecting,
            },
            8_000,
        );
        r.on(
            &Event::CallInfo {
                id: "c1".into(),
                info: CallInfo::Reconnected,
            },
            12_000,
        );
        assert!(!r.is_done());
        r.on(
            &call(CallStatus::Ended, Some(EndReason::Jingle(Reason::Success))),
            20_000,
        );
        assert!(r.is_done());
        let text = r.render();
        for want in [
            "outgoing audio call with a contact at example.org",
            "ended: ended (success)",
            "selected pairs: host",
            "restarted: 1 time(s)",
            "   0.00  sent  JMI propose",
            "   0.05  recv  transport-info (candidates: host)",
            "   7.00  reconnecting",
            "  11.00  reconnected",
            "   0.09  active",
            "the peer's client: http://conversations.imforged line\n",
            "session-accept (contents: 0 [opus/48000 red/48000])",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{text}");
        }
        assert!(!text.contains("other call"), "{text}");
        assert!(!text.contains("bob@"), "{text}");
        assert!(!text.contains("127.0.0.1"), "{text}");
    }
}
