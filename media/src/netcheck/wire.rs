//! The STUN and TURN messages a network check sends and reads (RFC 8489, RFC 8656):
//! Binding, Allocate with and without long-term credentials, and the Refresh that frees
//! an allocation. Pure: bytes in, bytes out, so every answer a server could give is
//! unit-tested.

use std::net::SocketAddr;

use rtc::crypto::RTCCrypto;
use rtc::stun::addr::MappedAddress;
use rtc::stun::attributes::{
    ATTR_NONCE, ATTR_OTHER_ADDRESS, ATTR_REALM, ATTR_USERNAME, ATTR_XORMAPPED_ADDRESS,
};
use rtc::stun::error_code::ErrorCodeAttribute;
use rtc::stun::fingerprint::FINGERPRINT;
use rtc::stun::integrity::MessageIntegrity;
use rtc::stun::message::{
    Getter, Message, MessageType, Method, Setter, TransactionId, CLASS_ERROR_RESPONSE,
    CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, METHOD_ALLOCATE, METHOD_BINDING, METHOD_REFRESH,
};
use rtc::stun::textattrs::TextAttribute;
use rtc::stun::xoraddr::XorMappedAddress;
use rtc::turn::proto::lifetime::Lifetime;
use rtc::turn::proto::relayaddr::RelayedAddress;
use rtc::turn::proto::reqtrans::RequestedTransport;
use rtc::turn::proto::PROTO_UDP;

/// Long-term credentials, once the server named its realm and nonce (RFC 8489 §9.2).
#[derive(Clone)]
pub(crate) struct Auth {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub password: String,
}

/// What a server answered to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Success {
        /// Our address as the server saw it (XOR-MAPPED-ADDRESS).
        mapped: Option<SocketAddr>,
        /// The allocation's address on the relay (XOR-RELAYED-ADDRESS).
        relayed: Option<SocketAddr>,
        /// The server's second address, when it offers one (RFC 5780 OTHER-ADDRESS).
        other: Option<SocketAddr>,
    },
    /// 401 or 438: ask again with these (the first answer to an Allocate).
    Challenge {
        realm: String,
        nonce: String,
    },
    Error {
        code: u16,
        reason: String,
    },
}

/// A Binding request: asks the server where we appear to come from.
pub(crate) fn binding() -> Option<(TransactionId, Vec<u8>)> {
    build(METHOD_BINDING, Vec::new())
}

/// An Allocate for a UDP relay, anonymous (to learn the realm and nonce) or with
/// credentials.
pub(crate) fn allocate(
    auth: Option<&Auth>,
    crypto: &dyn RTCCrypto,
) -> Option<(TransactionId, Vec<u8>)> {
    let mut attrs: Setters<'_> = vec![Box::new(RequestedTransport {
        protocol: PROTO_UDP,
    })];
    attrs.extend(credentials(auth, crypto)?);
    build(METHOD_ALLOCATE, attrs)
}

/// A Refresh with lifetime 0: frees the allocation a check made (RFC 8656 §7).
pub(crate) fn release(auth: &Auth, crypto: &dyn RTCCrypto) -> Option<(TransactionId, Vec<u8>)> {
    let mut attrs: Setters<'_> = vec![Box::new(Lifetime(std::time::Duration::ZERO))];
    attrs.extend(credentials(Some(auth), crypto)?);
    build(METHOD_REFRESH, attrs)
}

type Setters<'a> = Vec<Box<dyn Setter + 'a>>;

/// USERNAME, REALM, NONCE and MESSAGE-INTEGRITY, in that order (the integrity covers
/// what comes before it).
fn credentials<'a>(auth: Option<&Auth>, crypto: &'a dyn RTCCrypto) -> Option<Setters<'a>> {
    let Some(a) = auth else {
        return Some(Vec::new());
    };
    let integrity = MessageIntegrity::new_long_term_integrity_with_provider(
        a.username.clone(),
        a.realm.clone(),
        a.password.clone(),
        crypto,
    )
    .ok()?;
    Some(vec![
        Box::new(TextAttribute::new(ATTR_USERNAME, a.username.clone())),
        Box::new(TextAttribute::new(ATTR_REALM, a.realm.clone())),
        Box::new(TextAttribute::new(ATTR_NONCE, a.nonce.clone())),
        Box::new(integrity),
    ])
}

fn build(method: Method, attrs: Setters<'_>) -> Option<(TransactionId, Vec<u8>)> {
    let tid = TransactionId::new();
    let mut setters: Setters<'_> = vec![
        Box::new(tid),
        Box::new(MessageType::new(method, CLASS_REQUEST)),
    ];
    setters.extend(attrs);
    setters.push(Box::new(FINGERPRINT));
    let mut msg = Message::new();
    msg.build(&setters).ok()?;
    Some((tid, msg.raw))
}

/// The transaction a message answers, if it is a STUN response at all.
pub(crate) fn transaction_of(bytes: &[u8]) -> Option<TransactionId> {
    let mut msg = Message::new();
    msg.unmarshal_binary(bytes).ok()?;
    (msg.typ.class == CLASS_SUCCESS_RESPONSE || msg.typ.class == CLASS_ERROR_RESPONSE)
        .then_some(msg.transaction_id)
}

/// Reads a response to `tid`; `None` when the bytes are not one (another transaction,
/// a request, garbage).
pub(crate) fn reply(bytes: &[u8], tid: &TransactionId) -> Option<Reply> {
    let mut msg = Message::new();
    msg.unmarshal_binary(bytes).ok()?;
    if msg.transaction_id != *tid {
        return None;
    }
    if msg.typ.class == CLASS_ERROR_RESPONSE {
        let mut err = ErrorCodeAttribute::default();
        if err.get_from(&msg).is_err() {
            return Some(Reply::Error {
                code: 0,
                reason: "error without a code".into(),
            });
        }
        let code = err.code.0;
        let text = |attr| TextAttribute::get_from_as(&msg, attr).ok().map(|t| t.text);
        if code == 401 || code == 438 {
            if let (Some(realm), Some(nonce)) = (text(ATTR_REALM), text(ATTR_NONCE)) {
                return Some(Reply::Challenge { realm, nonce });
            }
        }
        return Some(Reply::Error {
            code,
            reason: String::from_utf8_lossy(&err.reason).into_owned(),
        });
    }
    if msg.typ.class != CLASS_SUCCESS_RESPONSE {
        return None;
    }
    let mut mapped = XorMappedAddress::default();
    let mapped = mapped
        .get_from_as(&msg, ATTR_XORMAPPED_ADDRESS)
        .ok()
        .map(|()| SocketAddr::new(mapped.ip, mapped.port));
    let mut relayed = RelayedAddress::default();
    let relayed = relayed
        .get_from(&msg)
        .ok()
        .map(|()| SocketAddr::new(relayed.ip, relayed.port));
    let mut other = MappedAddress::default();
    let other = other
        .get_from_as(&msg, ATTR_OTHER_ADDRESS)
        .ok()
        .map(|()| SocketAddr::new(other.ip, other.port));
    Some(Reply::Success {
        mapped,
        relayed,
        other,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;
