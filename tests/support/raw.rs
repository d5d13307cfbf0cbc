//! A deliberately small raw XMPP client for hostile-peer tests: TCP, STARTTLS (the
//! test server's certificate trusted), SCRAM-SHA-1, resource binding, then any bytes
//! the test likes. It writes what it is told, unescaped and unchecked; reading is plain
//! substring search, which is all a test needs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;

use super::{User, DOMAIN};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn header() -> String {
    format!("<?xml version='1.0'?><stream:stream to='{DOMAIN}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
}

/// Anything that reads and writes bytes (plain TCP before STARTTLS, TLS after).
trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

pub struct RawClient {
    io: Box<dyn Io>,
    /// Received and not yet consumed by `read_until`.
    buf: String,
    /// The bound full JID.
    pub jid: String,
}

impl RawClient {
    /// Signs `user` in with `resource` (no presence sent).
    pub fn login(user: &User, resource: &str) -> RawClient {
        let mut c = RawClient::secured(&user.server, &user.ca_file);
        c.scram(user);
        c.send(&header());
        c.read_until("</stream:features>");
        c.send(&format!("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"));
        let bound = c.read_until("</iq>");
        let jid = between(&bound, "<jid>", "</jid>").expect("bound jid");
        c.jid = jid.to_string();
        c
    }

    /// Creates an account by in-band registration (XEP-0077); the server's answer.
    pub fn register(server: &str, ca_file: &Path, node: &str, password: &str) -> String {
        let mut c = RawClient::secured(server, ca_file);
        c.send(&format!("<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>{node}</username><password>{password}</password></query></iq>"));
        let head = c.read_until("id='reg1'");
        let rest = c
            .try_read_until("</iq>", Duration::from_secs(2))
            .unwrap_or_default();
        format!("{head}{rest}")
    }

    /// TCP, STARTTLS with `ca_file` trusted, and the stream's features read.
    fn secured(server: &str, ca_file: &Path) -> RawClient {
        let tcp = TcpStream::connect(server).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut c = RawClient {
            io: Box::new(tcp.try_clone().unwrap()),
            buf: String::new(),
            jid: String::new(),
        };
        c.send(&header());
        c.read_until("</stream:features>");
        c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        c.read_until("<proceed");
        c.buf.clear();
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read_to_string(ca_file).unwrap();
        let b64: String = pem
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----"))
            .collect();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                B64.decode(b64).unwrap(),
            ))
            .unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(DOMAIN.to_string()).unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        c.io = Box::new(rustls::StreamOwned::new(conn, tcp));
        c.send(&header());
        c.read_until("</stream:features>");
        c
    }

    fn scram(&mut self, user: &User) {
        use sasl::client::mechanisms::Scram;
        use sasl::client::Mechanism;
        use sasl::common::scram::Sha1;
        use sasl::common::{ChannelBinding, Credentials};
        let node = user.jid.split('@').next().unwrap();
        let creds = Credentials::default()
            .with_username(node)
            .with_password(user.password.clone())
            .with_channel_binding(ChannelBinding::None);
        let mut scram = Scram::<Sha1>::from_credentials(creds).unwrap();
        let initial = B64.encode(scram.initial());
        self.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>{initial}</auth>"
        ));
        let got = self.read_until("</challenge>");
        let challenge = between(&got, ">", "</challenge>").unwrap();
        let challenge = challenge.rsplit('>').next().unwrap();
        let response = scram.response(&B64.decode(challenge).unwrap()).unwrap();
        self.send(&format!(
            "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>",
            B64.encode(response)
        ));
        self.read_until("</success>");
        self.buf.clear();
    }

    /// Writes `xml` as it is.
    pub fn send(&mut self, xml: &str) {
        self.io.write_all(xml.as_bytes()).expect("write");
        self.io.flush().expect("flush");
    }

    /// Reads until `needle` has arrived; returns everything up to and including it.
    pub fn read_until(&mut self, needle: &str) -> String {
        self.try_read_until(needle, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no {needle} from the server; got {}", self.buf))
    }

    /// Waits (3 s at most) for `full`'s unavailable presence: what a device of the same
    /// account sees when that session closes cleanly (a dropped one lingers).
    pub fn expect_unavailable(&mut self, full: &str) {
        let head = self
            .try_read_until("type='unavailable'", Duration::from_secs(3))
            .unwrap_or_else(|| panic!("no unavailable presence from {full}"));
        let tail = self.read_until(">");
        let presence = format!("{}{tail}", &head[head.rfind("<presence").unwrap_or(0)..]);
        assert!(presence.contains(full), "{presence}");
    }

    pub fn try_read_until(&mut self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(i) = self.buf.find(needle) {
                let rest = self.buf.split_off(i + needle.len());
                return Some(std::mem::replace(&mut self.buf, rest));
            }
            if Instant::now() > deadline {
                return None;
            }
            match self.io.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self
                    .buf
                    .push_str(&String::from_utf8_lossy(chunk.get(..n).unwrap_or_default())),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

pub fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s.get(i..)?.find(end)? + i;
    s.get(i..j)
}
