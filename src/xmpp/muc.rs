//! XEP-0045 Multi-User Chat on the wire: the join and leave presences, a room
//! message, and what an occupant's presence says (its item and status codes). Read
//! by hand rather than with xmpp-parsers' strict types, so that a status code or
//! attribute value it does not know costs that detail, not the whole presence.

use minidom::Element;
use xmpp_parsers::jid::{BareJid, FullJid, Jid};
use xmpp_parsers::message::{Lang, Message, MessageType};
use xmpp_parsers::presence::{Presence, Type as PresenceType};

use super::Attr;

pub mod admin;

pub const NS: &str = "http://jabber.org/protocol/muc";
pub const NS_USER: &str = "http://jabber.org/protocol/muc#user";

/// Room messages asked for on joining (the room's own history).
pub const JOIN_HISTORY: u32 = 50;

/// The presence that joins `room` as `nick`: with the room's last messages, or
/// (joining again) those since `since_ms`; none with `archive` (they are read from
/// the room's archive instead, which has more than its short history).
pub fn join(
    room_nick: FullJid,
    password: Option<&str>,
    since_ms: Option<i64>,
    archive: bool,
) -> Presence {
    let max = if archive { 0 } else { JOIN_HISTORY };
    let history = Element::builder("history", NS).a("maxstanzas", max);
    let history = match since_ms
        .filter(|_| !archive)
        .and_then(chrono::DateTime::from_timestamp_millis)
    {
        Some(t) => history.a(
            "since",
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ),
        None => history,
    };
    let mut x = Element::builder("x", NS).append(history.build());
    if let Some(p) = password {
        x = x.append(Element::builder("password", NS).append(p).build());
    }
    let mut p = Presence::new(PresenceType::None).with_to(Jid::from(room_nick));
    p.payloads.push(x.build());
    p
}

/// The presence that leaves the room.
pub fn leave(room_nick: FullJid) -> Presence {
    Presence::new(PresenceType::Unavailable).with_to(Jid::from(room_nick))
}

/// A message to everyone in `room`.
pub fn groupchat(room: &BareJid, id: &str, body: &str) -> Message {
    let mut m = Message::new_with_type(MessageType::Groupchat, Some(Jid::from(room.clone())));
    m.id = Some(xmpp_parsers::message::Id(id.to_string()));
    m.bodies.insert(Lang::new(), body.to_string());
    m
}

/// A message that sets the room's subject.
pub fn set_subject(room: &BareJid, subject: &str) -> Message {
    let mut m = Message::new_with_type(MessageType::Groupchat, Some(Jid::from(room.clone())));
    m.subjects.insert(Lang::new(), subject.to_string());
    m
}

/// Accepts the service's default configuration for a room we just created (an
/// "instant room"), which unlocks it for others.
pub fn instant_room(id: String, room: &BareJid) -> xmpp_parsers::iq::Iq {
    let form = Element::builder("x", "jabber:x:data")
        .a("type", "submit")
        .build();
    let query = Element::builder("query", "http://jabber.org/protocol/muc#owner")
        .append(form)
        .build();
    xmpp_parsers::iq::Iq::Set {
        from: None,
        to: Some(Jid::from(room.clone())),
        id,
        payload: query,
    }
}

/// What a room says of one occupant in its presence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// `owner`, `admin`, `member`, `outcast`, `none`.
    pub affiliation: String,
    /// `moderator`, `participant`, `visitor`, `none`.
    pub role: String,
    /// The occupant's real JID, where the room shows it.
    pub jid: Option<String>,
    /// The new nick (with status 303).
    pub nick: Option<String>,
    /// Status codes (110: this is us, 201: room created, 303: nick changed, 307:
    /// kicked, 301: banned, 321/322/332: removed).
    pub codes: Vec<u16>,
    /// The reason given with a kick or ban.
    pub reason: Option<String>,
    /// The room was destroyed: the owner's reason (empty without one).
    pub destroyed: Option<String>,
}

/// The `muc#user` part of an occupant's presence.
pub fn user_info(p: &Presence) -> Option<UserInfo> {
    let x = p.payloads.iter().find(|e| e.is("x", NS_USER))?;
    let mut info = UserInfo {
        codes: x
            .children()
            .filter(|c| c.is("status", NS_USER))
            .filter_map(|c| c.attr("code")?.parse().ok())
            .take(16)
            .collect(),
        ..Default::default()
    };
    if let Some(item) = x.get_child("item", NS_USER) {
        let short = |v: Option<&str>| v.map(|s| s.chars().take(64).collect::<String>());
        info.affiliation = short(item.attr("affiliation")).unwrap_or_else(|| "none".into());
        info.role = short(item.attr("role")).unwrap_or_else(|| "none".into());
        info.jid = item
            .attr("jid")
            .and_then(|j| Jid::new(j).ok())
            .map(|j| j.to_string());
        info.nick = item
            .attr("nick")
            .and_then(|n| nick_ok(n).then(|| n.to_string()));
        info.reason = item
            .get_child("reason", NS_USER)
            .map(|r| r.text().chars().take(500).collect());
    }
    info.destroyed = x.get_child("destroy", NS_USER).map(|d| {
        d.get_child("reason", NS_USER)
            .map(|r| r.text().chars().take(500).collect())
            .unwrap_or_default()
    });
    Some(info)
}

/// A nick a person can be shown: not empty, no control characters, not absurdly long.
pub fn nick_ok(nick: &str) -> bool {
    !nick.trim().is_empty() && nick.chars().count() <= 64 && !nick.chars().any(char::is_control)
}

/// The room's subject, when the message sets it (a message with a subject and no
/// body; an empty subject clears it).
pub fn subject(m: &Message) -> Option<String> {
    if !m.bodies.is_empty() {
        return None;
    }
    m.subjects
        .values()
        .next()
        .map(|s| s.chars().take(1000).collect())
}

/// An error presence from a room, in words a person can act on.
pub fn join_error(p: &Presence) -> Option<String> {
    if p.type_ != PresenceType::Error {
        return None;
    }
    let error = p.payloads.iter().find(|e| e.name() == "error")?;
    let condition = error
        .children()
        .find(|c| c.ns() == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.name() != "text")
        .map(|c| c.name().to_string())
        .unwrap_or_default();
    Some(
        match condition.as_str() {
            "conflict" => "that nickname is taken in this room: choose another",
            "not-authorized" => "this room needs a password (or the one given is wrong)",
            "registration-required" => "this room is for members only: ask an owner to add you",
            "forbidden" => "you are banned from this room",
            "item-not-found" => "this room does not exist (and may not be created by you)",
            "service-unavailable" => "the room is full, or its service is unavailable",
            "remote-server-not-found" | "remote-server-timeout" => {
                "the room's server cannot be reached"
            }
            "jid-malformed" => "a nickname is needed to join",
            _ => "the room refused to let you in",
        }
        .to_string(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn presence(xml: &str) -> Presence {
        let el: Element = xml.parse().unwrap();
        Presence::try_from(el).unwrap()
    }

    #[test]
    fn an_occupants_presence_and_our_own() {
        let p = presence(
            "<presence xmlns='jabber:client' from='r@rooms.x/bob'><x xmlns='http://jabber.org/protocol/muc#user'>\
             <item affiliation='member' role='participant' jid='bob@x/pc'/><status code='110'/><status code='999'/></x></presence>",
        );
        let u = user_info(&p).unwrap();
        assert_eq!(u.affiliation, "member");
        assert_eq!(u.role, "participant");
        assert_eq!(u.jid.as_deref(), Some("bob@x/pc"));
        assert_eq!(u.codes, [110, 999]);
        let p = presence(&format!(
            "<presence xmlns='jabber:client' from='r@rooms.x/bob' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'>\
             <item affiliation='none' role='none' nick='{}'><reason>spam</reason></item><status code='307'/></x></presence>",
            "b".repeat(65)
        ));
        let u = user_info(&p).unwrap();
        assert_eq!(u.nick, None, "an absurd nick is not taken");
        assert_eq!(u.reason.as_deref(), Some("spam"));
    }

    #[test]
    fn join_errors_in_words() {
        let p = presence(
            "<presence xmlns='jabber:client' from='r@rooms.x/bob' type='error'><error type='cancel'>\
             <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>",
        );
        assert!(join_error(&p).unwrap().contains("nickname is taken"));
        let p = presence(
            "<presence xmlns='jabber:client' from='r@rooms.x/bob' type='error'><error type='auth'>\
             <registration-required xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>",
        );
        assert!(join_error(&p).unwrap().contains("members only"));
    }

    #[test]
    fn join_presence_and_subject() {
        let p = join(
            FullJid::new("r@rooms.x/alice").unwrap(),
            Some("pw"),
            None,
            false,
        );
        let el = Element::from(p);
        let x = el.get_child("x", NS).unwrap();
        assert_eq!(
            x.get_child("history", NS).unwrap().attr("maxstanzas"),
            Some("50")
        );
        assert_eq!(x.get_child("password", NS).unwrap().text(), "pw");
        let p = join(
            FullJid::new("r@rooms.x/alice").unwrap(),
            None,
            Some(0),
            false,
        );
        let el = Element::from(p);
        let h = el
            .get_child("x", NS)
            .unwrap()
            .get_child("history", NS)
            .unwrap();
        assert_eq!(h.attr("since"), Some("1970-01-01T00:00:00.000Z"));
        let p = join(
            FullJid::new("r@rooms.x/alice").unwrap(),
            None,
            Some(0),
            true,
        );
        let el = Element::from(p);
        let h = el
            .get_child("x", NS)
            .unwrap()
            .get_child("history", NS)
            .unwrap();
        assert_eq!((h.attr("maxstanzas"), h.attr("since")), (Some("0"), None));
        let m = set_subject(&BareJid::new("r@rooms.x").unwrap(), "plans");
        assert_eq!(subject(&m).as_deref(), Some("plans"));
        let m = groupchat(&BareJid::new("r@rooms.x").unwrap(), "1", "hi");
        assert_eq!(subject(&m), None);
    }
}
