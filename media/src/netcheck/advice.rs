//! What the steps mean for calls, in plain words. Pure, so that each situation a user
//! can be in (no relay, UDP blocked, symmetric NAT, wrong TURN secret) is unit-tested.

use std::net::{IpAddr, SocketAddr};

use super::{Check, Failure, Mapping, Step};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Works.
    Good,
    /// Worth knowing; not a problem by itself.
    Note,
    /// Some calls will be worse or fail.
    Warning,
    /// Calls will fail.
    Problem,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Good => "good",
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Problem => "problem",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub level: Level,
    pub text: String,
}

fn says(level: Level, text: impl Into<String>) -> Advice {
    Advice {
        level,
        text: text.into(),
    }
}

/// Whether the NAT keeps our address: `seen` holds what each distinct server saw from
/// one local socket bound to `local_port`; `local` are this machine's addresses.
pub fn mapping(local_port: u16, local: &[IpAddr], seen: &[SocketAddr]) -> Mapping {
    let Some(first) = seen.first() else {
        return Mapping::Unknown;
    };
    if seen.iter().any(|s| s != first) {
        return Mapping::Varies {
            servers: seen.len(),
        };
    }
    if first.port() == local_port && local.contains(&first.ip()) {
        Mapping::Direct
    } else if seen.len() >= 2 {
        Mapping::Same {
            servers: seen.len(),
        }
    } else {
        Mapping::OneServer
    }
}

/// The findings, worst first.
pub fn advise(steps: &[Step], mapping: Mapping) -> Vec<Advice> {
    let mut out = Vec::new();
    if steps.is_empty() {
        out.push(says(
            Level::Problem,
            "Your server offers no STUN or TURN service (XEP-0215): calls will connect only \
             when both sides can reach each other directly, and never through strict NATs or \
             firewalls. Ask its admin to set up a TURN server such as coturn.",
        ));
        return out;
    }
    let has = |c: Check| steps.iter().any(|s| s.check == c);
    let ok = |c: Check| steps.iter().any(|s| s.check == c && s.outcome.is_ok());
    let udp_offered = has(Check::Stun) || has(Check::TurnUdp);
    let udp_ok = ok(Check::Stun) || ok(Check::TurnUdp);
    let stream_ok = ok(Check::TurnTcp) || ok(Check::TurnTls);
    let relay_offered = has(Check::TurnUdp) || has(Check::TurnTcp) || has(Check::TurnTls);
    let relay_ok = ok(Check::TurnUdp) || stream_ok;
    let refused_credentials = steps.iter().any(|s| s.outcome == Err(Failure::Credentials));

    if !steps.iter().any(|s| s.outcome.is_ok()) {
        out.push(says(
            Level::Problem,
            format!(
                "None of your server's STUN and TURN services answered ({} tried): they are \
                 down, or this network blocks them. Calls will connect only with people on \
                 your own network.",
                steps.len()
            ),
        ));
    } else if udp_offered && !udp_ok {
        out.push(if stream_ok {
            says(
                Level::Warning,
                "UDP seems blocked on this network (no STUN or TURN answer over UDP), but the \
                 relay works over TCP/TLS: calls will go through the relay, with a little more \
                 delay.",
            )
        } else {
            says(
                Level::Problem,
                "UDP seems blocked on this network (no STUN or TURN answer over UDP), and the \
                 relay cannot be reached over TCP or TLS either: calls will not connect from \
                 here.",
            )
        });
    }
    if refused_credentials {
        out.push(says(
            Level::Problem,
            "The relay refused the credentials your XMPP server handed out: the two do not \
             share the same secret. Tell your server's admin.",
        ));
    }
    if !relay_offered {
        out.push(says(
            Level::Warning,
            "Your server offers no relay (TURN): calls to people behind strict NATs or \
             firewalls will fail.",
        ));
    } else if relay_ok {
        let over: Vec<&str> = [
            (Check::TurnUdp, "UDP"),
            (Check::TurnTcp, "TCP"),
            (Check::TurnTls, "TLS"),
        ]
        .into_iter()
        .filter(|(c, _)| ok(*c))
        .map(|(_, name)| name)
        .collect();
        out.push(says(
            Level::Good,
            format!(
                "The relay works (over {}): calls connect even when no direct path exists.",
                over.join(", ")
            ),
        ));
    } else if steps.iter().any(|s| s.outcome.is_ok()) {
        out.push(says(
            Level::Problem,
            "The relay (TURN) did not work over any transport: calls to people behind strict \
             NATs or firewalls will fail.",
        ));
    }
    match mapping {
        Mapping::Direct => out.push(says(
            Level::Good,
            "This machine is reached at its own address (no NAT): direct calls work whenever \
             the other side can send to you.",
        )),
        Mapping::Same { servers } => out.push(says(
            Level::Good,
            format!(
                "Your NAT shows the same public address to all {servers} servers: direct calls \
                 should work with most networks."
            ),
        )),
        Mapping::Varies { servers } => out.push(if relay_ok {
            says(
                Level::Warning,
                format!(
                    "Your NAT shows a different public address to each of {servers} servers \
                     (a symmetric NAT): calls to people who are also behind a NAT will go \
                     through the relay."
                ),
            )
        } else {
            says(
                Level::Problem,
                format!(
                    "Your NAT shows a different public address to each of {servers} servers \
                     (a symmetric NAT), and no relay works: calls to people who are also \
                     behind a NAT will not connect."
                ),
            )
        }),
        Mapping::OneServer => out.push(says(
            Level::Note,
            "Only one server answered over UDP, so whether your NAT keeps the same public \
             address for every destination could not be checked.",
        )),
        Mapping::Unknown => {}
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.level as u8));
    out
}
