//! The SASL exchanges, driven here rather than by tokio-xmpp: RFC 6120 SASL, and
//! SASL2 (XEP-0388) with Bind 2 (XEP-0386) and FAST (XEP-0484) where the server offers
//! them. Both run on a stream that reads any element, check that the server proves it
//! knows the password (SCRAM's server signature, which tokio-xmpp's login skips) or
//! the token, and end in the `Connection` tokio-xmpp's `StanzaStream` takes
//! (splice.rs bridges what SASL2 does differently).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use futures::{SinkExt, StreamExt};
use minidom::Element;
use sasl::client::mechanisms::{Plain, Scram};
use sasl::client::Mechanism;
use sasl::common::scram::{Sha1, Sha256};
use sasl::common::{ChannelBinding, Credentials};
use tokio::io::{AsyncRead, AsyncWrite, BufStream};
use tokio_xmpp::parsers::jid::Jid;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::sasl_cb::Type as CbType;
use tokio_xmpp::parsers::stream_features::StreamFeatures;
use tokio_xmpp::stanzastream::Connection;
use tokio_xmpp::xmlstream::{
    initiate_stream, PendingFeaturesRecv, ReadError, XmlStream, XmppStream,
};

use super::splice::Splice;
use super::{io_err, secure_header, ConnectOptions, LoginInfo};
use crate::xmpp::error::ConnectError;
use crate::xmpp::guard::Guarded;
use crate::xmpp::{fast, sasl2, Attr};

const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_STREAM: &str = "http://etherx.jabber.org/streams";
const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// The Bind 2 tag: the server makes the resource from it and our user-agent id
/// (Prosody: `tag~hash(id)`). The id is the device's, shared by every Banter process
/// on its data (the window and a command line's `send`), so the tag has a part of
/// the process's own: otherwise each would take the other's resource.
fn tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        use rand::distr::{Alphanumeric, SampleString};
        format!("Banter.{}", Alphanumeric.sample_string(&mut rand::rng(), 4))
    })
}

type Io<S> = Splice<BufStream<Guarded<S>>>;
type AnyStream<S> = XmlStream<Io<S>, Element>;

/// The channel binding for SCRAM (RFC 5802, XEP-0440).
///
/// A `-PLUS` mechanism is used only when the server names the binding types it takes
/// (XEP-0440) and one of them is one we can produce: `tls-exporter`, under TLS 1.3.
/// ejabberd 23.01 offers the -PLUS mechanisms without XEP-0440 and takes only
/// `tls-unique` (undefined under TLS 1.3), so guessing fails every login there.
/// Otherwise the gs2 flag is `n`: `y` would tell a server that advertised -PLUS that
/// we had been downgraded, and RFC 5802 has it refuse us then.
pub(super) fn choose_binding(
    mechanisms: &[String],
    features: &StreamFeatures,
    binding: ChannelBinding,
) -> ChannelBinding {
    let plus = mechanisms
        .iter()
        .any(|m| m.starts_with("SCRAM-") && m.ends_with("-PLUS"));
    let exporter = features
        .sasl_cb
        .as_ref()
        .is_some_and(|cb| cb.types.contains(&CbType::TlsExporter));
    match binding {
        ChannelBinding::TlsExporter(_) if plus && exporter => binding,
        _ => ChannelBinding::None,
    }
}

/// The strongest mechanism both sides have: SCRAM-SHA-256, SCRAM-SHA-1 (each -PLUS
/// when `creds` carry a binding), then PLAIN (always under TLS here). Never ANONYMOUS.
pub(super) fn pick(offered: &[String], creds: &Credentials) -> Option<Box<dyn Mechanism + Send>> {
    let has = |m: &dyn Mechanism| offered.iter().any(|o| o == m.name());
    if let Ok(m) = Scram::<Sha256>::from_credentials(creds.clone()) {
        if has(&m) {
            return Some(Box::new(m));
        }
    }
    if let Ok(m) = Scram::<Sha1>::from_credentials(creds.clone()) {
        if has(&m) {
            return Some(Box::new(m));
        }
    }
    match Plain::from_credentials(creds.clone()) {
        Ok(m) if has(&m) => Some(Box::new(m)),
        _ => None,
    }
}

/// A mechanism in progress, and whether the server has proved itself yet (SCRAM's
/// server-final message may come as a last challenge instead of in the success).
struct Driver {
    mech: Box<dyn Mechanism + Send>,
    answered: bool,
    verified: bool,
}

fn unverified(mechanism: &str) -> ConnectError {
    ConnectError::ServerUnverified {
        mechanism: mechanism.to_string(),
    }
}

impl Driver {
    fn challenge(&mut self, data: &[u8]) -> Result<Vec<u8>, ConnectError> {
        if self.answered {
            let name = self.mech.name().to_string();
            self.mech.success(data).map_err(|_| unverified(&name))?;
            self.verified = true;
            return Ok(Vec::new());
        }
        self.answered = true;
        self.mech
            .response(data)
            .map_err(|e| ConnectError::Protocol(format!("SASL: {e:?}")))
    }

    fn success(&mut self, data: Option<&[u8]>) -> Result<(), ConnectError> {
        if self.verified {
            return Ok(());
        }
        let name = self.mech.name().to_string();
        self.mech
            .success(data.unwrap_or_default())
            .map_err(|_| unverified(&name))
    }
}

async fn send<S>(stream: &mut AnyStream<S>, server: &str, el: &Element) -> Result<(), ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    stream.send(el).await.map_err(|e| io_err(server, e))
}

/// The next element from the server; a stream error is the server closing the stream.
async fn next<S>(stream: &mut AnyStream<S>, server: &str) -> Result<Element, ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match stream.next().await {
            Some(Ok(el)) if el.is("error", NS_STREAM) => {
                let why = el
                    .children()
                    .map(|c| match c.name() {
                        "text" => c.text(),
                        n => n.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(": ");
                return Err(ConnectError::Stream(why));
            }
            Some(Ok(el)) => return Ok(el),
            Some(Err(ReadError::SoftTimeout)) => {}
            Some(Err(ReadError::HardError(e))) => return Err(io_err(server, e)),
            Some(Err(ReadError::ParseError(e))) => {
                return Err(ConnectError::Protocol(e.to_string()))
            }
            Some(Err(ReadError::StreamFooterReceived)) | None => {
                return Err(io_err(server, "the server closed the connection"))
            }
        }
    }
}

fn b64(e: &Element) -> Result<Vec<u8>, ConnectError> {
    sasl2::b64_text(e).map_err(ConnectError::Protocol)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The stream under TLS, up to the server's features; every byte from the server
/// passes the guard (see xmpp/guard.rs).
async fn open<S>(
    opts: &ConnectOptions,
    server: &str,
    tls: S,
) -> Result<(StreamFeatures, AnyStream<S>), ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let io = Splice::new(BufStream::new(Guarded::new(tls)));
    let pending = initiate_stream(io, ns::JABBER_CLIENT, secure_header(opts), opts.timeouts)
        .await
        .map_err(|e| io_err(server, e))?;
    pending
        .recv_features()
        .await
        .map_err(|e| io_err(server, format!("{e:?}")))
}

/// Signs in on a fresh TLS stream and returns it as tokio-xmpp takes it.
pub(super) async fn authenticate<S>(
    opts: &ConnectOptions,
    server: &str,
    tls: S,
    binding: ChannelBinding,
    with_binding: bool,
) -> Result<Connection, ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (features, stream) = open(opts, server, tls).await?;
    let binding = if with_binding {
        binding
    } else {
        ChannelBinding::None
    };
    match sasl2::offer(&features) {
        Some(offer) if opts.sasl2 => {
            sasl2_login(opts, server, stream, &features, offer, binding).await
        }
        _ => classic_login(opts, server, stream, &features, binding).await,
    }
}

fn credentials(
    opts: &ConnectOptions,
    binding: ChannelBinding,
) -> Result<Credentials, ConnectError> {
    let username = opts
        .jid
        .node()
        .ok_or_else(|| ConnectError::InvalidJid(opts.jid.to_string()))?;
    Ok(Credentials::default()
        .with_username(username.as_str())
        .with_password(opts.password.clone())
        .with_channel_binding(binding))
}

fn record(opts: &ConnectOptions, info: LoginInfo) {
    if !info.fast {
        if let Ok(mut b) = opts.binding.lock() {
            *b = info.binding;
        }
    }
    if let Ok(mut l) = opts.login.lock() {
        *l = info;
    }
}

/// RFC 6120 SASL, then the stream restart.
async fn classic_login<S>(
    opts: &ConnectOptions,
    server: &str,
    mut stream: AnyStream<S>,
    features: &StreamFeatures,
    binding: ChannelBinding,
) -> Result<Connection, ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let offered: Vec<String> = features.sasl_mechanisms.iter().cloned().collect();
    let creds = credentials(opts, choose_binding(&offered, features, binding))?;
    let bound = matches!(creds.channel_binding, ChannelBinding::TlsExporter(_));
    let mut driver = Driver {
        mech: pick(&offered, &creds).ok_or_else(|| ConnectError::NoMechanism {
            offered: offered.join(" "),
        })?,
        answered: false,
        verified: false,
    };
    let mechanism = driver.mech.name().to_string();
    let initial = driver.mech.initial();
    let auth = Element::builder("auth", NS_SASL)
        .a("mechanism", &mechanism)
        .append(if initial.is_empty() {
            "=".to_string()
        } else {
            B64.encode(&initial)
        })
        .build();
    send(&mut stream, server, &auth).await?;
    loop {
        let el = next(&mut stream, server).await?;
        if el.ns() != NS_SASL {
            continue;
        }
        match el.name() {
            "challenge" => {
                let answer = driver.challenge(&b64(&el)?)?;
                let r = Element::builder("response", NS_SASL)
                    .append(B64.encode(answer))
                    .build();
                send(&mut stream, server, &r).await?;
            }
            "success" => {
                let data = b64(&el)?;
                driver.success(Some(&data))?;
                break;
            }
            "failure" => {
                let condition = el
                    .children()
                    .find(|c| c.ns() == NS_SASL && c.name() != "text")
                    .map(|c| c.name().to_string())
                    .unwrap_or_else(|| "failure".into());
                return Err(if bound {
                    ConnectError::BindingRefused
                } else {
                    ConnectError::AuthFailed { condition }
                });
            }
            _ => {}
        }
    }
    let pending = stream
        .initiate_reset()
        .send_header(secure_header(opts))
        .await
        .map_err(|e| io_err(server, e))?;
    let info = LoginInfo {
        mechanism,
        sasl2: false,
        bind2: false,
        fast: false,
        binding: bound.then_some("tls-exporter"),
    };
    hand_over(opts, server, pending, info, opts.jid.clone()).await
}

/// The features of the stream after the login; the login recorded, and the stream
/// made the `Connection` tokio-xmpp takes.
async fn hand_over<S>(
    opts: &ConnectOptions,
    server: &str,
    pending: PendingFeaturesRecv<Io<S>>,
    info: LoginInfo,
    identity: Jid,
) -> Result<Connection, ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (features, stream): (_, XmppStream<Io<S>>) = pending
        .recv_features()
        .await
        .map_err(|e| io_err(server, format!("{e:?}")))?;
    record(opts, info);
    Ok(Connection {
        stream: stream.box_stream(),
        features,
        identity,
    })
}

/// How a SASL2 login proves who we are.
enum Proof {
    Password(Driver),
    /// A FAST token (its secret), used with HT-SHA-256-NONE.
    Token(String),
}

/// SASL2: one exchange, no restart; Bind 2 when `opts.bind2` and no resource was
/// asked for; a FAST token instead of the password when we hold one, and a new one
/// asked for at a password login.
async fn sasl2_login<S>(
    opts: &ConnectOptions,
    server: &str,
    mut stream: AnyStream<S>,
    features: &StreamFeatures,
    offer: sasl2::Offer,
    binding: ChannelBinding,
) -> Result<Connection, ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let domain = opts.jid.domain().as_str();
    let username = opts
        .jid
        .node()
        .ok_or_else(|| ConnectError::InvalidJid(opts.jid.to_string()))?
        .to_string();
    let fast_offered = offer.fast.iter().any(|m| m == fast::HT_SHA_256_NONE);
    let (client_id, token, count) = match &opts.fast {
        Some(f) => {
            let mut f = f
                .lock()
                .map_err(|_| ConnectError::Protocol("FAST state".into()))?;
            let token = f
                .usable(now())
                .filter(|_| fast_offered)
                .map(|t| t.secret.clone());
            let count = if token.is_some() { f.next_count() } else { 0 };
            (f.client_id.clone(), token, count)
        }
        None => (uuid::Uuid::new_v4().to_string(), None, 0),
    };
    let creds = credentials(opts, choose_binding(&offer.mechanisms, features, binding))?;
    let bound_cb = matches!(creds.channel_binding, ChannelBinding::TlsExporter(_));
    let mut proof = match token {
        Some(secret) => Proof::Token(secret),
        None => Proof::Password(Driver {
            mech: pick(&offer.mechanisms, &creds).ok_or_else(|| ConnectError::NoMechanism {
                offered: offer.mechanisms.join(" "),
            })?,
            answered: false,
            verified: false,
        }),
    };
    let (mechanism, initial, fast_el) = match &mut proof {
        Proof::Token(secret) => (
            fast::HT_SHA_256_NONE.to_string(),
            fast::initial_response(&username, secret, b""),
            Some(fast::using(count, false)),
        ),
        Proof::Password(d) => (d.mech.name().to_string(), d.mech.initial(), None),
    };
    let bind = offer.bind2 && opts.bind2 && opts.jid.resource().is_none();
    let request_token =
        (opts.fast.is_some() && fast_offered && matches!(proof, Proof::Password(_)))
            .then_some(fast::HT_SHA_256_NONE);
    let auth = sasl2::Authenticate {
        mechanism: &mechanism,
        initial: &initial,
        client_id: &client_id,
        software: "Banter",
        bind_tag: bind.then(tag),
        request_token,
        fast: fast_el,
    };
    let token_login = matches!(proof, Proof::Token(_));
    let outcome = exchange(opts, server, &mut stream, &auth.element(), &mut proof).await;
    if let Some(f) = &opts.fast {
        if let Ok(mut f) = f.lock() {
            match &outcome {
                Ok(_) if !token_login => f.skip = false,
                Err(e) if token_login => token_failed(&mut f, e),
                _ => {}
            }
        }
        // A new token, one refused, or only the use count: kept.
        if token_login || outcome.is_ok() {
            if let Some(cb) = &opts.on_token {
                (cb.0)();
            }
        }
    }
    let (jid, bound, mut after) = match outcome {
        Ok(v) => v,
        Err(e) if token_login => return Err(ConnectError::FastRefused { why: e.to_string() }),
        Err(ConnectError::AuthFailed { .. }) if bound_cb => {
            return Err(ConnectError::BindingRefused)
        }
        Err(e) => return Err(e),
    };
    if bound && (jid.resource().is_none() || jid.to_bare() != opts.jid.to_bare()) {
        return Err(ConnectError::Protocol(format!(
            "the server bound {jid} for {}",
            opts.jid
        )));
    }
    // tokio-xmpp binds unless it resumes; after Bind 2 its bind request is answered
    // by the splice, so it must see the feature even where the server drops it.
    if bound && !after.has_child("bind", NS_BIND) {
        after.append_child(Element::builder("bind", NS_BIND).build());
    }
    let mut io = stream.into_inner();
    io.restart(domain, &String::from(&after));
    if bound {
        io.answer_bind(&jid.to_string());
    }
    let pending = initiate_stream(io, ns::JABBER_CLIENT, secure_header(opts), opts.timeouts)
        .await
        .map_err(|e| io_err(server, e))?;
    let info = LoginInfo {
        mechanism,
        sasl2: true,
        bind2: bound,
        fast: matches!(proof, Proof::Token(_)),
        binding: bound_cb.then_some("tls-exporter"),
    };
    let identity = if bound { jid } else { opts.jid.clone() };
    hand_over(opts, server, pending, info, identity).await
}

/// A token login that did not work: a token the server says is bad (or could not
/// prove it knows) is forgotten; after anything else this session's next login uses
/// the password, keeping the token.
fn token_failed(f: &mut fast::FastState, e: &ConnectError) {
    match e {
        ConnectError::AuthFailed { condition }
            if condition == "not-authorized" || condition == "credentials-expired" =>
        {
            f.refused()
        }
        ConnectError::ServerUnverified { .. } => f.refused(),
        _ => f.skip = true,
    }
}

/// One SASL2 exchange from `<authenticate>` to the features after `<success>`: the
/// bound JID (or the bare one), whether Bind 2 bound it, and the features. A
/// `<failure>` is `AuthFailed` with its condition.
async fn exchange<S>(
    opts: &ConnectOptions,
    server: &str,
    stream: &mut AnyStream<S>,
    authenticate: &Element,
    proof: &mut Proof,
) -> Result<(Jid, bool, Element), ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    send(stream, server, authenticate).await?;
    let (jid, bound) = loop {
        let el = next(stream, server).await?;
        match sasl2::reply(&el).map_err(ConnectError::Protocol)? {
            None => {}
            Some(sasl2::Reply::Challenge(data)) => {
                let Proof::Password(d) = &mut *proof else {
                    return Err(ConnectError::Protocol("a challenge to a FAST login".into()));
                };
                let answer = d.challenge(&data)?;
                send(stream, server, &sasl2::response(&answer)).await?;
            }
            Some(sasl2::Reply::Success {
                additional_data,
                jid,
                bound,
                token,
            }) => {
                match &mut *proof {
                    Proof::Password(d) => d.success(additional_data.as_deref())?,
                    Proof::Token(secret) => {
                        let data = additional_data.unwrap_or_default();
                        if !fast::server_proof_ok(secret, b"", &data) {
                            return Err(unverified(fast::HT_SHA_256_NONE));
                        }
                    }
                }
                if let (Some(t), Some(f)) = (token, &opts.fast) {
                    if let Ok(mut f) = f.lock() {
                        f.received(t);
                    }
                }
                break (jid, bound);
            }
            Some(sasl2::Reply::Failure { condition, text }) => {
                tracing::debug!(%condition, ?text, "SASL2 failure");
                return Err(ConnectError::AuthFailed { condition });
            }
            Some(sasl2::Reply::Continue(tasks)) => {
                let _ = send(stream, server, &sasl2::abort("not supported")).await;
                return Err(ConnectError::Protocol(format!(
                    "the server asks for more steps at sign-in ({}), which Banter cannot do",
                    tasks.join(", ")
                )));
            }
        }
    };
    // No restart: the features come straight after the success.
    loop {
        let el = next(stream, server).await?;
        if el.is("features", NS_STREAM) {
            return Ok((jid, bound, el));
        }
    }
}

/// Logs out of FAST: the token and the one before it (the server keeps both slots)
/// are each used once more with `invalidate`, so neither works again, then forgotten
/// here. A token the server no longer takes is fine.
pub(super) async fn invalidate_at<S>(
    opts: &ConnectOptions,
    server: &str,
    tls: S,
    secret: &str,
    count: u32,
    client_id: &str,
) -> Result<(), ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let username = opts
        .jid
        .node()
        .ok_or_else(|| ConnectError::InvalidJid(opts.jid.to_string()))?
        .to_string();
    let (features, mut stream) = open(opts, server, tls).await?;
    let offered = sasl2::offer(&features);
    if !offered.is_some_and(|o| o.fast.iter().any(|m| m == fast::HT_SHA_256_NONE)) {
        return Err(ConnectError::Protocol(
            "the server no longer offers FAST, so the sign-in tokens could not be revoked there (they expire by themselves)".into(),
        ));
    }
    let initial = fast::initial_response(&username, secret, b"");
    let auth = sasl2::Authenticate {
        mechanism: fast::HT_SHA_256_NONE,
        initial: &initial,
        client_id,
        software: "Banter",
        bind_tag: None,
        request_token: None,
        fast: Some(fast::using(count, true)),
    };
    send(&mut stream, server, &auth.element()).await?;
    loop {
        let el = next(&mut stream, server).await?;
        match sasl2::reply(&el).map_err(ConnectError::Protocol)? {
            Some(sasl2::Reply::Success { .. }) | Some(sasl2::Reply::Failure { .. }) => break,
            Some(sasl2::Reply::Continue(_)) | Some(sasl2::Reply::Challenge(_)) => {
                let _ = send(&mut stream, server, &sasl2::abort("logging out")).await;
                break;
            }
            None => {}
        }
    }
    let _ = SinkExt::<&Element>::close(&mut stream).await;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn scram_is_preferred_and_plus_only_with_a_binding() {
        let creds = Credentials::default()
            .with_username("alice")
            .with_password("pw".to_string());
        let names = |offered: &[&str], c: &Credentials| {
            let o: Vec<String> = offered.iter().map(|s| s.to_string()).collect();
            pick(&o, c).map(|m| m.name().to_string())
        };
        assert_eq!(
            names(&["PLAIN", "SCRAM-SHA-1"], &creds).as_deref(),
            Some("SCRAM-SHA-1")
        );
        assert_eq!(
            names(&["SCRAM-SHA-1", "SCRAM-SHA-256"], &creds).as_deref(),
            Some("SCRAM-SHA-256")
        );
        assert_eq!(names(&["ANONYMOUS"], &creds), None);
        let bound = creds
            .clone()
            .with_channel_binding(ChannelBinding::TlsExporter(vec![1; 32]));
        assert_eq!(
            names(&["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"], &bound).as_deref(),
            Some("SCRAM-SHA-1-PLUS")
        );
    }

    #[test]
    fn a_wrong_server_signature_is_refused() {
        let creds = Credentials::default()
            .with_username("alice")
            .with_password("pw".to_string())
            .with_channel_binding(ChannelBinding::None);
        let mut d = Driver {
            mech: pick(&["SCRAM-SHA-1".to_string()], &creds).unwrap(),
            answered: false,
            verified: false,
        };
        let _ = d.mech.initial();
        let first = d
            .challenge(b"r=clientnonceservernonce,s=c2FsdA==,i=4096")
            .unwrap();
        assert!(first.starts_with(b"c=biws"));
        let err = d
            .success(Some(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="))
            .unwrap_err();
        assert!(matches!(err, ConnectError::ServerUnverified { .. }));
        // No signature at all is refused too.
        assert!(d.success(Some(b"")).is_err());
    }
}
