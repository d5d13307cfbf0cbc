//! The network side of the check: STUN Bindings over one UDP socket, and a TURN
//! allocation (then freed) per transport.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::crypto::RTCCryptoProvider;
use rtc::stun::message::TransactionId;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::wire::{self, Auth, Reply};
use super::{mapping, AddressKind, Check, Failure, Mapping, Reached, Service, Step};
use crate::turn_tcp::frame_len;

/// How long one request may go unanswered.
const ANSWER: Duration = Duration::from_secs(3);
/// UDP retransmissions (RFC 8489 §6.2.1, shortened: a check is interactive).
const RESEND: [Duration; 4] = [
    Duration::from_millis(0),
    Duration::from_millis(200),
    Duration::from_millis(600),
    Duration::from_millis(1400),
];
const CONNECT: Duration = Duration::from_secs(3);

pub(super) async fn run(
    services: &[Service],
    tls: Option<Arc<rustls::ClientConfig>>,
) -> (Vec<Step>, Mapping) {
    let local: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .collect();
    let udp: Vec<&Service> = services.iter().filter(|s| s.check == Check::Stun).collect();
    let turns = services.iter().filter(|s| s.check != Check::Stun).map(|s| {
        let tls = tls.clone();
        let local = local.clone();
        async move { turn(s, tls, &local).await }
    });
    let (bindings, turn_steps) = futures::future::join(
        stun(&udp, services, &local),
        futures::future::join_all(turns),
    )
    .await;
    let (mut steps, mapping) = bindings;
    steps.extend(turn_steps);
    (steps, mapping)
}

/// A socket error in words: refused (nothing listens there) or as the system said.
fn io_failure(e: std::io::Error) -> Failure {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => Failure::Refused,
        _ => Failure::Network(e.to_string()),
    }
}

/// Resolves a service's name (IPv4 first, as calls do).
async fn resolve(s: &Service) -> Result<SocketAddr, Failure> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((s.host.as_str(), s.port))
        .await
        .map_err(|e| Failure::Unresolved(e.to_string()))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| Failure::Unresolved("no address".into()))
}

/// STUN Bindings from one socket to every UDP server (STUN entries, and TURN over UDP
/// servers, which answer Bindings too), then to any second address a server names
/// (RFC 5780): a step per STUN entry, and whether the NAT mapped us alike for all.
async fn stun(stun: &[&Service], all: &[Service], local: &[IpAddr]) -> (Vec<Step>, Mapping) {
    let socket = match UdpSocket::bind("0.0.0.0:0").await {
        Ok(s) => s,
        Err(e) => {
            let steps = stun
                .iter()
                .map(|s| step(s, Err(Failure::Network(e.to_string())), Duration::ZERO))
                .collect();
            return (steps, Mapping::Unknown);
        }
    };
    let local_port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut resolved = Vec::new();
    for s in all
        .iter()
        .filter(|s| matches!(s.check, Check::Stun | Check::TurnUdp))
    {
        resolved.push((s, resolve(s).await));
    }
    let mut dests: Vec<SocketAddr> = resolved
        .iter()
        .filter_map(|(_, r)| r.clone().ok())
        .collect();
    dests.sort();
    dests.dedup();
    let mut answers = bindings(&socket, &dests).await;
    let others: Vec<SocketAddr> = answers
        .iter()
        .filter_map(|(_, r)| match r {
            Ok((Reply::Success { other, .. }, _)) => *other,
            _ => None,
        })
        .filter(|o| !dests.contains(o))
        .collect();
    if !others.is_empty() {
        answers.extend(bindings(&socket, &others).await);
    }
    let seen: Vec<SocketAddr> = answers
        .iter()
        .filter_map(|(_, r)| match r {
            Ok((Reply::Success { mapped, .. }, _)) => *mapped,
            _ => None,
        })
        .collect();
    let steps = stun
        .iter()
        .map(|s| {
            let Some((_, addr)) = resolved.iter().find(|(r, _)| std::ptr::eq(*r, *s)) else {
                return step(
                    s,
                    Err(Failure::Network("not resolved".into())),
                    Duration::ZERO,
                );
            };
            let addr = match addr {
                Ok(a) => *a,
                Err(e) => return step(s, Err(e.clone()), Duration::ZERO),
            };
            match answers.iter().find(|(d, _)| *d == addr).map(|(_, r)| r) {
                Some(Ok((Reply::Success { mapped, .. }, t))) => {
                    step(s, Ok(reached(*mapped, None, local)), *t)
                }
                Some(Ok((Reply::Error { code, reason }, t))) => step(
                    s,
                    Err(Failure::Server {
                        code: *code,
                        reason: reason.clone(),
                    }),
                    *t,
                ),
                Some(Ok((Reply::Challenge { .. }, t))) => step(
                    s,
                    Err(Failure::Server {
                        code: 401,
                        reason: "asks for credentials".into(),
                    }),
                    *t,
                ),
                Some(Err(e)) => step(s, Err(e.clone()), ANSWER),
                None => step(s, Err(Failure::NoAnswer(ANSWER.as_secs())), ANSWER),
            }
        })
        .collect();
    (steps, mapping(local_port, local, &seen))
}

type Answer = Result<(Reply, Duration), Failure>;

/// One Binding to each destination at once, resent on the RFC's schedule, from one
/// socket (the mapping is the socket's).
async fn bindings(socket: &UdpSocket, dests: &[SocketAddr]) -> Vec<(SocketAddr, Answer)> {
    let mut pending: Vec<(SocketAddr, TransactionId, Vec<u8>)> = dests
        .iter()
        .filter_map(|d| wire::binding().map(|(tid, bytes)| (*d, tid, bytes)))
        .collect();
    let mut done: Vec<(SocketAddr, Answer)> = Vec::new();
    let start = Instant::now();
    let mut buf = vec![0u8; 1500];
    let mut next = 0;
    while !pending.is_empty() && start.elapsed() < ANSWER {
        if let Some(at) = RESEND.get(next) {
            if start.elapsed() >= *at {
                for (d, _, bytes) in &pending {
                    if let Err(e) = socket.send_to(bytes, d).await {
                        tracing::debug!("net-check: STUN to {d}: {e}");
                    }
                }
                next += 1;
            }
        }
        let wake = RESEND
            .get(next)
            .copied()
            .unwrap_or(ANSWER)
            .min(ANSWER)
            .saturating_sub(start.elapsed())
            .max(Duration::from_millis(1));
        let Ok(Ok((n, from))) = tokio::time::timeout(wake, socket.recv_from(&mut buf)).await else {
            continue;
        };
        let Some(bytes) = buf.get(..n) else { continue };
        let Some(tid) = wire::transaction_of(bytes) else {
            continue;
        };
        if let Some(i) = pending.iter().position(|(d, t, _)| *t == tid && *d == from) {
            let (d, tid, _) = pending.swap_remove(i);
            if let Some(r) = wire::reply(bytes, &tid) {
                done.push((d, Ok((r, start.elapsed()))));
            }
        }
    }
    done.extend(
        pending
            .into_iter()
            .map(|(d, _, _)| (d, Err(Failure::NoAnswer(ANSWER.as_secs())))),
    );
    done
}

fn reached(mapped: Option<SocketAddr>, relayed: Option<SocketAddr>, local: &[IpAddr]) -> Reached {
    Reached {
        mapped,
        mapped_kind: mapped.map(|m| AddressKind::of(m.ip(), local)),
        relayed,
    }
}

fn step(s: &Service, outcome: Result<Reached, Failure>, time: Duration) -> Step {
    Step {
        check: s.check,
        server: s.server(),
        outcome,
        time,
    }
}

/// A TURN allocation over the service's transport, freed again at once.
async fn turn(s: &Service, tls: Option<Arc<rustls::ClientConfig>>, local: &[IpAddr]) -> Step {
    let start = Instant::now();
    let outcome = allocate(s, tls, local).await;
    step(s, outcome, start.elapsed())
}

async fn allocate(
    s: &Service,
    tls: Option<Arc<rustls::ClientConfig>>,
    local: &[IpAddr],
) -> Result<Reached, Failure> {
    let provider = rtc::crypto::default_provider().map_err(|e| Failure::Network(e.to_string()))?;
    let addr = resolve(s).await?;
    let mut link = Link::open(s, addr, tls).await?;
    let mut auth: Option<Auth> = None;
    // Anonymous first (the server names its realm and nonce), then with credentials;
    // one more round if the nonce went stale in between.
    for _ in 0..3 {
        let (tid, req) = wire::allocate(auth.as_ref(), provider.crypto())
            .ok_or_else(|| Failure::Network("cannot build the request".into()))?;
        match link.transact(&tid, &req).await? {
            Reply::Success {
                mapped, relayed, ..
            } => {
                if let Some(a) = &auth {
                    release(&mut link, a, provider.as_ref()).await;
                }
                return Ok(reached(mapped, relayed, local));
            }
            Reply::Challenge { realm, nonce } => {
                let stale = auth.as_ref().is_some_and(|a| a.nonce != nonce);
                if auth.is_some() && !stale {
                    return Err(Failure::Credentials);
                }
                auth = Some(Auth {
                    username: s.username.clone(),
                    realm,
                    nonce,
                    password: s.password.clone(),
                });
            }
            Reply::Error { code, reason } => return Err(Failure::Server { code, reason }),
        }
    }
    Err(Failure::Credentials)
}

/// Frees the allocation (lifetime 0); the answer does not matter to the check.
async fn release(link: &mut Link, auth: &Auth, provider: &dyn RTCCryptoProvider) {
    if let Some((tid, req)) = wire::release(auth, provider.crypto()) {
        let _ = tokio::time::timeout(Duration::from_secs(1), link.transact(&tid, &req)).await;
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// The way to a TURN server.
enum Link {
    /// Connected, so that a closed port comes back as refused at once.
    Udp(UdpSocket),
    Stream(Box<dyn Stream>),
}

impl Link {
    async fn open(
        s: &Service,
        addr: SocketAddr,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Link, Failure> {
        if s.check == Check::TurnUdp {
            let bind = if addr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let socket = UdpSocket::bind(bind).await.map_err(io_failure)?;
            socket.connect(addr).await.map_err(io_failure)?;
            return Ok(Link::Udp(socket));
        }
        let tcp = tokio::time::timeout(CONNECT, TcpStream::connect(addr))
            .await
            .map_err(|_| Failure::NoAnswer(CONNECT.as_secs()))?
            .map_err(io_failure)?;
        if s.check != Check::TurnTls {
            return Ok(Link::Stream(Box::new(tcp)));
        }
        let config = tls.ok_or_else(|| Failure::Tls("no trust configured".into()))?;
        let name = rustls::pki_types::ServerName::try_from(s.host.clone())
            .map_err(|e| Failure::Tls(e.to_string()))?;
        let stream = tokio::time::timeout(
            CONNECT,
            tokio_rustls::TlsConnector::from(config).connect(name, tcp),
        )
        .await
        .map_err(|_| Failure::Tls(format!("no handshake within {} s", CONNECT.as_secs())))?
        .map_err(|e| Failure::Tls(e.to_string()))?;
        Ok(Link::Stream(Box::new(stream)))
    }

    /// Sends a request and waits for its answer.
    async fn transact(&mut self, tid: &TransactionId, req: &[u8]) -> Result<Reply, Failure> {
        let work = async {
            match self {
                Link::Udp(socket) => udp_transact(socket, tid, req).await,
                Link::Stream(stream) => stream_transact(stream.as_mut(), tid, req).await,
            }
        };
        tokio::time::timeout(ANSWER, work)
            .await
            .unwrap_or(Err(Failure::NoAnswer(ANSWER.as_secs())))
    }
}

async fn udp_transact(
    socket: &UdpSocket,
    tid: &TransactionId,
    req: &[u8],
) -> Result<Reply, Failure> {
    let mut buf = vec![0u8; 1500];
    let start = Instant::now();
    for (i, at) in RESEND.iter().enumerate() {
        tokio::time::sleep(at.saturating_sub(start.elapsed())).await;
        socket.send(req).await.map_err(io_failure)?;
        let until = RESEND.get(i + 1).copied().unwrap_or(ANSWER);
        while start.elapsed() < until {
            let left = until.saturating_sub(start.elapsed());
            match tokio::time::timeout(left, socket.recv(&mut buf)).await {
                Ok(Ok(n)) => {
                    if let Some(r) = buf.get(..n).and_then(|b| wire::reply(b, tid)) {
                        return Ok(r);
                    }
                }
                Ok(Err(e)) => return Err(io_failure(e)),
                Err(_) => break,
            }
        }
    }
    Err(Failure::NoAnswer(ANSWER.as_secs()))
}

/// Over TCP or TLS: no resending; messages are cut by their length fields.
async fn stream_transact(
    stream: &mut dyn Stream,
    tid: &TransactionId,
    req: &[u8],
) -> Result<Reply, Failure> {
    let lost = |e: std::io::Error| Failure::Network(format!("connection lost: {e}"));
    stream.write_all(req).await.map_err(lost)?;
    loop {
        let mut head = [0u8; 4];
        stream.read_exact(&mut head).await.map_err(lost)?;
        let (_, padded) =
            frame_len(head).ok_or_else(|| Failure::Network("the server sent no TURN".into()))?;
        let mut msg = vec![0u8; padded];
        msg.get_mut(..4)
            .ok_or_else(|| Failure::Network("short message".into()))?
            .copy_from_slice(&head);
        stream
            .read_exact(msg.get_mut(4..).unwrap_or_default())
            .await
            .map_err(lost)?;
        if let Some(r) = wire::reply(&msg, tid) {
            return Ok(r);
        }
    }
}
