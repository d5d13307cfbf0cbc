//! XEP-0066 Out of Band Data, as Conversations, Dino and Gajim send a file: the URL
//! in the body and in `<x xmlns='jabber:x:oob'><url>`. Only web addresses (and
//! XEP-0454 `aesgcm://` ones) count as files: a `javascript:`, `file:` or `data:`
//! URL from a peer is never offered as something to open.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::message::Message;

pub const NS: &str = "jabber:x:oob";

/// URLs longer than this are not files (a URL in a stanza is bounded anyway).
const MAX_URL: usize = 4096;

/// A file a message carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRef {
    pub url: String,
    /// The name to show and save it under: the URL's last path segment, decoded and
    /// made safe (no path separators, no leading dot).
    pub name: String,
    /// Its type: as its sender said (XEP-0446), or guessed from the name.
    pub mime: Option<String>,
    /// Its size, when its sender said (XEP-0446).
    pub size: Option<u64>,
    /// Its SHA-256 (hex), when its sender said: a download is checked against it.
    pub sha256: Option<String>,
}

/// `<x xmlns='jabber:x:oob'><url>…</url></x>`.
pub fn element(url: &str) -> Element {
    Element::builder("x", NS)
        .append(Element::builder("url", NS).append(url).build())
        .build()
}

/// The file a message carries: an OOB URL of an allowed scheme that is also its whole
/// body (so what clients without OOB show is the same link), or a body that is one
/// `aesgcm://` URL (XEP-0454: encrypted messages carry no OOB, which would be clear).
pub fn file_of(m: &Message, body: &str) -> Option<FileRef> {
    let body = body.trim();
    if body.len() > MAX_URL {
        return None;
    }
    let oob = m
        .payloads
        .iter()
        .find(|e| e.is("x", NS))
        .and_then(|x| x.get_child("url", NS))
        .map(|u| u.text());
    let mut file = match oob {
        Some(url) if url.trim() == body => file_ref(body)?,
        _ if body.starts_with("aesgcm://") => file_ref(body)?,
        _ => return None,
    };
    if let Some(meta) = super::sfs::read(m, body) {
        if let Some(name) = meta.name {
            file.name = safe_name(&name);
        }
        file.mime = meta.media_type.or(file.mime);
        file.size = meta.size;
        file.sha256 = meta.sha256;
    }
    Some(file)
}

/// A URL as a file, if its scheme is one files come by.
pub fn file_ref(url: &str) -> Option<FileRef> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(
        scheme.to_ascii_lowercase().as_str(),
        "https" | "http" | "aesgcm"
    ) || rest.is_empty()
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let path = rest.split(['#', '?']).next().unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    let name = safe_name(&percent_decode(last));
    Some(FileRef {
        url: url.to_string(),
        mime: mime_of(&name).map(str::to_string),
        name,
        size: None,
        sha256: None,
    })
}

/// The type of a file by its name's extension; `None` when it says nothing we know.
pub fn mime_of(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "svg" => "image/svg+xml",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "mp3" => "audio/mpeg",
        "m4a" | "aac" => "audio/mp4",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "wav" => "audio/wav",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "txt" => "text/plain",
        "vcf" => "text/vcard",
        _ => return None,
    })
}

/// A picture Banter previews (decoded by the front end, bounded).
pub fn is_picture(mime: Option<&str>) -> bool {
    matches!(mime, Some("image/jpeg" | "image/png" | "image/gif"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A name safe to save under in a folder: no separators, no control characters, no
/// leading dots, at most 120 characters and 200 bytes (file systems take 255); "file"
/// when nothing is left.
pub fn safe_name(name: &str) -> String {
    let mut bytes = 0;
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | ':'))
        .take(120)
        .take_while(|c| {
            bytes += c.len_utf8();
            bytes <= 200
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use xmpp_parsers::jid::BareJid;

    fn with_oob(url: &str, body: &str) -> Message {
        let mut m = super::super::chat::outgoing(&BareJid::new("bob@x").unwrap(), "1", body);
        m.payloads.push(element(url));
        m
    }

    #[test]
    fn a_web_link_is_a_file_and_other_schemes_are_not() {
        let url = "https://up.example.org/abc/My%20Photo%2F..%2Fx.jpg?x=1";
        let f = file_of(&with_oob(url, url), url).unwrap();
        assert_eq!(f.name, "My Photo..x.jpg");
        let enc = "aesgcm://up.example.org/k/photo.jpg#00112233";
        assert_eq!(file_of(&with_oob(enc, enc), enc).unwrap().name, "photo.jpg");
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<b>x</b>",
            "https://",
            "ftp://x/y",
        ] {
            assert_eq!(file_of(&with_oob(bad, bad), bad), None, "{bad}");
        }
        // The URL must be the body: a link under other text is not a file.
        assert_eq!(file_of(&with_oob(url, "look"), "look"), None);
        // An encrypted message's file is its body alone (no OOB).
        let plain = super::super::chat::outgoing(&BareJid::new("bob@x").unwrap(), "1", enc);
        assert_eq!(
            file_of(&plain, enc).unwrap().mime.as_deref(),
            Some("image/jpeg")
        );
        let https = super::super::chat::outgoing(&BareJid::new("bob@x").unwrap(), "1", url);
        assert_eq!(file_of(&https, url), None);
        assert_eq!(safe_name("..."), "file");
        assert_eq!(safe_name("../../.bashrc"), "bashrc");
        assert!(safe_name(&"ж".repeat(150)).len() <= 200);
    }
}
