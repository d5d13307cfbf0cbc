//! XEP-0410 MUC self-ping: a ping to our own occupant JID tells whether the room
//! still has us, since a room may drop an occupant without telling it (a restart
//! of the service, a stream that vanished and came back as a new session there).

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{FullJid, Jid};
use xmpp_parsers::stanza_error::DefinedCondition;

const NS_PING: &str = "urn:xmpp:ping";

/// The ping to `room_nick` (the room JID with our nick).
pub fn ping(id: &str, room_nick: FullJid) -> Iq {
    Iq::Get {
        from: None,
        to: Some(Jid::from(room_nick)),
        id: id.to_string(),
        payload: Element::builder("ping", NS_PING).build(),
    }
}

/// What an answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The room has us.
    Joined,
    /// The room no longer has us: join again.
    Gone,
    /// The room's server cannot be reached now: ask again later.
    Unknown,
}

/// The verdict of an answer: `None` for a result, else its error condition.
pub fn verdict(error: Option<&DefinedCondition>) -> Verdict {
    match error {
        None => Verdict::Joined,
        // The room answered for us, or our client (which does not do pings) did,
        // or our nick changed from another client: all say we are in.
        Some(
            DefinedCondition::ServiceUnavailable
            | DefinedCondition::FeatureNotImplemented
            | DefinedCondition::ItemNotFound,
        ) => Verdict::Joined,
        Some(DefinedCondition::RemoteServerNotFound | DefinedCondition::RemoteServerTimeout) => {
            Verdict::Unknown
        }
        // not-acceptable above all: we are not an occupant.
        Some(_) => Verdict::Gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_xep_0410_reads_them() {
        assert_eq!(verdict(None), Verdict::Joined);
        assert_eq!(
            verdict(Some(&DefinedCondition::NotAcceptable)),
            Verdict::Gone
        );
        assert_eq!(
            verdict(Some(&DefinedCondition::FeatureNotImplemented)),
            Verdict::Joined
        );
        assert_eq!(
            verdict(Some(&DefinedCondition::RemoteServerTimeout)),
            Verdict::Unknown
        );
    }
}
