//! What the XML parser under tokio-xmpp cannot take costs one stanza, not the stream.
//!
//! tokio-xmpp parses with rxml's default limits, and a name or attribute value longer
//! than 8 192 bytes is a fatal error of the whole stream. Servers have no such limit, so
//! anyone who can send us a stanza (a stranger included) could keep us offline: the
//! server resends the stanza on resumption, the archive hands it out again on catch-up.
//!
//! [`Guard`] sits between TLS and the parser. It cuts the incoming bytes into top-level
//! elements and passes each one on unchanged unless it holds an over-long name or
//! attribute, nests deeper than [`MAX_DEPTH`], is larger than [`MAX_STANZA`] or holds
//! markup XMPP forbids (comments, processing instructions, DTDs). Such a stanza is
//! replaced by a small stand-in of the same kind, with its `from`, `to`, `type` and `id`
//! where those are sane, carrying `<unreadable xmlns='urn:x-banter:unreadable'
//! reason='…'/>`: the client reports it, answers an IQ with an error, and stream
//! management still counts one stanza. A bad top-level element that is not a stanza (a
//! nonza, only ever from our own server) is dropped.
//!
//! The lexer here is not a validating parser: it knows just enough XML (tags, quoted
//! attribute values, CDATA, comments, PIs) to find where each element ends. Everything
//! else is left to rxml, as before.

// Reads the network: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Namespace of the stand-in's marker child.
pub const NS_UNREADABLE: &str = "urn:x-banter:unreadable";

/// Longest name or attribute value passed on (rxml refuses more than 8 192 bytes; raw
/// bytes are counted, which are never fewer than the decoded ones).
pub const MAX_TOKEN: usize = 8000;
/// Deepest nesting below a stanza passed on (a MAM result is 5 deep).
pub const MAX_DEPTH: usize = 64;
/// Largest top-level element passed on (a roster of 10 000 contacts is about 1 MiB).
pub const MAX_STANZA: usize = 16 << 20;

/// Longest `from`/`to` kept in a stand-in (RFC 7622: a JID is at most 3 071 bytes).
const MAX_JID: usize = 3071;
/// Longest `id` kept in a stand-in.
const MAX_ID: usize = 1024;
/// Bytes of a name kept to recognise it (`stream:stream`, `message`, `from`, …).
const NAME_KEEP: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// Character data (or between stanzas).
    Text,
    /// After `<`.
    Lt,
    /// In a start tag's name.
    StartName,
    /// In an end tag, up to `>`.
    EndTag,
    /// In a start tag, between attributes.
    InTag,
    AttrName,
    /// After an attribute name, before `=`.
    AfterAttrName,
    /// After `=`, before the opening quote.
    BeforeValue,
    /// In a value quoted with this byte.
    Value(u8),
    /// After `/` in a start tag.
    Slash,
    /// In `<? … ?>`; true after a `?`.
    Pi(bool),
    /// After `<!`, collecting up to 7 bytes to tell a comment from CDATA.
    Bang,
    /// In a comment; how many `-` just passed.
    Comment(u8),
    /// In CDATA; how many `]` just passed.
    Cdata(u8),
    /// In `<!DOCTYPE …>` or another declaration, up to `>`.
    Decl,
}

/// The top-level element being collected.
#[derive(Default)]
struct Top {
    /// Its local name (first bytes), once known.
    name: Vec<u8>,
    /// `from`, `to`, `type`, `id` of its start tag, raw, with their quote byte.
    attrs: Vec<(&'static str, Vec<u8>, u8)>,
    /// Why it cannot be passed on.
    bad: Option<&'static str>,
}

/// The incremental filter. Feed it what was read; it appends what the parser may see.
pub struct Guard {
    lex: Lex,
    /// Open elements, the stream header included.
    depth: usize,
    /// Bytes of the current top-level element (or of markup between stanzas) not yet
    /// passed on.
    held: Vec<u8>,
    /// Some while inside a top-level element that is not the stream header.
    top: Option<Top>,
    /// The start tag being lexed is at depth 1 (the top-level element's own tag).
    tag_is_top: bool,
    /// The start tag being lexed is a stream header.
    tag_is_header: bool,
    /// First bytes and full length of the name being lexed.
    name: Vec<u8>,
    name_len: usize,
    /// The attribute being lexed (first bytes of its name) and its value.
    attr: Vec<u8>,
    value: Vec<u8>,
    value_len: usize,
    bang: Vec<u8>,
    /// Stand-ins so far (their ids must differ when the original id is unusable).
    replaced: u64,
}

impl Default for Guard {
    fn default() -> Self {
        Self::new()
    }
}

impl Guard {
    pub fn new() -> Self {
        Guard {
            lex: Lex::Text,
            depth: 0,
            held: Vec::new(),
            top: None,
            tag_is_top: false,
            tag_is_header: false,
            name: Vec::new(),
            name_len: 0,
            attr: Vec::new(),
            value: Vec::new(),
            value_len: 0,
            bang: Vec::new(),
            replaced: 0,
        }
    }

    /// How many stanzas were replaced (for logs and tests).
    pub fn replaced(&self) -> u64 {
        self.replaced
    }

    /// Filters `input`, appending to `out` what may go on to the parser.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            self.byte(b, out);
        }
        // Between stanzas nothing needs holding back (keep-alive whitespace, headers).
        if self.top.is_none() && self.lex == Lex::Text {
            out.append(&mut self.held);
        }
    }

    /// The input ended: whatever is held goes on (the parser reports the cut).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.top.as_ref().is_some_and(|t| t.bad.is_some()) {
            self.held.clear();
        }
        out.append(&mut self.held);
    }

    fn mark_bad(&mut self, why: &'static str) {
        if let Some(top) = self.top.as_mut() {
            if top.bad.is_none() {
                top.bad = Some(why);
            }
            // Nothing of it will be passed on: stop holding it.
            self.held = Vec::new();
        }
    }

    fn keep(&mut self, b: u8) {
        let bad = self.top.as_ref().is_some_and(|t| t.bad.is_some());
        if !bad {
            self.held.push(b);
            if self.top.is_some() && self.held.len() > MAX_STANZA {
                self.mark_bad("larger than 16 MiB");
            }
        }
    }

    fn name_byte(&mut self, b: u8) {
        self.name_len += 1;
        if self.name.len() < NAME_KEEP {
            self.name.push(b);
        }
        if self.name_len > MAX_TOKEN {
            self.mark_bad("a name longer than 8000 bytes");
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        self.keep(b);
        let ws = matches!(b, b' ' | b'\t' | b'\r' | b'\n');
        self.lex = match self.lex {
            Lex::Text => {
                if b == b'<' {
                    if self.top.is_none() {
                        // Text between stanzas goes on now; the tag is held.
                        let lt = self.held.pop();
                        out.append(&mut self.held);
                        self.held.extend(lt);
                    }
                    Lex::Lt
                } else {
                    Lex::Text
                }
            }
            Lex::Lt => match b {
                b'/' => {
                    self.name.clear();
                    self.name_len = 0;
                    Lex::EndTag
                }
                b'?' => {
                    self.mark_bad("a processing instruction");
                    Lex::Pi(false)
                }
                b'!' => {
                    self.bang.clear();
                    Lex::Bang
                }
                _ => {
                    self.name.clear();
                    self.name_len = 0;
                    self.name_byte(b);
                    Lex::StartName
                }
            },
            Lex::StartName => {
                if ws || b == b'/' || b == b'>' {
                    self.start_name_done();
                    self.after_tag_byte(b, out)
                } else {
                    self.name_byte(b);
                    Lex::StartName
                }
            }
            Lex::InTag | Lex::Slash => self.after_tag_byte(b, out),
            Lex::AttrName => {
                if b == b'=' {
                    Lex::BeforeValue
                } else if ws {
                    Lex::AfterAttrName
                } else {
                    self.name_byte(b);
                    if self.attr.len() < NAME_KEEP {
                        self.attr.push(b);
                    }
                    Lex::AttrName
                }
            }
            Lex::AfterAttrName => {
                if b == b'=' {
                    Lex::BeforeValue
                } else {
                    Lex::AfterAttrName
                }
            }
            Lex::BeforeValue => {
                if b == b'\'' || b == b'"' {
                    self.value.clear();
                    self.value_len = 0;
                    Lex::Value(b)
                } else {
                    Lex::BeforeValue
                }
            }
            Lex::Value(q) => {
                if b == q {
                    self.value_done(q);
                    Lex::InTag
                } else {
                    self.value_len += 1;
                    if self.tag_is_top && self.value.len() <= MAX_JID {
                        self.value.push(b);
                    }
                    if self.value_len > MAX_TOKEN {
                        self.mark_bad("an attribute longer than 8000 bytes");
                    }
                    Lex::Value(q)
                }
            }
            Lex::EndTag => {
                if b == b'>' {
                    self.depth = self.depth.saturating_sub(1);
                    self.element_closed(out);
                    Lex::Text
                } else {
                    self.name_byte(b);
                    Lex::EndTag
                }
            }
            Lex::Pi(q) => {
                if q && b == b'>' {
                    self.markup_done(out);
                    Lex::Text
                } else {
                    Lex::Pi(b == b'?')
                }
            }
            Lex::Bang => {
                self.bang.push(b);
                if self.bang == b"--" {
                    self.mark_bad("an XML comment");
                    Lex::Comment(0)
                } else if self.bang == b"[CDATA[" {
                    Lex::Cdata(0)
                } else if b"[CDATA[".starts_with(&self.bang) || b"--".starts_with(&self.bang) {
                    Lex::Bang
                } else {
                    self.mark_bad("a DTD declaration");
                    if b == b'>' {
                        self.markup_done(out);
                        Lex::Text
                    } else {
                        Lex::Decl
                    }
                }
            }
            Lex::Comment(n) => {
                if n >= 2 && b == b'>' {
                    self.markup_done(out);
                    Lex::Text
                } else if b == b'-' {
                    Lex::Comment(n.saturating_add(1))
                } else {
                    Lex::Comment(0)
                }
            }
            Lex::Cdata(n) => {
                if n >= 2 && b == b'>' {
                    Lex::Text
                } else if b == b']' {
                    Lex::Cdata(n.saturating_add(1))
                } else {
                    Lex::Cdata(0)
                }
            }
            Lex::Decl => {
                if b == b'>' {
                    self.markup_done(out);
                    Lex::Text
                } else {
                    Lex::Decl
                }
            }
        };
    }

    /// Inside a start tag after its name: attributes, `/`, `>`.
    fn after_tag_byte(&mut self, b: u8, out: &mut Vec<u8>) -> Lex {
        match b {
            b'>' => {
                let self_closing = self.lex == Lex::Slash;
                self.start_tag_done(self_closing, out);
                Lex::Text
            }
            b'/' => Lex::Slash,
            b' ' | b'\t' | b'\r' | b'\n' => Lex::InTag,
            _ => {
                self.name.clear();
                self.name_len = 0;
                self.attr.clear();
                self.name_byte(b);
                self.attr.push(b);
                Lex::AttrName
            }
        }
    }

    fn start_name_done(&mut self) {
        let local = local_name(&self.name).to_vec();
        self.tag_is_top = false;
        self.tag_is_header = self.top.is_none() && self.depth <= 1 && local == b"stream";
        if self.tag_is_header {
            // A stream header (also a restart after SASL): never held back.
            return;
        }
        if self.depth == 1 && self.top.is_none() {
            self.top = Some(Top {
                name: local,
                ..Top::default()
            });
            self.tag_is_top = true;
            if self.name_len > MAX_TOKEN {
                self.mark_bad("a name longer than 8000 bytes");
            }
        }
        // Depth 1 is the stanza itself.
        if self.depth > MAX_DEPTH + 1 {
            self.mark_bad("nested more than 64 levels deep");
        }
    }

    fn value_done(&mut self, q: u8) {
        if !self.tag_is_top {
            return;
        }
        let key = match self.attr.as_slice() {
            b"from" => "from",
            b"to" => "to",
            b"type" => "type",
            b"id" => "id",
            _ => return,
        };
        let limit = if key == "id" { MAX_ID } else { MAX_JID };
        if self.value_len <= limit {
            let value = std::mem::take(&mut self.value);
            if let Some(top) = self.top.as_mut() {
                top.attrs.push((key, value, q));
            }
        }
    }

    fn start_tag_done(&mut self, self_closing: bool, out: &mut Vec<u8>) {
        if self.tag_is_header && !self_closing {
            self.tag_is_header = false;
            self.depth = 1;
            self.markup_done(out);
            return;
        }
        self.tag_is_top = false;
        if self_closing {
            self.element_closed(out);
        } else {
            self.depth += 1;
        }
    }

    /// An element ended (end tag or self-closing); a top-level one is released.
    fn element_closed(&mut self, out: &mut Vec<u8>) {
        if self.depth > 1 {
            return;
        }
        let Some(top) = self.top.take() else {
            // The stream's own end tag, or stray markup: on it goes.
            out.append(&mut self.held);
            return;
        };
        match top.bad {
            None => out.append(&mut self.held),
            Some(why) => {
                self.held.clear();
                self.replaced += 1;
                tracing::warn!(element = %String::from_utf8_lossy(&top.name), why, "unreadable stanza replaced");
                if let Some(standin) = stand_in(&top, why, self.replaced) {
                    out.extend_from_slice(standin.as_bytes());
                }
            }
        }
    }

    /// A PI, comment or declaration ended; outside a stanza it goes on.
    fn markup_done(&mut self, out: &mut Vec<u8>) {
        if self.top.is_none() {
            out.append(&mut self.held);
        }
    }
}

fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().position(|&c| c == b':') {
        Some(i) => name.get(i + 1..).unwrap_or_default(),
        None => name,
    }
}

/// The stand-in for a bad top-level element; None for a nonza (dropped).
fn stand_in(top: &Top, why: &str, n: u64) -> Option<String> {
    let kind = std::str::from_utf8(&top.name).ok()?;
    let types: &[&str] = match kind {
        "message" => &["chat", "error", "groupchat", "headline", "normal"],
        "presence" => &[
            "error",
            "probe",
            "subscribe",
            "subscribed",
            "unavailable",
            "unsubscribe",
            "unsubscribed",
        ],
        "iq" => &["get", "set", "result", "error"],
        _ => return None,
    };
    let attr = |key: &str| {
        top.attrs
            .iter()
            .find(|(k, _, _)| *k == key)
            .and_then(|(_, v, q)| Some((std::str::from_utf8(v).ok()?, *q as char)))
    };
    let mut s = format!("<{kind} xmlns='jabber:client'");
    for key in ["from", "to"] {
        if let Some((v, q)) = attr(key) {
            s.push_str(&format!(" {key}={q}{v}{q}"));
        }
    }
    let type_ = attr("type").map(|(v, _)| v).filter(|t| types.contains(t));
    let type_ = match (kind, type_) {
        ("iq", None) => Some("result"),
        (_, t) => t,
    };
    if let Some(t) = type_ {
        s.push_str(&format!(" type='{t}'"));
    }
    match attr("id") {
        Some((v, q)) => s.push_str(&format!(" id={q}{v}{q}")),
        None if kind == "iq" => s.push_str(&format!(" id='banter-unreadable-{n}'")),
        None => {}
    }
    s.push('>');
    if kind == "iq" && type_ == Some("error") {
        s.push_str("<error type='cancel'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>");
    }
    s.push_str(&format!(
        "<unreadable xmlns='{NS_UNREADABLE}' reason='{why}'/></{kind}>"
    ));
    Some(s)
}

/// The stand-in's reason, if this stanza is one.
pub fn unreadable_reason(payloads: &[minidom::Element]) -> Option<String> {
    payloads
        .iter()
        .find(|e| e.is("unreadable", NS_UNREADABLE))
        .map(|e| e.attr("reason").unwrap_or("unreadable").to_string())
}

/// A transport whose incoming bytes pass through a [`Guard`].
pub struct Guarded<S> {
    inner: S,
    guard: Guard,
    out: Vec<u8>,
    out_pos: usize,
    scratch: Box<[u8]>,
    eof: bool,
}

impl<S> Guarded<S> {
    pub fn new(inner: S) -> Self {
        Guarded {
            inner,
            guard: Guard::new(),
            out: Vec::new(),
            out_pos: 0,
            scratch: vec![0; 16 * 1024].into_boxed_slice(),
            eof: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let pending = this.out.get(this.out_pos..).unwrap_or_default();
            if !pending.is_empty() {
                let n = pending.len().min(buf.remaining());
                buf.put_slice(pending.get(..n).unwrap_or_default());
                this.out_pos += n;
                if this.out_pos >= this.out.len() {
                    this.out.clear();
                    this.out_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut this.scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    let data = rb.filled();
                    if data.is_empty() {
                        this.eof = true;
                        this.guard.finish(&mut this.out);
                    } else {
                        this.guard.feed(data, &mut this.out);
                    }
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests;
