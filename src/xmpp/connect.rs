//! Establishing an authenticated XMPP stream: DNS SRV (RFC 6120 and XEP-0368 direct
//! TLS), mandatory STARTTLS, verified TLS, SASL. Resource binding and stream management
//! are left to tokio-xmpp's `StanzaStream`, which receives the stream made here.
//!
//! tokio-xmpp's own connectors only log failures and retry forever; this module returns
//! typed errors so the user learns about a wrong password or an untrusted certificate.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;
use rustls::pki_types::ServerName;
use sasl::common::ChannelBinding;
use tokio::io::{AsyncRead, AsyncWrite, BufStream};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_xmpp::parsers::jid::Jid;
use tokio_xmpp::parsers::{ns, starttls};
use tokio_xmpp::stanzastream::Connection;
use tokio_xmpp::xmlstream::{
    initiate_stream, ReadError, StreamHeader, Timeouts, XmppStream, XmppStreamElement,
};

use super::error::ConnectError;
use super::fast::FastState;
use super::guard::Guarded;
use super::tls::TlsSetup;

/// Where to connect. `direct_tls` targets come from `_xmpps-client._tcp` (XEP-0368).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub direct_tls: bool,
    /// The user said which (`tls:`/`starttls:`); otherwise a `--server` port that
    /// does not speak STARTTLS is tried with direct TLS.
    pub explicit: bool,
}

/// Everything needed to (re)establish the account's stream.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub jid: Jid,
    pub password: String,
    /// `--server [tls:]HOST:PORT`: skip DNS SRV and connect there.
    pub server: Option<Target>,
    pub tls: TlsSetup,
    /// Upper bound for one whole attempt (TCP, TLS, SASL).
    pub timeout: Duration,
    pub timeouts: Timeouts,
    /// The channel binding the last successful login used (`None`: none), for the
    /// downgrade check (see `client`).
    pub binding: Arc<Mutex<Option<&'static str>>>,
    /// The connection in use, to cut it when the address it runs from goes away.
    pub socket: XmppSocket,
    /// Sign in with SASL2 (XEP-0388) where the server offers it.
    pub sasl2: bool,
    /// Let SASL2 bind the resource (Bind 2, XEP-0386): only for a stream that will
    /// not resume, since tokio-xmpp resumes only an unbound stream.
    pub bind2: bool,
    /// FAST (XEP-0484): the device's id and tokens; `None`: never ask for a token.
    pub fast: Option<Arc<Mutex<FastState>>>,
    /// Called when `fast` changed (a new token, one refused), to keep it.
    pub on_token: Option<TokenSaved>,
    /// How the last successful login went.
    pub login: Arc<Mutex<LoginInfo>>,
}

impl ConnectOptions {
    /// Options for `jid` with its password and trust; SASL2 and Bind 2 on, no FAST,
    /// 15 s per attempt.
    pub fn new(jid: Jid, password: String, tls: TlsSetup) -> ConnectOptions {
        ConnectOptions {
            jid,
            password,
            server: None,
            tls,
            timeout: Duration::from_secs(15),
            timeouts: Timeouts {
                read_timeout: Duration::from_secs(60),
                response_timeout: Duration::from_secs(20),
            },
            binding: Default::default(),
            socket: Default::default(),
            sasl2: true,
            bind2: true,
            fast: None,
            on_token: None,
            login: Default::default(),
        }
    }
}

/// How a login went, for the `connected` event and the downgrade check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginInfo {
    /// The SASL mechanism (`SCRAM-SHA-1`, `HT-SHA-256-NONE`, …).
    pub mechanism: String,
    pub sasl2: bool,
    /// The resource was bound by Bind 2.
    pub bind2: bool,
    /// A FAST token stood in for the password.
    pub fast: bool,
    /// The channel binding used (`None`: none).
    pub binding: Option<&'static str>,
}

/// A callback run when the FAST state changed.
#[derive(Clone)]
pub struct TokenSaved(pub Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for TokenSaved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSaved")
    }
}

/// The TCP connection of the last successful login (a second handle to the same
/// socket): when this machine loses the address it was made from (a move from Wi-Fi to
/// Ethernet), nothing will come over it again, yet TCP would take minutes to notice.
/// Cutting it makes the stream reconnect (and resume, XEP-0198) at once, from the
/// address the machine has now.
#[derive(Clone, Debug, Default)]
pub struct XmppSocket(Arc<Mutex<Option<std::net::TcpStream>>>);

impl XmppSocket {
    /// A second handle to `tcp`'s socket.
    fn handle(tcp: &TcpStream) -> Option<std::net::TcpStream> {
        use std::os::fd::AsFd;
        let fd = tcp.as_fd().try_clone_to_owned().ok()?;
        Some(std::net::TcpStream::from(fd))
    }

    fn replace(&self, tcp: Option<std::net::TcpStream>) {
        if let Ok(mut s) = self.0.lock() {
            *s = tcp;
        }
    }

    /// The address the connection runs from.
    pub fn local_ip(&self) -> Option<std::net::IpAddr> {
        let s = self.0.lock().ok()?;
        s.as_ref()?.local_addr().ok().map(|a| a.ip())
    }

    /// Ends the connection (the stream reconnects).
    pub fn cut(&self) {
        if let Ok(mut s) = self.0.lock() {
            if let Some(tcp) = s.take() {
                let _ = tcp.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

/// Parses `HOST:PORT` (also `[v6]:PORT`), `tls:HOST:PORT` for a direct-TLS port
/// (XEP-0368, e.g. 5223 or 443) and `starttls:HOST:PORT`. Without a prefix, STARTTLS
/// is tried first and direct TLS after it (see [`targets`]).
pub fn parse_server(s: &str) -> Option<Target> {
    let (direct_tls, rest) = match s.split_once(':') {
        Some(("tls", rest)) => (true, rest),
        Some(("starttls", rest)) => (false, rest),
        _ => (false, s),
    };
    let (host, port) = rest.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    Some(Target {
        host: host.to_string(),
        port,
        direct_tls,
        explicit: s.starts_with("tls:") || s.starts_with("starttls:"),
    })
}

impl Target {
    /// `[tls:]HOST:PORT`, as [`parse_server`] reads it.
    pub fn to_server_string(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.explicit, self.direct_tls) {
            (true, true) => format!("tls:{host}:{}", self.port),
            (true, false) => format!("starttls:{host}:{}", self.port),
            _ => format!("{host}:{}", self.port),
        }
    }
}

/// Orders SRV answers by priority (lower first), then weight (higher first).
/// RFC 2782 says weight is a random choice; a stable order is good enough for a client.
pub fn order_srv(mut records: Vec<(u16, u16, Target)>) -> Vec<Target> {
    records.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    records.into_iter().map(|r| r.2).collect()
}

async fn srv_targets(domain: &str) -> Vec<Target> {
    let Ok(resolver) = TokioResolver::builder_tokio().map(|b| b.build()) else {
        return Vec::new();
    };
    let Ok(resolver) = resolver else {
        return Vec::new();
    };
    let mut records = Vec::new();
    for (service, direct_tls) in [("_xmpps-client._tcp", true), ("_xmpp-client._tcp", false)] {
        let name = format!("{service}.{domain}.");
        if let Ok(lookup) = resolver.srv_lookup(name.as_str()).await {
            for record in lookup.answers() {
                if let RData::SRV(srv) = &record.data {
                    let host = srv.target.to_ascii();
                    let host = host.trim_end_matches('.').to_string();
                    // "." as the target means the service is decidedly not available.
                    if host.is_empty() {
                        continue;
                    }
                    records.push((
                        srv.priority,
                        srv.weight,
                        Target {
                            host,
                            port: srv.port,
                            direct_tls,
                            explicit: true,
                        },
                    ));
                }
            }
        }
    }
    order_srv(records)
}

/// The list of places to try, in order.
pub async fn targets(opts: &ConnectOptions) -> Vec<Target> {
    if let Some(t) = &opts.server {
        let mut list = vec![t.clone()];
        if !t.explicit {
            list.push(Target {
                direct_tls: !t.direct_tls,
                ..t.clone()
            });
        }
        return list;
    }
    let domain = opts.jid.domain().as_str().to_string();
    let mut list = srv_targets(&domain).await;
    if list.is_empty() {
        list.push(Target {
            host: domain,
            port: 5222,
            direct_tls: false,
            explicit: true,
        });
    }
    list
}

/// Logs in once: tries every target and returns the first authenticated stream, or the
/// most telling error (a certificate or password problem beats "unreachable").
pub async fn login(opts: &ConnectOptions) -> Result<Connection, ConnectError> {
    each_target(opts, |t| async move { login_at(opts, &t).await }).await
}

/// Runs `attempt` at each target in turn (each within `opts.timeout`) until one
/// succeeds or fails fatally; otherwise the first error.
async fn each_target<T, F, Fut>(opts: &ConnectOptions, attempt: F) -> Result<T, ConnectError>
where
    F: Fn(Target) -> Fut,
    Fut: std::future::Future<Output = Result<T, ConnectError>>,
{
    let targets = targets(opts).await;
    let mut best: Option<ConnectError> = None;
    for target in &targets {
        let server = format!("{}:{}", target.host, target.port);
        let err = match tokio::time::timeout(opts.timeout, attempt(target.clone())).await {
            Ok(Ok(done)) => return Ok(done),
            Ok(Err(e)) => e,
            Err(_) => ConnectError::Timeout {
                server,
                secs: opts.timeout.as_secs(),
            },
        };
        tracing::debug!(target = ?target, error = %err, "connection attempt failed");
        if err.is_fatal() {
            return Err(err);
        }
        best.get_or_insert(err);
    }
    Err(best.unwrap_or_else(|| ConnectError::Unreachable {
        server: opts.jid.domain().to_string(),
        why: "no server address found".into(),
    }))
}

async fn tcp_connect(target: &Target) -> Result<TcpStream, ConnectError> {
    let server = format!("{}:{}", target.host, target.port);
    let unreachable = |why: String| ConnectError::Unreachable {
        server: server.clone(),
        why,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| unreachable(format!("cannot resolve host: {e}")))?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(unreachable(
        last.map(|e| e.to_string())
            .unwrap_or_else(|| "no address".into()),
    ))
}

async fn tls_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    opts: &ConnectOptions,
    stream: S,
) -> Result<(tokio_rustls::client::TlsStream<S>, ChannelBinding), ConnectError> {
    let domain = opts.jid.domain().as_str().to_string();
    let name = ServerName::try_from(domain.clone())
        .map_err(|_| ConnectError::InvalidJid(opts.jid.to_string()))?;
    if let Ok(mut slot) = opts.tls.last_refusal.lock() {
        *slot = None;
    }
    let tls = TlsConnector::from(opts.tls.config.clone())
        .connect(name, stream)
        .await
        .map_err(|e| {
            let refusal = opts.tls.last_refusal.lock().ok().and_then(|s| s.clone());
            match refusal {
                Some(r) => ConnectError::UntrustedCertificate {
                    reason: r.reason,
                    fingerprint: r.fingerprint,
                },
                None => ConnectError::Tls(e.to_string()),
            }
        })?;
    let (_, conn) = tls.get_ref();
    let binding = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => conn
            .export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None)
            .map(ChannelBinding::TlsExporter)
            .unwrap_or(ChannelBinding::None),
        _ => ChannelBinding::None,
    };
    Ok((tls, binding))
}

fn header(domain: &str) -> StreamHeader<'_> {
    StreamHeader {
        to: Some(Cow::Borrowed(domain)),
        from: None,
        id: None,
    }
}

/// The header under TLS: with our bare JID as `from` (RFC 6120 §4.7.1), which
/// servers use to offer FAST for the account (XEP-0484).
fn secure_header(opts: &ConnectOptions) -> StreamHeader<'_> {
    StreamHeader {
        to: Some(Cow::Borrowed(opts.jid.domain().as_str())),
        from: Some(Cow::Owned(opts.jid.to_bare().to_string())),
        id: None,
    }
}

fn io_err(server: &str, e: impl std::fmt::Display) -> ConnectError {
    ConnectError::Unreachable {
        server: server.to_string(),
        why: e.to_string(),
    }
}

/// Logs in at one target (direct TLS or STARTTLS as the target says).
pub async fn login_at(opts: &ConnectOptions, target: &Target) -> Result<Connection, ConnectError> {
    let mut with_binding = true;
    let mut last = None;
    // At most: a binding refused, then a token refused, then the password.
    for _ in 0..3 {
        match login_once(opts, target, with_binding).await {
            // The server advertised tls-exporter binding and then refused it: a
            // server bug (seen with SCRAM-PLUS before XEP-0440). Sign in without
            // binding rather than calling the password wrong; a wrong password
            // fails this way too.
            Err(ConnectError::BindingRefused) if with_binding => {
                tracing::warn!(
                    "the server refused the channel binding it advertised; signing in without"
                );
                with_binding = false;
                last = Some(ConnectError::BindingRefused);
            }
            // The saved FAST token did not work (expired, revoked, a server that
            // could not prove it): the password, on a new connection.
            Err(ConnectError::FastRefused { why }) => {
                tracing::info!(%why, "the FAST token was not taken; signing in with the password");
                last = Some(ConnectError::FastRefused { why });
            }
            other => return other,
        }
    }
    Err(last.unwrap_or(ConnectError::BindingRefused))
}

/// Forgets the FAST tokens `opts` holds (and says so to the token store); returns
/// options holding them alone, for [`invalidate_fast`].
pub fn forget_fast(opts: &ConnectOptions) -> ConnectOptions {
    let mut old = opts.clone();
    old.on_token = None;
    if let Some(fast) = &opts.fast {
        let snapshot = fast.lock().map(|f| f.clone()).unwrap_or_default();
        if let Ok(mut f) = fast.lock() {
            f.refused();
        }
        if let Some(cb) = &opts.on_token {
            (cb.0)();
        }
        old.fast = Some(Arc::new(Mutex::new(snapshot)));
    }
    old
}

/// Logs out of FAST at the first target that answers: the newest token and the one
/// before it are each invalidated (the server keeps both), then forgotten.
pub async fn invalidate_fast(opts: &ConnectOptions) -> Result<(), ConnectError> {
    let Some(fast) = &opts.fast else {
        return Ok(());
    };
    let (tokens, client_id) = match fast.lock() {
        Ok(f) => ([f.token.clone(), f.previous.clone()], f.client_id.clone()),
        Err(_) => return Ok(()),
    };
    let tokens_done: Vec<_> = tokens.iter().flatten().cloned().collect();
    for token in tokens.into_iter().flatten() {
        let count = fast.lock().map(|mut f| f.next_count()).unwrap_or(1);
        let (secret, client_id) = (&token.secret, &client_id);
        each_target(opts, |t| async move {
            let server = format!("{}:{}", t.host, t.port);
            let (tls, _) = secure(opts, &t).await?;
            auth::invalidate_at(opts, &server, tls, secret, count, client_id).await
        })
        .await?;
    }
    if let Ok(mut f) = fast.lock() {
        // Only these: a reconnect may have brought a newer one meanwhile.
        for t in tokens_done.iter() {
            f.forget(t);
        }
    }
    if let Some(cb) = &opts.on_token {
        (cb.0)();
    }
    Ok(())
}

async fn login_once(
    opts: &ConnectOptions,
    target: &Target,
    with_binding: bool,
) -> Result<Connection, ConnectError> {
    let server = format!("{}:{}", target.host, target.port);
    let (tls, binding) = secure(opts, target).await?;
    let tcp = XmppSocket::handle(tls.get_ref().0.tcp());
    let quick = tls.get_ref().0.armed();
    let conn = auth::authenticate(opts, &server, tls, binding, with_binding).await;
    quick.store(false, std::sync::atomic::Ordering::Relaxed);
    let conn = conn?;
    // Only a connection that got this far replaces the one in use.
    opts.socket.replace(tcp);
    Ok(conn)
}

/// TCP, then TLS directly or after STARTTLS, as the target says.
async fn secure(
    opts: &ConnectOptions,
    target: &Target,
) -> Result<(tokio_rustls::client::TlsStream<QuickAck>, ChannelBinding), ConnectError> {
    let tcp = QuickAck::new(tcp_connect(target).await?);
    let tcp = if target.direct_tls {
        tcp
    } else {
        let server = format!("{}:{}", target.host, target.port);
        starttls_negotiate(opts, &server, tcp).await?
    };
    tls_handshake(opts, tcp).await
}

/// Creates the account `opts.jid` with `opts.password` by in-band registration
/// (XEP-0077), over the same verified TLS as a login; tries the targets in order.
pub async fn register(opts: &ConnectOptions) -> Result<(), ConnectError> {
    each_target(opts, |t| async move { register_at(opts, &t).await }).await
}

async fn register_at(opts: &ConnectOptions, target: &Target) -> Result<(), ConnectError> {
    use super::register;
    use tokio_xmpp::parsers::iq::Iq;
    use tokio_xmpp::Stanza;
    let server = format!("{}:{}", target.host, target.port);
    let (tls, _) = secure(opts, target).await?;
    let username = opts
        .jid
        .node()
        .ok_or_else(|| ConnectError::InvalidJid(opts.jid.to_string()))?;
    let domain = opts.jid.domain().as_str();
    let io = BufStream::new(Guarded::new(tls));
    let pending = initiate_stream(io, ns::JABBER_CLIENT, header(domain), opts.timeouts)
        .await
        .map_err(|e| io_err(&server, e))?;
    let (_, mut stream): (_, XmppStream<_>) = pending
        .recv_features()
        .await
        .map_err(|e| io_err(&server, format!("{e:?}")))?;
    // One request, one answer, twice: the form, then the submission.
    let mut ask = async |iq: Iq| -> Result<Iq, ConnectError> {
        let id = match &iq {
            Iq::Get { id, .. } | Iq::Set { id, .. } => id.clone(),
            _ => String::new(),
        };
        stream
            .send(&XmppStreamElement::Stanza(Stanza::Iq(iq)))
            .await
            .map_err(|e| io_err(&server, e))?;
        loop {
            match stream
                .next()
                .await
                .map(|v| v.and_then(|v| v.into_read_error()))
            {
                Some(Ok(XmppStreamElement::Stanza(Stanza::Iq(
                    answer @ (Iq::Result { .. } | Iq::Error { .. }),
                )))) => {
                    let same = match &answer {
                        Iq::Result { id: a, .. } | Iq::Error { id: a, .. } => *a == id,
                        _ => false,
                    };
                    if same {
                        return Ok(answer);
                    }
                }
                Some(Ok(_)) | Some(Err(ReadError::SoftTimeout)) => {}
                Some(Err(ReadError::HardError(e))) => return Err(io_err(&server, e)),
                Some(Err(ReadError::ParseError(e))) => {
                    return Err(ConnectError::Protocol(e.to_string()))
                }
                Some(Err(ReadError::StreamFooterReceived)) | None => {
                    return Err(io_err(&server, "the server closed the connection"))
                }
            }
        }
    };
    let form = match ask(register::form_request("reg-form")).await? {
        Iq::Result {
            payload: Some(q), ..
        } => register::parse_form(&q),
        Iq::Error { error, .. } => {
            return Err(ConnectError::Registration(register::refusal(&error)))
        }
        _ => register::Form::default(),
    };
    if let Some(needs) = form.needs_more() {
        let hint = form
            .instructions
            .map(|i| format!(" (the server says: {i})"))
            .unwrap_or_default();
        return Err(ConnectError::Registration(format!(
            "the server asks for {needs}, which Banter cannot fill in here yet: register on the server's own page{hint}"
        )));
    }
    match ask(register::submit(
        "reg-submit",
        username.as_str(),
        &opts.password,
    ))
    .await?
    {
        Iq::Result { .. } => Ok(()),
        Iq::Error { error, .. } => Err(ConnectError::Registration(register::refusal(&error))),
        _ => Err(ConnectError::Protocol(
            "unexpected answer to registration".into(),
        )),
    }
}

/// Plain-text stream up to `<proceed/>`. A server without STARTTLS is refused.
async fn starttls_negotiate(
    opts: &ConnectOptions,
    server: &str,
    tcp: QuickAck,
) -> Result<QuickAck, ConnectError> {
    let domain = opts.jid.domain().as_str();
    let pending = initiate_stream(
        BufStream::new(tcp),
        ns::JABBER_CLIENT,
        header(domain),
        opts.timeouts,
    )
    .await
    .map_err(|e| io_err(server, format!("not an XMPP server? {e}")))?;
    let (features, mut stream): (_, XmppStream<BufStream<QuickAck>>) = pending
        .recv_features()
        .await
        .map_err(|e| io_err(server, format!("{e:?}")))?;
    if !features.can_starttls() {
        return Err(ConnectError::NoStartTls {
            server: server.to_string(),
        });
    }
    stream
        .send(&XmppStreamElement::Starttls(starttls::Nonza::Request(
            starttls::Request,
        )))
        .await
        .map_err(|e| io_err(server, e))?;
    loop {
        match stream
            .next()
            .await
            .map(|v| v.and_then(|v| v.into_read_error()))
        {
            Some(Ok(XmppStreamElement::Starttls(starttls::Nonza::Proceed(_)))) => break,
            Some(Ok(XmppStreamElement::Starttls(_))) => {
                return Err(ConnectError::NoStartTls {
                    server: server.to_string(),
                })
            }
            Some(Ok(_)) | Some(Err(ReadError::SoftTimeout)) => {}
            Some(Err(ReadError::HardError(e))) => return Err(io_err(server, e)),
            Some(Err(ReadError::ParseError(e))) => {
                return Err(ConnectError::Protocol(e.to_string()))
            }
            Some(Err(ReadError::StreamFooterReceived)) | None => {
                return Err(io_err(server, "connection closed during STARTTLS"))
            }
        }
    }
    Ok(stream.into_inner().into_inner())
}

mod auth;
mod quickack;
mod splice;

use quickack::QuickAck;

#[cfg(test)]
mod tests;
