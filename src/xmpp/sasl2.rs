//! SASL2 (XEP-0388) with Bind 2 (XEP-0386): the login, the resource and the token
//! request (FAST, `fast.rs`) in one exchange, and no stream restart after it. The
//! elements are built and read here; connect/auth.rs drives the exchange.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use base64::Engine;
use minidom::Element;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::stream_features::StreamFeatures;

use super::{fast, Attr};

pub const NS: &str = "urn:xmpp:sasl:2";
pub const NS_BIND2: &str = "urn:xmpp:bind:0";
const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What the server's `<authentication xmlns='urn:xmpp:sasl:2'>` offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offer {
    pub mechanisms: Vec<String>,
    /// Bind 2 inline (XEP-0386).
    pub bind2: bool,
    /// FAST mechanisms inline (XEP-0484).
    pub fast: Vec<String>,
}

/// The SASL2 offer in the stream features, if the server makes one.
pub fn offer(features: &StreamFeatures) -> Option<Offer> {
    let a = features.sasl2.as_ref()?;
    let (bind2, fast) = match &a.inline {
        Some(i) => (i.bind2.is_some(), fast::offered(&i.payloads)),
        None => (false, Vec::new()),
    };
    Some(Offer {
        mechanisms: a.mechanisms.clone(),
        bind2,
        fast,
    })
}

/// One `<authenticate>`: the mechanism and its first message, who we are (the
/// user-agent id FAST tokens are bound to), and the inline requests.
#[derive(Debug, Clone)]
pub struct Authenticate<'a> {
    pub mechanism: &'a str,
    pub initial: &'a [u8],
    pub client_id: &'a str,
    pub software: &'a str,
    /// Bind a resource in the same exchange, with this tag (XEP-0386).
    pub bind_tag: Option<&'a str>,
    /// Ask for a FAST token for this mechanism.
    pub request_token: Option<&'a str>,
    /// `<fast count/>` when logging in with a token.
    pub fast: Option<Element>,
}

impl Authenticate<'_> {
    pub fn element(&self) -> Element {
        // RFC 6120/XEP-0388: an empty initial response is sent as "=".
        let initial = if self.initial.is_empty() {
            "=".to_string()
        } else {
            B64.encode(self.initial)
        };
        let ua = Element::builder("user-agent", NS)
            .a("id", self.client_id)
            .append(
                Element::builder("software", NS)
                    .append(self.software)
                    .build(),
            )
            .build();
        let mut b = Element::builder("authenticate", NS)
            .a("mechanism", self.mechanism)
            .append(
                Element::builder("initial-response", NS)
                    .append(initial)
                    .build(),
            )
            .append(ua);
        if let Some(tag) = self.bind_tag {
            b = b.append(
                Element::builder("bind", NS_BIND2)
                    .append(Element::builder("tag", NS_BIND2).append(tag).build())
                    .build(),
            );
        }
        if let Some(m) = self.request_token {
            b = b.append(fast::request_token(m));
        }
        if let Some(f) = &self.fast {
            b = b.append(f.clone());
        }
        b.build()
    }
}

/// `<response>` to a challenge.
pub fn response(data: &[u8]) -> Element {
    Element::builder("response", NS)
        .append(B64.encode(data))
        .build()
}

/// `<abort>`: we will not go on (a server we could not verify, a task we do not know).
pub fn abort(text: &str) -> Element {
    Element::builder("abort", NS)
        .append(Element::builder("text", NS).append(text).build())
        .build()
}

/// The server's answers during a SASL2 exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Challenge(Vec<u8>),
    Success {
        additional_data: Option<Vec<u8>>,
        /// The full JID when Bind 2 bound a resource, else the bare one.
        jid: Jid,
        bound: bool,
        token: Option<fast::Token>,
    },
    Failure {
        /// The RFC 6120 condition (`not-authorized`, `credentials-expired`, …).
        condition: String,
        text: Option<String>,
    },
    /// Further tasks (XEP-0388 `<continue>`), which Banter does not do.
    Continue(Vec<String>),
}

/// The base64 text of a SASL element (`=` or nothing: no data), as RFC 6120 and
/// XEP-0388 carry it.
pub fn b64_text(e: &Element) -> Result<Vec<u8>, String> {
    let t = e.text();
    let t = t.trim();
    if t.is_empty() || t == "=" {
        return Ok(Vec::new());
    }
    B64.decode(t)
        .map_err(|e| format!("bad base64 from the server: {e}"))
}

/// Reads one element of the exchange; `Ok(None)` for one that is not SASL2's.
pub fn reply(e: &Element) -> Result<Option<Reply>, String> {
    if e.ns() != NS {
        return Ok(None);
    }
    let r = match e.name() {
        "challenge" => Reply::Challenge(b64_text(e)?),
        "success" => {
            let additional_data = match e.get_child("additional-data", NS) {
                Some(d) => Some(b64_text(d)?),
                None => None,
            };
            let id = e
                .get_child("authorization-identifier", NS)
                .map(|i| i.text())
                .ok_or("a SASL2 success without authorization-identifier")?;
            let jid = Jid::new(id.trim()).map_err(|e| format!("bad JID in SASL2 success: {e}"))?;
            let payloads: Vec<Element> = e.children().cloned().collect();
            Reply::Success {
                additional_data,
                jid,
                bound: e.has_child("bound", NS_BIND2),
                token: fast::token_in(&payloads),
            }
        }
        "failure" => Reply::Failure {
            condition: e
                .children()
                .find(|c| c.ns() == NS_SASL)
                .map(|c| c.name().to_string())
                .unwrap_or_else(|| "failure".into()),
            text: e.get_child("text", NS).map(|t| t.text()),
        },
        "continue" => Reply::Continue(
            e.get_child("tasks", NS)
                .map(|t| t.children().map(|c| c.text()).collect())
                .unwrap_or_default(),
        ),
        _ => return Ok(None),
    };
    Ok(Some(r))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Features as Prosody 0.12 with mod_sasl2, _bind2 and _fast sends them.
    const FEATURES: &str = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms><authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism><inline><bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/><feature var='urn:xmpp:sm:3'/></inline></bind><sm xmlns='urn:xmpp:sm:3'/><fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-NONE</mechanism></fast></inline></authentication></stream:features>";

    #[test]
    fn prosodys_offer_is_read() {
        let el: Element = FEATURES.parse().unwrap();
        let f = StreamFeatures::try_from(el).unwrap();
        let o = offer(&f).unwrap();
        assert_eq!(o.mechanisms, ["SCRAM-SHA-1", "PLAIN"]);
        assert!(o.bind2);
        assert_eq!(o.fast, [fast::HT_SHA_256_NONE]);
    }

    #[test]
    fn authenticate_carries_the_inline_requests() {
        let a = Authenticate {
            mechanism: "SCRAM-SHA-1",
            initial: b"n,,n=alice,r=abc",
            client_id: "5a1c3d0e-0000-4000-8000-000000000001",
            software: "Banter",
            bind_tag: Some("Banter"),
            request_token: Some(fast::HT_SHA_256_NONE),
            fast: None,
        };
        let e = a.element();
        assert_eq!(e.attr("mechanism"), Some("SCRAM-SHA-1"));
        assert_eq!(
            e.get_child("initial-response", NS).unwrap().text(),
            B64.encode(b"n,,n=alice,r=abc")
        );
        assert!(e.get_child("bind", NS_BIND2).is_some());
        assert!(e.get_child("request-token", fast::NS).is_some());
        // The parser's own type reads it back.
        let back = xmpp_parsers::sasl2::Authenticate::try_from(e).unwrap();
        assert_eq!(back.user_agent.software.as_deref(), Some("Banter"));
    }

    #[test]
    fn replies_are_read() {
        let s: Element = "<success xmlns='urn:xmpp:sasl:2'><additional-data>dj1hYmM=</additional-data><bound xmlns='urn:xmpp:bind:0'/><token xmlns='urn:xmpp:fast:0' token='secret-token:fast-1' expiry='2026-12-28T12:00:00Z'/><authorization-identifier>alice@example.test/Banter~x</authorization-identifier></success>".parse().unwrap();
        let Some(Reply::Success {
            additional_data,
            jid,
            bound,
            token,
        }) = reply(&s).unwrap()
        else {
            panic!("not a success")
        };
        assert_eq!(additional_data.unwrap(), b"v=abc");
        assert_eq!(jid.to_string(), "alice@example.test/Banter~x");
        assert!(bound);
        assert_eq!(token.unwrap().secret, "secret-token:fast-1");
        let f: Element = "<failure xmlns='urn:xmpp:sasl:2'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/><text>Invalid token</text></failure>".parse().unwrap();
        assert_eq!(
            reply(&f).unwrap(),
            Some(Reply::Failure {
                condition: "not-authorized".into(),
                text: Some("Invalid token".into())
            })
        );
        let c: Element = "<challenge xmlns='urn:xmpp:sasl:2'>cj1hYmM=</challenge>"
            .parse()
            .unwrap();
        assert_eq!(
            reply(&c).unwrap(),
            Some(Reply::Challenge(b"r=abc".to_vec()))
        );
        let no_id: Element = "<success xmlns='urn:xmpp:sasl:2'/>".parse().unwrap();
        assert!(reply(&no_id).is_err());
        let other: Element = "<iq xmlns='jabber:client'/>".parse().unwrap();
        assert_eq!(reply(&other).unwrap(), None);
    }
}
