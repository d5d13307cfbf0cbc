//! Quick ACKs while signing in (Linux `TCP_QUICKACK`).
//!
//! Prosody (Nagle on, as shipped) writes its TLS session tickets, then the stream
//! header and the features as separate small segments. With Nagle on its side and
//! delayed ACKs on ours, each later segment waits for our ACK of the earlier one:
//! about 40 ms per sign-in on loopback, an extra 40 ms on top of the round trip on any
//! network. Acknowledging at once during the sign-in removes the wait. The kernel
//! leaves quick-ACK mode by itself, so the flag is set again after every read until
//! the sign-in is over.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

#[derive(Debug)]
pub struct QuickAck {
    tcp: TcpStream,
    armed: Arc<AtomicBool>,
}

impl QuickAck {
    pub fn new(tcp: TcpStream) -> Self {
        set(&tcp);
        QuickAck {
            tcp,
            armed: Arc::new(AtomicBool::new(true)),
        }
    }

    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Clear it to end quick ACKs (the sign-in is over).
    pub fn armed(&self) -> Arc<AtomicBool> {
        self.armed.clone()
    }
}

fn set(tcp: &TcpStream) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a c_int option of the right size.
    let r = unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        tracing::debug!(error = %io::Error::last_os_error(), "TCP_QUICKACK");
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if r.is_ready() && this.armed.load(Ordering::Relaxed) {
            set(&this.tcp);
        }
        r
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}
