//! Handing tokio-xmpp a stream that SASL2 left in a state it does not know.
//!
//! tokio-xmpp 6 takes a connection only as "authenticated, stream restarted, features
//! received", and its `StanzaStream` then always binds a resource (or resumes) itself.
//! SASL2 has no restart: the features follow `<success>` directly, and with Bind 2 the
//! resource is already bound. So, between the I/O and tokio-xmpp's parser:
//!
//! - `restart`: our made-up stream header and the server's real features (read by us)
//!   are served as if the server had sent them after a restart; tokio-xmpp's own
//!   header, written meanwhile, is dropped (the server expects none).
//! - `answer_bind`: tokio-xmpp's bind request is not sent (the server would refuse a
//!   second bind); the answer Bind 2 already gave is served in its place. Anything
//!   else it writes first goes to the server untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

/// tokio-xmpp's id for its bind request (stanzastream/negotiation.rs).
const BIND_ID: &[u8] = b"resource-binding";

#[derive(Debug)]
pub struct Splice<Io> {
    inner: Io,
    /// Bytes served before the inner stream's.
    inject: Vec<u8>,
    pos: usize,
    /// Drop writes until `inject` is read (tokio-xmpp's stream header).
    drop_writes: bool,
    /// The full JID Bind 2 bound: tokio-xmpp's bind request gets it as the answer.
    bind: Option<String>,
    /// A write being looked at in `bind` mode.
    captured: Vec<u8>,
    /// Captured bytes that turned out not to be the bind request: sent first.
    out: Vec<u8>,
    read_waker: Option<Waker>,
}

impl<Io> Splice<Io> {
    pub fn new(inner: Io) -> Self {
        Splice {
            inner,
            inject: Vec::new(),
            pos: 0,
            drop_writes: false,
            bind: None,
            captured: Vec::new(),
            out: Vec::new(),
            read_waker: None,
        }
    }

    /// Serves `header` and `features` as a restarted stream would, dropping
    /// what is written until they have been read.
    pub fn restart(&mut self, domain: &str, features: &str) {
        self.inject = format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' from='{}' id='sasl2'>{features}",
            escape(domain)
        )
        .into_bytes();
        self.pos = 0;
        self.drop_writes = true;
    }

    /// Answers the next bind request with `jid` instead of sending it.
    pub fn answer_bind(&mut self, jid: &str) {
        self.bind = Some(jid.to_string());
    }

    fn injecting(&self) -> bool {
        self.pos < self.inject.len()
    }

    /// Looks at one write in `bind` mode; the bytes are all taken.
    fn capture(&mut self, buf: &[u8]) {
        self.captured.extend_from_slice(buf);
        let trimmed = trim_start(&self.captured);
        let is_iq = trimmed.len() < 3 || trimmed.starts_with(b"<iq");
        let done = find(&self.captured, b"</iq>").is_some() || ends_empty_iq(&self.captured);
        if !is_iq || (done && find(&self.captured, BIND_ID).is_none()) {
            // Not the bind request (a resumption, say): it goes to the server.
            self.out.append(&mut self.captured);
            self.bind = None;
        } else if done {
            let jid = self.bind.take().unwrap_or_default();
            // Whatever followed the request in the same write goes to the server.
            let end = find(&self.captured, b"</iq>").map_or(self.captured.len(), |i| i + 5);
            let rest = self.captured.split_off(end.min(self.captured.len()));
            self.out.extend_from_slice(&rest);
            self.captured.clear();
            self.inject = format!(
                "<iq type='result' id='resource-binding'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{}</jid></bind></iq>",
                escape(&jid)
            )
            .into_bytes();
            self.pos = 0;
            if let Some(w) = self.read_waker.take() {
                w.wake();
            }
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    b.get(n..).unwrap_or_default()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `<iq …/>`: an iq without content ends at its first `/>`… only when it has no `>`
/// before it. tokio-xmpp's bind request always has content; this keeps an odd
/// write from being held forever.
fn ends_empty_iq(b: &[u8]) -> bool {
    match (find(b, b">"), find(b, b"/>")) {
        (Some(gt), Some(end)) => end + 1 == gt,
        _ => false,
    }
}

impl<Io: AsyncBufRead + Unpin> AsyncBufRead for Splice<Io> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.injecting() {
            return Poll::Ready(Ok(this.inject.get(this.pos..).unwrap_or_default()));
        }
        match Pin::new(&mut this.inner).poll_fill_buf(cx) {
            Poll::Pending => {
                this.read_waker = Some(cx.waker().clone());
                Poll::Pending
            }
            ready => ready,
        }
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        if this.injecting() {
            this.pos = (this.pos + amt).min(this.inject.len());
            if !this.injecting() {
                this.inject.clear();
                this.pos = 0;
                this.drop_writes = false;
            }
        } else {
            Pin::new(&mut this.inner).consume(amt);
        }
    }
}

impl<Io: AsyncBufRead + Unpin> AsyncRead for Splice<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = match self.as_mut().poll_fill_buf(cx) {
            Poll::Ready(Ok(data)) => {
                let n = data.len().min(buf.remaining());
                buf.put_slice(data.get(..n).unwrap_or_default());
                n
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}

impl<Io: AsyncWrite + Unpin> Splice<Io> {
    /// Sends what `capture` let through, before anything newer.
    fn poll_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.out) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.out.drain(..n.min(self.out.len()));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Splice<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.poll_out(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        if this.drop_writes && this.injecting() {
            return Poll::Ready(Ok(buf.len()));
        }
        if this.bind.is_some() {
            this.capture(buf);
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_out(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_out(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    #[tokio::test]
    async fn a_restart_is_served_and_our_header_dropped() {
        let (client, mut server) = tokio::io::duplex(4096);
        let mut s = Splice::new(BufReader::new(client));
        s.restart("example.test", "<stream:features/>");
        s.write_all(b"<stream:stream to='example.test'>")
            .await
            .unwrap();
        s.flush().await.unwrap();
        let mut got = Vec::new();
        let mut one = [0u8; 7];
        while !got.ends_with(b"<stream:features/>") {
            let n = s.read(&mut one).await.unwrap();
            got.extend_from_slice(&one[..n]);
        }
        assert!(got.starts_with(b"<?xml"));
        // Once read, writes reach the server again; the header never did.
        s.write_all(b"<iq/>").await.unwrap();
        s.flush().await.unwrap();
        let mut at_server = vec![0u8; 5];
        server.read_exact(&mut at_server).await.unwrap();
        assert_eq!(at_server, b"<iq/>");
        // And the server's bytes come through after the injected ones.
        server.write_all(b"<x/>").await.unwrap();
        assert_eq!(s.fill_buf().await.unwrap(), b"<x/>");
    }

    #[tokio::test]
    async fn the_bind_request_is_answered_and_anything_else_sent() {
        let (client, mut server) = tokio::io::duplex(4096);
        let mut s = Splice::new(BufReader::new(client));
        s.answer_bind("alice@example.test/Banter~x&y");
        s.write_all(b"<iq type=\"set\" id=\"resource-binding\"><bind xmlns=\"urn:ietf:params:xml:ns:xmpp-bind\">")
            .await
            .unwrap();
        s.write_all(b"<resource>r</resource></bind></iq>")
            .await
            .unwrap();
        s.flush().await.unwrap();
        let answer = String::from_utf8(s.fill_buf().await.unwrap().to_vec()).unwrap();
        assert!(answer.contains("id='resource-binding'"));
        assert!(answer.contains("<jid>alice@example.test/Banter~x&amp;y</jid>"));
        let n = answer.len();
        Pin::new(&mut s).consume(n);
        s.write_all(b"<enable xmlns='urn:xmpp:sm:3'/>")
            .await
            .unwrap();
        s.flush().await.unwrap();
        let mut at_server = vec![0u8; 31];
        server.read_exact(&mut at_server).await.unwrap();
        assert_eq!(at_server, b"<enable xmlns='urn:xmpp:sm:3'/>");

        // A resumption instead of a bind request goes to the server as written.
        let (client, mut server) = tokio::io::duplex(4096);
        let mut s = Splice::new(BufReader::new(client));
        s.answer_bind("alice@example.test/r");
        let resume = b"<resume xmlns='urn:xmpp:sm:3' h='1' previd='x'/>";
        s.write_all(resume).await.unwrap();
        s.flush().await.unwrap();
        let mut at_server = vec![0u8; resume.len()];
        server.read_exact(&mut at_server).await.unwrap();
        assert_eq!(at_server, resume);
    }
}
