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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::error::MediaError;

/// Largest TURN message we relay (a UDP datagram's worth).
const MAX_MESSAGE: usize = 65_535 + 4;

/// How long one message on the TCP stream is, from its first four bytes, or `None`
/// when the stream is not TURN. STUN messages (first two bits 00) have a 20-byte header
/// and are 4-byte aligned; ChannelData (01) has a 4-byte header and is padded to a
/// multiple of four over TCP (RFC 8656 §12.5).
pub(crate) fn frame_len(head: [u8; 4]) -> Option<(usize, usize)> {
    let len = u16::from_be_bytes([head[2], head[3]]) as usize;
    match head[0] >> 6 {
        0b00 => Some((20 + len, 20 + len)),
        0b01 => {
            let unpadded = 4 + len;
            Some((unpadded, unpadded.div_ceil(4) * 4))
        }
        _ => None,
    }
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

type Conns = Arc<Mutex<HashMap<SocketAddr, (OwnedWriteHalf, JoinHandle<()>)>>>;

impl TcpTurnBridge {
    /// Starts a bridge to the TURN server at `server` (reached over TCP).
    pub async fn start(server: SocketAddr) -> Result<TcpTurnBridge, MediaError> {
        let udp = Arc::new(
            UdpSocket::bind(("127.0.0.1", 0))
                .await
                .map_err(|e| MediaError::Transport(format!("TURN/TCP bridge: {e}")))?,
        );
        let local = udp
            .local_addr()
            .map_err(|e| MediaError::Transport(e.to_string()))?;
        let task = tokio::spawn(run(udp, server));
        Ok(TcpTurnBridge { local, task })
    }
}

async fn run(udp: Arc<UdpSocket>, server: SocketAddr) {
    let conns: Conns = Arc::default();
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let Ok((n, from)) = udp.recv_from(&mut buf).await else {
            break;
        };
        let mut map = conns.lock().await;
        let write = match map.entry(from) {
            std::collections::hash_map::Entry::Occupied(e) => &mut e.into_mut().0,
            std::collections::hash_map::Entry::Vacant(e) => {
                match TcpStream::connect(server).await {
                    Ok(stream) => {
                        let _ = stream.set_nodelay(true);
                        let (read, write) = stream.into_split();
                        let back = tokio::spawn(read_back(read, udp.clone(), from, conns.clone()));
                        &mut e.insert((write, back)).0
                    }
                    Err(e) => {
                        // The allocation request times out on the webrtc-rs side,
                        // which then gathers without this server.
                        tracing::warn!("TURN server {server} unreachable over TCP: {e}");
                        continue;
                    }
                }
            }
        };
        let msg = &buf[..n];
        let pad = if n >= 4 && msg[0] >> 6 == 0b01 {
            n.div_ceil(4) * 4 - n
        } else {
            0
        };
        let ok = write.write_all(msg).await.is_ok()
            && (pad == 0 || write.write_all(&[0u8; 3][..pad]).await.is_ok());
        if !ok {
            tracing::warn!("TURN/TCP connection to {server} lost");
            if let Some((_, back)) = map.remove(&from) {
                back.abort();
            }
        }
    }
    for (_, (_, back)) in conns.lock().await.drain() {
        back.abort();
    }
}

/// Cuts the server's stream into messages and hands each to the local client.
async fn read_back(
    mut read: tokio::net::tcp::OwnedReadHalf,
    udp: Arc<UdpSocket>,
    client: SocketAddr,
    conns: Conns,
) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let mut head = [0u8; 4];
        if read.read_exact(&mut head).await.is_err() {
            break;
        }
        let Some((len, padded)) = frame_len(head) else {
            tracing::warn!("TURN server sent something that is not TURN over TCP");
            break;
        };
        buf[..4].copy_from_slice(&head);
        if read.read_exact(&mut buf[4..padded]).await.is_err() {
            break;
        }
        let _ = udp.send_to(&buf[..len], client).await;
    }
    conns.lock().await.remove(&client);
}

#[cfg(test)]
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

    #[tokio::test]
    async fn messages_cross_in_both_directions() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let bridge = TcpTurnBridge::start(server).await.unwrap();
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
