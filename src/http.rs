//! HTTP for files (XEP-0363 uploads, downloads of what peers send): PUT a file, GET
//! one into a writer, HEAD for its size. HTTP/1.1 by hyper over our own TLS, with the
//! XMPP connection's trust (system roots plus the account's CA file; no way to switch
//! verification off). Only https: a peer's link (or a redirect) must not reach plain
//! services, on this machine or elsewhere.
//! Every transfer is bounded: a size cap on what is read, a stall timeout, at most five
//! redirects (never to another scheme than we allow). Dropping a transfer's future
//! closes its connection: that is how a transfer is cancelled.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use hyper::header;
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a transfer failed, in words a person can act on.
#[derive(Debug, Error)]
pub enum HttpError {
    #[error("not a web address Banter fetches: {0}")]
    BadUrl(String),
    #[error("cannot reach {host}: {why}")]
    Connect { host: String, why: String },
    #[error("the file server answered {0}")]
    Status(u16),
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
    #[error("the file server stopped sending or taking data for {0} s")]
    Stalled(u64),
    #[error("too many redirects")]
    Redirects,
    #[error("HTTP: {0}")]
    Protocol(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Seconds without a byte moving before a transfer is given up.
const STALL: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_REDIRECTS: usize = 5;
const CHUNK: usize = 64 * 1024;

type Body = BoxBody<Bytes, std::io::Error>;

/// Bytes moved so far, read by whoever reports progress.
pub type Progress = Arc<AtomicU64>;

/// What a GET or HEAD learnt about a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub size: Option<u64>,
    pub content_type: Option<String>,
}

/// An HTTP client with the account's TLS trust.
#[derive(Clone)]
pub struct Web {
    tls: Arc<rustls::ClientConfig>,
}

/// A URL we fetch: scheme, host, port, and the request target.
struct Target {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, HttpError> {
        let bad = || HttpError::BadUrl(url.chars().take(200).collect());
        let url = url.split('#').next().unwrap_or_default();
        let uri: Uri = url.parse().map_err(|_| bad())?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            _ => return Err(bad()),
        };
        let host = uri
            .host()
            .ok_or_else(bad)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(bad());
        }
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Target {
            tls,
            host,
            port,
            path,
        })
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => host,
            _ => format!("{host}:{}", self.port),
        }
    }
}

trait Io: tokio::io::AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl Web {
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Web {
        let mut config = (*tls).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Web {
            tls: Arc::new(config),
        }
    }

    async fn open(&self, t: &Target) -> Result<Box<dyn Io>, HttpError> {
        let failed = |why: String| HttpError::Connect {
            host: t.host.clone(),
            why,
        };
        let tcp = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect((t.host.as_str(), t.port)),
        )
        .await
        .map_err(|_| failed("no answer".into()))?
        .map_err(|e| failed(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        if !t.tls {
            return Ok(Box::new(tcp));
        }
        let name = ServerName::try_from(t.host.clone()).map_err(|e| failed(e.to_string()))?;
        let tls = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio_rustls::TlsConnector::from(self.tls.clone()).connect(name, tcp),
        )
        .await
        .map_err(|_| failed("no TLS answer".into()))?
        .map_err(|e| failed(format!("TLS: {e}")))?;
        Ok(Box::new(tls))
    }

    /// One request on a connection of its own; `on_response` reads the answer while
    /// the connection is driven. `moved` counts bytes either way, for the stall check.
    async fn exchange<T, F, Fut>(
        &self,
        t: &Target,
        req: Request<Body>,
        moved: &Progress,
        on_response: F,
    ) -> Result<T, HttpError>
    where
        F: FnOnce(hyper::Response<hyper::body::Incoming>) -> Fut,
        Fut: std::future::Future<Output = Result<T, HttpError>>,
    {
        let io = self.open(t).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(io))
            .await
            .map_err(|e| HttpError::Protocol(e.to_string()))?;
        let work = async {
            let res = sender
                .send_request(req)
                .await
                .map_err(|e| HttpError::Protocol(e.to_string()))?;
            on_response(res).await
        };
        tokio::pin!(work);
        tokio::pin!(conn);
        let mut conn_done = false;
        let mut last = moved.load(Ordering::Relaxed);
        let mut tick = tokio::time::interval(STALL);
        tick.tick().await;
        loop {
            tokio::select! {
                r = &mut work => return r,
                c = &mut conn, if !conn_done => {
                    c.map_err(|e| HttpError::Protocol(e.to_string()))?;
                    conn_done = true;
                }
                _ = tick.tick() => {
                    let now = moved.load(Ordering::Relaxed);
                    if now == last {
                        return Err(HttpError::Stalled(STALL.as_secs()));
                    }
                    last = now;
                }
            }
        }
    }

    /// PUTs `size` bytes read from `file` to `url` with `headers` (the upload slot's).
    /// `progress` counts the bytes sent.
    pub async fn put<R: tokio::io::AsyncRead + Unpin + Send + Sync + 'static>(
        &self,
        url: &str,
        headers: &[(String, String)],
        content_type: &str,
        file: R,
        size: u64,
        progress: Progress,
    ) -> Result<(), HttpError> {
        let t = Target::parse(url)?;
        let counter = progress.clone();
        let stream = futures::stream::unfold(
            (file, size, counter),
            |(mut file, left, counter)| async move {
                if left == 0 {
                    return None;
                }
                let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
                let mut buf = BytesMut::zeroed(want);
                let read = match file.read(&mut buf).await {
                    Ok(0) => Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file became shorter while it was sent",
                    )),
                    Ok(n) => Ok(n),
                    Err(e) => Err(e),
                };
                match read {
                    Ok(n) => {
                        buf.truncate(n);
                        counter.fetch_add(n as u64, Ordering::Relaxed);
                        Some((
                            Ok(Frame::data(buf.freeze())),
                            (file, left - n as u64, counter),
                        ))
                    }
                    Err(e) => Some((Err(e), (file, 0, counter))),
                }
            },
        );
        let body: Body = StreamBody::new(stream).boxed();
        let mut req = Request::builder()
            .method(Method::PUT)
            .uri(&t.path)
            .header(header::HOST, t.host_header())
            .header(header::USER_AGENT, "Banter")
            .header(header::CONTENT_LENGTH, size)
            .header(header::CONTENT_TYPE, content_type);
        for (name, value) in headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let req = req
            .body(body)
            .map_err(|e| HttpError::Protocol(e.to_string()))?;
        self.exchange(&t, req, &progress, |res| async move {
            let status = res.status();
            // Read (a bounded part of) the answer so the connection ends cleanly.
            let mut body = res.into_body();
            let mut seen = 0usize;
            while seen < 64 * 1024 {
                match body.frame().await {
                    Some(Ok(f)) => seen += f.data_ref().map(|d| d.len()).unwrap_or(0),
                    _ => break,
                }
            }
            if status.is_success() {
                Ok(())
            } else {
                Err(HttpError::Status(status.as_u16()))
            }
        })
        .await
    }

    /// GETs `url` into `sink`, at most `max` bytes (more is `TooLarge`, and the
    /// transfer stops there). `progress` counts the bytes received.
    pub async fn get<W: AsyncWrite + Unpin + Send>(
        &self,
        url: &str,
        sink: &mut W,
        max: u64,
        progress: Progress,
    ) -> Result<Meta, HttpError> {
        let mut url = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let t = Target::parse(&url)?;
            let req = request(Method::GET, &t)?;
            let (tr, progress, sink) = (&t, &progress, &mut *sink);
            let step = self
                .exchange(&t, req, progress, |res| async move {
                    if let Some(next) = redirect(&res, tr) {
                        return Ok(Err(next));
                    }
                    if res.status() != StatusCode::OK {
                        return Err(HttpError::Status(res.status().as_u16()));
                    }
                    let meta = meta_of(&res);
                    if meta.size.is_some_and(|s| s > max) {
                        return Err(HttpError::TooLarge(max));
                    }
                    let mut body = res.into_body();
                    let mut got = 0u64;
                    while let Some(frame) = body.frame().await {
                        let frame = frame.map_err(|e| HttpError::Protocol(e.to_string()))?;
                        let Some(data) = frame.data_ref() else {
                            continue;
                        };
                        got += data.len() as u64;
                        if got > max {
                            return Err(HttpError::TooLarge(max));
                        }
                        sink.write_all(data).await?;
                        progress.fetch_add(data.len() as u64, Ordering::Relaxed);
                    }
                    if meta.size.is_some_and(|s| s != got) {
                        return Err(HttpError::Protocol(format!(
                            "the server promised {} bytes and sent {got}",
                            meta.size.unwrap_or_default()
                        )));
                    }
                    sink.flush().await?;
                    Ok(Ok(meta))
                })
                .await?;
            match step {
                Ok(meta) => return Ok(meta),
                Err(next) => url = next,
            }
        }
        Err(HttpError::Redirects)
    }

    /// HEAD: the size and type of what `url` holds, without fetching it.
    pub async fn head(&self, url: &str) -> Result<Meta, HttpError> {
        let mut url = url.to_string();
        let moved = Progress::default();
        for _ in 0..=MAX_REDIRECTS {
            let t = Target::parse(&url)?;
            let req = request(Method::HEAD, &t)?;
            let tr = &t;
            let step = self
                .exchange(&t, req, &moved, |res| async move {
                    if let Some(next) = redirect(&res, tr) {
                        return Ok(Err(next));
                    }
                    if !res.status().is_success() {
                        return Err(HttpError::Status(res.status().as_u16()));
                    }
                    Ok(Ok(meta_of(&res)))
                })
                .await?;
            match step {
                Ok(meta) => return Ok(meta),
                Err(next) => url = next,
            }
        }
        Err(HttpError::Redirects)
    }
}

fn request(method: Method, t: &Target) -> Result<Request<Body>, HttpError> {
    Request::builder()
        .method(method)
        .uri(&t.path)
        .header(header::HOST, t.host_header())
        .header(header::USER_AGENT, "Banter")
        .body(Empty::new().map_err(|never| match never {}).boxed())
        .map_err(|e| HttpError::Protocol(e.to_string()))
}

fn meta_of<B>(res: &hyper::Response<B>) -> Meta {
    let text = |h| {
        res.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Meta {
        size: text(header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok()),
        content_type: text(header::CONTENT_TYPE),
    }
}

/// Where a redirect points (absolute, or a path on the same server).
fn redirect<B>(res: &hyper::Response<B>, t: &Target) -> Option<String> {
    if !res.status().is_redirection() || res.status() == StatusCode::NOT_MODIFIED {
        return None;
    }
    let to = res.headers().get(header::LOCATION)?.to_str().ok()?;
    if to.starts_with('/') && !to.starts_with("//") {
        let scheme = if t.tls { "https" } else { "http" };
        Some(format!("{scheme}://{}{to}", t.host_header()))
    } else {
        Some(to.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn only_https_is_fetched() {
        let t = Target::parse("https://up.example.org/a/b%20c.png?x=1#frag").unwrap();
        assert!(t.tls);
        assert_eq!((t.host.as_str(), t.port), ("up.example.org", 443));
        assert_eq!(t.path, "/a/b%20c.png?x=1");
        assert_eq!(t.host_header(), "up.example.org");
        let t = Target::parse("https://127.0.0.1:5281/f").unwrap();
        assert_eq!(t.host_header(), "127.0.0.1:5281");
        let t = Target::parse("https://[::1]:8443/f").unwrap();
        assert_eq!(
            (t.host.as_str(), t.host_header().as_str()),
            ("::1", "[::1]:8443")
        );
        for bad in [
            "http://example.org/f",
            "http://127.0.0.1:5280/f",
            "ftp://example.org/f",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "aesgcm://example.org/f",
            "https:///nohost",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
