//! The XMPP layer: one module per specification, plus the connection.

// Everything here reads what the network sends.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod aesgcm;
pub mod avatar;
pub mod blocking;
pub mod bookmarks;
pub mod caps;
pub mod carbons;
pub mod chat;
pub mod chatstates;
pub mod connect;
pub mod correct;
pub mod direct_invite;
pub mod disco;
pub mod error;
pub mod extdisco;
pub mod fallback;
pub mod fast;
pub mod forwarded;
pub mod guard;
pub mod mam;
pub mod markers;
pub mod muc;
pub mod omemo;
pub mod oob;
pub mod presence;
pub mod pubsub;
pub mod reactions;
pub mod receipts;
pub mod register;
pub mod reply;
pub mod retract;
pub mod roster;
pub mod sasl2;
pub mod self_ping;
pub mod sfs;
pub mod tls;
pub mod upload;
pub mod vcard;
pub mod version;

use minidom::rxml::NcName;
use minidom::{ElementBuilder, IntoAttributeValue};

/// minidom 0.19 wants attribute names as validated `NcName`s; ours are all literals.
pub(crate) trait Attr {
    fn a<V: IntoAttributeValue>(self, name: &'static str, value: V) -> Self;
}

impl Attr for ElementBuilder {
    fn a<V: IntoAttributeValue>(self, name: &'static str, value: V) -> Self {
        match NcName::try_from(name) {
            Ok(n) => self.attr(n, value),
            Err(_) => self,
        }
    }
}
