//! TURN over TCP (RFC 8656 §3.1: client to server over TCP, relay still UDP).
//!
//! webrtc-rs 0.21 only speaks to TURN servers over UDP and skips `transport=tcp`
//! URLs, yet TCP is what gets through networks that block UDP — the reason a server
//! advertises it. A [`TcpTurnBridge`] is a local UDP endpoint that webrtc-rs uses as its
//! TURN server: every datagram it receives is one TURN message (STUN or ChannelData),
//! written unchanged to a TCP connection to the real server; the stream coming back is
//! cut into messages again by their length fields and returned as datagrams. TURN's
//! authentication (MESSAGE-INTEGRITY) does not cover the transport, so the server sees
//! an ordinary TCP allocation. One TCP connection per local socket, as a TCP-capable
//! client would open.
//!
//! TURN over TLS (`turns:`, RFC 7065; for networks that let only TLS out, usually on
//! port 443 or 5349) is the same bridge with TLS on the TCP connection, the server's
//! certificate verified against its name with the XMPP connection's trust.

// Reads the network: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::MediaError;

/// Largest message on the TCP stream: a STUN header and the largest length field
/// (65 535); a ChannelData message is at most 4 + 65 535, padded to 65 540.
pub(crate) const MAX_FRAME: usize = 20 + 65_535;
/// Datagrams waiting for one TCP connection; more are dropped, as UDP would.
const QUEUE: usize = 64;
/// Local sockets bridged at once (webrtc-rs opens one per local address).
const MAX_CONNS: usize = 16;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one message on the TCP stream is, from its first four bytes, or `None`
/// when the stream is not TURN. STUN messages (first two bits 00) have a 20-byte header
/// and are 4-byte aligned; ChannelData (01) has a 4-byte header and is padded to a
/// multiple of four over TCP (RFC 8656 §12.5). Never more than [`MAX_FRAME`].
pub(crate) fn frame_len(head: [u8; 4]) -> Option<(usize, usize)> {
    let [first, _, hi, lo] = head;
    let len = u16::from_be_bytes([hi, lo]) as usize;
    match first >> 6 {
        0b00 => Some((20 + len, 20 + len)),
        0b01 => {
            let unpadded = 4 + len;
            Some((unpadded, unpadded.div_ceil(4) * 4))
        }
        _ => None,
    }
}

/// TLS to the TURN server: the trust to verify it with and the name it must prove.
#[derive(Clone)]
pub struct TurnTls {
    pub config: Arc<rustls::ClientConfig>,
    pub name: ServerName<'static>,
    /// Told, in words, when the server's certificate is refused (once per server).
    pub refused: Option<mpsc::UnboundedSender<crate::MediaEvent>>,
}

/// A running bridge; stops when dropped.
pub struct TcpTurnBridge {
    /// Where webrtc-rs should send its TURN traffic (`turn:ADDR?transport=udp`).
    pub local: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for TcpTurnBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TcpTurnBridge {
    /// Starts a bridge to the TURN server at `server` (reached over TCP, with TLS
    /// when `tls` is given).
    pub async fn start(
        server: SocketAddr,
        tls: Option<TurnTls>,
    ) -> Result<TcpTurnBridge, MediaError> {
        let udp = Arc::new(
            UdpSocket::bind(("127.0.0.1", 0))
                .await
                .map_err(|e| MediaError::Transport(format!("TURN/TCP bridge: {e}")))?,
        );
        let local = udp
            .local_addr()
            .map_err(|e| MediaError::Transport(e.to_string()))?;
        let task = tokio::spawn(run(udp, server, tls));
        Ok(TcpTurnBridge { local, task })
    }
}

/// Hands each local socket's datagrams to its own connection task; holds no lock and
/// never waits for the network, so one slow connection does not stall the others.
async fn run(udp: Arc<UdpSocket>, server: SocketAddr, tls: Option<TurnTls>) {
    let mut conns: HashMap<SocketAddr, (mpsc::Sender<Vec<u8>>, JoinHandle<()>)> = HashMap::new();
    let (gone_tx, mut gone_rx) = mpsc::channel::<(SocketAddr, Gone)>(MAX_CONNS);
    // A server whose certificate was refused is not tried again (each retransmitted
    // allocation request would otherwise be a new handshake and a new warning).
    let mut refused = false;
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            got = udp.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { break };
                if refused {
                    continue;
                }
                let msg = buf.get(..n).unwrap_or_default().to_vec();
                if !conns.contains_key(&from) {
                    if conns.len() >= MAX_CONNS {
                        tracing::warn!("TURN/TCP bridge: too many local sockets; {from} ignored");
                        continue;
                    }
                    let (tx, rx) = mpsc::channel(QUEUE);
                    let task = tokio::spawn(connection(server, tls.clone(), rx, udp.clone(), from, gone_tx.clone()));
                    conns.insert(from, (tx, task));
                }
                if let Some((tx, _)) = conns.get(&from) {
                    // A full queue drops the datagram: TURN retransmits, media is loss-tolerant.
                    let _ = tx.try_send(msg);
                }
            }
            Some((from, why)) = gone_rx.recv() => {
                conns.remove(&from);
                refused |= why == Gone::Refused;
            }
        }
    }
    for (_, (_, task)) in conns.drain() {
        task.abort();
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gone {
    Closed,
    /// The server's certificate was refused.
    Refused,
}

/// One local socket's TCP connection to the server: datagrams out, messages back.
async fn connection(
    server: SocketAddr,
    tls: Option<TurnTls>,
    rx: mpsc::Receiver<Vec<u8>>,
    udp: Arc<UdpSocket>,
    client: SocketAddr,
    gone: mpsc::Sender<(SocketAddr, Gone)>,
) {
    let mut why = Gone::Closed;
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(server)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            match tls {
                None => relay(stream, rx, &udp, client, server).await,
                Some(tls) => {
                    let connector = tokio_rustls::TlsConnector::from(tls.config);
                    let name = tls.name.clone();
                    match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(tls.name, stream))
                        .await
                    {
                        Ok(Ok(stream)) => relay(stream, rx, &udp, client, server).await,
                        Ok(Err(e)) => {
                            why = Gone::Refused;
                            tracing::warn!(
                                "TURN server {server}: TLS with {name:?} failed ({e}); it is not used"
                            );
                            if let Some(tell) = &tls.refused {
                                let _ = tell.send(crate::MediaEvent::Warning(format!(
                                    "the relay {} (TURN over TLS) is not used: its certificate \
                                     is not trusted ({e}). If this network lets only TLS out, \
                                     calls may not connect",
                                    name.to_str()
                                )));
                            }
                        }
                        Err(_) => {
                            tracing::warn!("TURN server {server}: no TLS handshake within 5 s")
                        }
                    }
                }
            }
        }
        // The allocation request times out on the webrtc-rs side, which then gathers
        // without this server.
        Ok(Err(e)) => tracing::warn!("TURN server {server} unreachable over TCP: {e}"),
        Err(_) => tracing::warn!("TURN server {server}: no TCP connection within 5 s"),
    }
    let _ = gone.send((client, why)).await;
}

/// Datagrams out and messages back over one connection, until either side stops.
async fn relay<S: AsyncRead + AsyncWrite>(
    stream: S,
    rx: mpsc::Receiver<Vec<u8>>,
    udp: &UdpSocket,
    client: SocketAddr,
    server: SocketAddr,
) {
    let (read, write) = tokio::io::split(stream);
    tokio::select! {
        _ = write_out(write, rx) => {}
        why = read_back(read, udp, client) => tracing::warn!("TURN/TCP connection to {server}: {why}"),
    }
}

async fn write_out(mut write: impl AsyncWrite + Unpin, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(msg) = rx.recv().await {
        let channel_data = msg.first().is_some_and(|b| b >> 6 == 0b01);
        let pad = if channel_data && msg.len() >= 4 {
            msg.len().div_ceil(4) * 4 - msg.len()
        } else {
            0
        };
        let ok = write.write_all(&msg).await.is_ok()
            && write
                .write_all([0u8; 3].get(..pad).unwrap_or_default())
                .await
                .is_ok();
        if !ok {
            return;
        }
    }
}

/// Cuts the server's stream into messages and hands each to the local client; returns
/// why it stopped.
async fn read_back(
    mut read: impl AsyncRead + Unpin,
    udp: &UdpSocket,
    client: SocketAddr,
) -> &'static str {
    let mut buf = vec![0u8; MAX_FRAME];
    loop {
        let mut head = [0u8; 4];
        if read.read_exact(&mut head).await.is_err() {
            return "closed";
        }
        let Some((len, padded)) = frame_len(head) else {
            return "the server sent something that is not TURN over TCP";
        };
        if let Some(start) = buf.get_mut(..4) {
            start.copy_from_slice(&head);
        }
        let Some(body) = buf.get_mut(4..padded) else {
            return "a message longer than TURN allows";
        };
        if read.read_exact(body).await.is_err() {
            return "closed";
        }
        if let Some(msg) = buf.get(..len) {
            let _ = udp.send_to(msg, client).await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_cut_by_their_length_fields() {
        // STUN binding request with 8 bytes of attributes.
        assert_eq!(frame_len([0x00, 0x01, 0x00, 0x08]), Some((28, 28)));
        // ChannelData 0x4000 with 5 bytes of data: padded to 12 on TCP.
        assert_eq!(frame_len([0x40, 0x00, 0x00, 0x05]), Some((9, 12)));
        assert_eq!(frame_len([0x40, 0x00, 0x00, 0x04]), Some((8, 8)));
        // RTP/DTLS first bytes are not TURN framing.
        assert_eq!(frame_len([0x80, 0x00, 0x00, 0x00]), None);
    }

    #[test]
    fn the_longest_frames_fit() {
        let (len, padded) = frame_len([0x00, 0x01, 0xff, 0xff]).unwrap();
        assert_eq!((len, padded), (65_555, 65_555));
        assert!(padded <= MAX_FRAME);
        let (len, padded) = frame_len([0x7f, 0xff, 0xff, 0xff]).unwrap();
        assert_eq!((len, padded), (65_539, 65_540));
        assert!(padded <= MAX_FRAME);
    }

    /// The server (or anyone on the plaintext TCP path) sends the largest frames the
    /// length fields allow: the bridge stays up and passes the next message on.
    #[tokio::test]
    async fn oversized_frames_from_the_server_do_not_kill_the_bridge() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bridge = TcpTurnBridge::start(listener.local_addr().unwrap(), None)
            .await
            .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let stun = [
            0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        client.send_to(&stun, bridge.local).await.unwrap();
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut got = [0u8; 20];
        tcp.read_exact(&mut got).await.unwrap();
        // A STUN frame of 20 + 65 535 bytes and a ChannelData frame padded to 65 540.
        let mut big = vec![0u8; 65_555];
        big[..4].copy_from_slice(&[0x01, 0x01, 0xff, 0xff]);
        tcp.write_all(&big).await.unwrap();
        let mut cd = vec![0u8; 65_540];
        cd[..4].copy_from_slice(&[0x40, 0x01, 0xff, 0xff]);
        tcp.write_all(&cd).await.unwrap();
        tcp.write_all(&stun).await.unwrap();
        // Too large for one UDP datagram, those two are dropped; the next one arrives.
        let mut d = vec![0u8; 70_000];
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut d))
            .await
            .expect("the bridge still relays")
            .unwrap();
        assert_eq!(&d[..n], &stun);
        // And the way out still works.
        client.send_to(&stun, bridge.local).await.unwrap();
        tcp.read_exact(&mut got).await.unwrap();
        assert_eq!(got, stun);
    }

    #[tokio::test]
    async fn messages_cross_in_both_directions() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let bridge = TcpTurnBridge::start(server, None).await.unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // A ChannelData message of 5 bytes, then a STUN header with no attributes.
        client
            .send_to(&[0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5], bridge.local)
            .await
            .unwrap();
        let stun = [
            0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        client.send_to(&stun, bridge.local).await.unwrap();
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut got = [0u8; 32];
        tcp.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..9], &[0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
        assert_eq!(&got[9..12], &[0, 0, 0], "ChannelData padded to 4 bytes");
        assert_eq!(&got[12..], &stun);
        // Back: a padded ChannelData and a STUN message arrive as two datagrams.
        tcp.write_all(&[0x40, 0x01, 0x00, 0x02, 9, 9, 0, 0])
            .await
            .unwrap();
        tcp.write_all(&stun).await.unwrap();
        let mut d = [0u8; 64];
        let (n, _) = client.recv_from(&mut d).await.unwrap();
        assert_eq!(&d[..n], &[0x40, 0x01, 0x00, 0x02, 9, 9]);
        let (n, _) = client.recv_from(&mut d).await.unwrap();
        assert_eq!(&d[..n], &stun);
    }
}
