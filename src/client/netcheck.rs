//! The network check as the account runs it: fresh STUN/TURN services from our server
//! (XEP-0215), the check in a task of its own (it waits on the network for seconds),
//! and its report for people (`lines`) and programs (`json`).

use std::sync::Arc;

use banter_media::netcheck::{self, AddressKind, Level, NetCheckConfig, NetReport, Step};
use serde_json::{json, Value};

use super::*;

impl State {
    /// Asks our server for its services; the check starts with the answer.
    pub(super) fn net_check(&mut self, out: &mut Vec<Stanza>) {
        self.request_ice_servers(IqPurpose::NetCheck, out);
    }

    /// Runs the check with `servers` (none when the server offers no XEP-0215) and
    /// reports it as `Event::NetCheck`.
    pub(super) fn start_net_check(&self, servers: Vec<banter_media::IceServer>) {
        let config = NetCheckConfig {
            servers,
            tls: Some(self.trust.clone()),
        };
        let events = self.events.clone();
        tokio::spawn(async move {
            let report = netcheck::run(&config).await;
            let _ = events.send(Event::NetCheck {
                report: Arc::new(report),
            });
        });
    }
}

/// The `net_check` event; our mapped addresses only with `show_addresses`.
pub fn json(report: &NetReport, show_addresses: bool) -> Value {
    let steps: Vec<Value> = report
        .steps
        .iter()
        .map(|s| {
            let (mapped, kind, relayed, error) = match &s.outcome {
                Ok(r) => (
                    r.mapped.map(|m| {
                        if show_addresses {
                            m.to_string()
                        } else {
                            "redacted".to_string()
                        }
                    }),
                    r.mapped_kind.map(AddressKind::as_str),
                    r.relayed.map(|a| a.to_string()),
                    None,
                ),
                Err(e) => (None, None, None, Some(e.to_string())),
            };
            json!({
                "check": s.check.as_str(), "server": s.server, "ok": s.outcome.is_ok(),
                "ms": s.time.as_millis() as u64, "mapped": mapped, "mapped_kind": kind,
                "relayed": relayed, "error": error,
            })
        })
        .collect();
    let advice: Vec<Value> = report
        .advice
        .iter()
        .map(|a| json!({"level": a.level.as_str(), "text": a.text}))
        .collect();
    json!({
        "event": "net_check", "ms": report.time.as_millis() as u64,
        "mapping": report.mapping.as_str(), "steps": steps, "advice": advice,
    })
}

/// The report for people: one line per step, then what it means.
pub fn lines(report: &NetReport, show_addresses: bool) -> Vec<String> {
    let mut out = vec![format!(
        "Network check ({:.1} s):",
        report.time.as_secs_f64()
    )];
    if report.steps.is_empty() {
        out.push("  (your server lists no STUN or TURN service)".into());
    }
    for s in &report.steps {
        let mark = if s.outcome.is_ok() {
            "ok    "
        } else {
            "FAILED"
        };
        out.push(format!("  {mark} {}", step_text(s, show_addresses)));
    }
    out.push("What this means:".into());
    for a in &report.advice {
        let mark = match a.level {
            Level::Good => "ok",
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Problem => "problem",
        };
        out.push(format!("  {mark}: {}", a.text));
    }
    out
}

/// One step in words: what was checked, then what it found or why it failed.
pub fn step_text(s: &Step, show_addresses: bool) -> String {
    let head = format!("{} ({})", s.check.label(), s.server);
    match &s.outcome {
        Err(e) => format!("{head}: {e}"),
        Ok(r) => {
            let mut what = vec![format!("{} ms", s.time.as_millis())];
            if let (Some(m), Some(kind)) = (r.mapped, r.mapped_kind) {
                let seen = match kind {
                    AddressKind::Own => "sees this machine's own address (no NAT)",
                    AddressKind::Public => "sees you at a public address (behind a NAT)",
                    AddressKind::Private => {
                        "sees you at a private address (behind a second NAT, e.g. your provider's)"
                    }
                };
                what.push(if show_addresses {
                    format!("{seen}: {m}")
                } else {
                    seen.to_string()
                });
            }
            if let Some(a) = r.relayed {
                what.push(format!("relay address {a}"));
            }
            format!("{head}: {}", what.join("; "))
        }
    }
}
