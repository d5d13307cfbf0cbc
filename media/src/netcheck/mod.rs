//! The network check (`banter net-check`, Settings → Test my network): asks the
//! account's STUN and TURN services (XEP-0215) what a call would get from this
//! network, and says in plain words what will and will not work.
//!
//! Steps: a STUN Binding to every UDP server (reachability, time, our mapped address),
//! a TURN allocation over each transport the server offers (UDP, TCP, TLS), and
//! whether the NAT maps us to the same public address towards every server (it does
//! not behind a symmetric NAT, and then only the relay connects). Each step stands
//! alone: a blocked transport does not hide the others.

mod advice;
mod probe;
mod wire;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub use advice::{advise, mapping, Advice, Level};

use crate::config::IceServer;

/// What the check is given.
#[derive(Clone, Default)]
pub struct NetCheckConfig {
    /// The services the account's server listed (fresh credentials).
    pub servers: Vec<IceServer>,
    /// The trust for TURN over TLS: the XMPP connection's.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// Which check a step ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// A STUN Binding over UDP.
    Stun,
    /// A TURN allocation reached over UDP.
    TurnUdp,
    /// A TURN allocation reached over TCP.
    TurnTcp,
    /// A TURN allocation reached over TLS.
    TurnTls,
}

impl Check {
    /// The name in JSON and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Stun => "stun",
            Check::TurnUdp => "turn_udp",
            Check::TurnTcp => "turn_tcp",
            Check::TurnTls => "turn_tls",
        }
    }

    /// In words, for people.
    pub fn label(self) -> &'static str {
        match self {
            Check::Stun => "STUN over UDP",
            Check::TurnUdp => "relay (TURN) over UDP",
            Check::TurnTcp => "relay (TURN) over TCP",
            Check::TurnTls => "relay (TURN) over TLS",
        }
    }
}

/// One service to check, from a `stun:`/`turn:`/`turns:` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub check: Check,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
}

impl Service {
    /// `host:port`, as it is shown (a name, not a resolved address).
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The services the check runs, in a stable order, each once.
pub fn services(servers: &[IceServer]) -> Vec<Service> {
    let mut out: Vec<Service> = Vec::new();
    for s in servers {
        for url in &s.urls {
            let Some(svc) = service_of(url, &s.username, &s.credential) else {
                tracing::debug!("net-check: skipping {url}");
                continue;
            };
            if !out
                .iter()
                .any(|o| o.check == svc.check && o.host == svc.host && o.port == svc.port)
            {
                out.push(svc);
            }
        }
    }
    out.sort_by_key(|s| match s.check {
        Check::Stun => 0,
        Check::TurnUdp => 1,
        Check::TurnTcp => 2,
        Check::TurnTls => 3,
    });
    out
}

fn service_of(url: &str, username: &str, password: &str) -> Option<Service> {
    let (scheme, rest) = url.split_once(':')?;
    let (hostport, query) = rest.split_once('?').unwrap_or((rest, ""));
    let transport = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("transport="))
        .unwrap_or("udp");
    let check = match (scheme, transport) {
        ("stun", _) => Check::Stun,
        ("turn", "udp") => Check::TurnUdp,
        ("turn", "tcp") => Check::TurnTcp,
        ("turns", _) => Check::TurnTls,
        _ => return None,
    };
    let default = if check == Check::TurnTls { 5349 } else { 3478 };
    // `host`, `host:port`, `[v6]` or `[v6]:port`.
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, rest) = v6.split_once(']')?;
        match rest.strip_prefix(':') {
            Some(p) => (h, p.parse().ok()?),
            None if rest.is_empty() => (h, default),
            None => return None,
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (hostport, default),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(Service {
        check,
        host: host.to_string(),
        port,
        username: username.to_string(),
        password: password.to_string(),
    })
}

/// What a step found when it worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    /// Our address as the server saw it: private information, shown only when asked.
    pub mapped: Option<SocketAddr>,
    pub mapped_kind: Option<AddressKind>,
    /// The address the relay allocated for us.
    pub relayed: Option<SocketAddr>,
}

/// What kind of address the server saw us at: tells without showing it whether this
/// machine is behind a NAT, and whether that NAT is itself behind another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// One of this machine's own addresses: no NAT in between.
    Own,
    /// A public address (the NAT's).
    Public,
    /// A private or shared address (RFC 1918, RFC 6598): a second NAT beyond ours.
    Private,
}

impl AddressKind {
    /// Classifies `ip` against this machine's addresses.
    pub fn of(ip: IpAddr, local: &[IpAddr]) -> AddressKind {
        if local.contains(&ip) {
            return AddressKind::Own;
        }
        let private = match ip {
            IpAddr::V4(v4) => {
                let [a, b, ..] = v4.octets();
                v4.is_private() || v4.is_loopback() || (a == 100 && (64..128).contains(&b))
            }
            IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        };
        if private {
            AddressKind::Private
        } else {
            AddressKind::Public
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AddressKind::Own => "own",
            AddressKind::Public => "public",
            AddressKind::Private => "private",
        }
    }
}

/// Why a step did not work, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("cannot find the server's address: {0}")]
    Unresolved(String),
    #[error("no answer within {0} s")]
    NoAnswer(u64),
    #[error("connection refused (nothing listens there)")]
    Refused,
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("the relay refused the credentials the XMPP server gave")]
    Credentials,
    #[error("the server answered error {code} ({reason})")]
    Server { code: u16, reason: String },
    #[error("{0}")]
    Network(String),
}

/// One step's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub check: Check,
    /// `host:port` as the server listed it.
    pub server: String,
    pub outcome: Result<Reached, Failure>,
    /// Until the answer (or the failure).
    pub time: Duration,
}

/// Whether the NAT keeps our public address across destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// The servers saw this machine's own address and port: no NAT.
    Direct,
    /// Every server (`servers` of them, at least two) saw the same address.
    Same { servers: usize },
    /// The address differed between servers: a symmetric NAT.
    Varies { servers: usize },
    /// Only one server answered: nothing to compare.
    OneServer,
    /// No server answered over UDP.
    Unknown,
}

impl Mapping {
    pub fn as_str(self) -> &'static str {
        match self {
            Mapping::Direct => "direct",
            Mapping::Same { .. } => "consistent",
            Mapping::Varies { .. } => "varies",
            Mapping::OneServer => "one_server",
            Mapping::Unknown => "unknown",
        }
    }
}

/// The whole check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetReport {
    pub steps: Vec<Step>,
    pub mapping: Mapping,
    pub advice: Vec<Advice>,
    pub time: Duration,
}

/// Runs every step (at once: the check takes as long as its slowest step, a few
/// seconds when something does not answer) and the advice.
pub async fn run(config: &NetCheckConfig) -> NetReport {
    let started = std::time::Instant::now();
    let services = services(&config.servers);
    let (steps, mapping) = probe::run(&services, config.tls.clone()).await;
    let advice = advise(&steps, mapping);
    NetReport {
        steps,
        mapping,
        advice,
        time: started.elapsed(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
