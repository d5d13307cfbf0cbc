//! XEP-0045's admin and owner use cases, and what a room says of itself: private
//! messages to an occupant, role and affiliation changes (kick, ban, voice,
//! membership, admin), destroying a room, the room configuration form, mediated
//! invitations and declines, the room's disco#info, and a service's room list.

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, FullJid, Jid};
use xmpp_parsers::message::{Lang, Message, MessageType};

use super::{Attr, NS_USER};

pub const NS_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
pub const NS_OWNER: &str = "http://jabber.org/protocol/muc#owner";
const NS_DATA: &str = "jabber:x:data";
const NS_DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
const ROOMCONFIG: &str = "http://jabber.org/protocol/muc#roomconfig";
/// Rooms read from one room list answer.
pub const MAX_LISTED: usize = 2_000;

/// A private message to one occupant, through the room (marked as such so that
/// clients and servers do not take it for a 1:1 chat with the room).
pub fn private(to: FullJid, id: &str, body: &str) -> Message {
    let mut m = Message::new_with_type(MessageType::Chat, Some(Jid::from(to)));
    m.id = Some(xmpp_parsers::message::Id(id.to_string()));
    m.bodies.insert(Lang::new(), body.to_string());
    m.payloads.push(Element::builder("x", NS_USER).build());
    m
}

/// A change to an occupant or a user of a room, as a moderator or an owner makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Out of the room now (role none); may join again.
    Kick,
    /// Out, and kept out (affiliation outcast).
    Ban,
    /// May speak in a moderated room (role participant).
    Voice,
    /// May not speak (role visitor).
    Mute,
    /// A member (affiliation member).
    Member,
    /// An admin (affiliation admin).
    Admin,
    /// An owner (affiliation owner).
    Owner,
    /// No affiliation (a member or admin no more).
    Revoke,
}

impl Change {
    /// Whether it changes the role of an occupant, named by nick (else the
    /// affiliation of a user, named by bare JID).
    pub fn by_nick(self) -> bool {
        matches!(self, Change::Kick | Change::Voice | Change::Mute)
    }

    fn attr(self) -> (&'static str, &'static str) {
        match self {
            Change::Kick => ("role", "none"),
            Change::Voice => ("role", "participant"),
            Change::Mute => ("role", "visitor"),
            Change::Ban => ("affiliation", "outcast"),
            Change::Member => ("affiliation", "member"),
            Change::Admin => ("affiliation", "admin"),
            Change::Owner => ("affiliation", "owner"),
            Change::Revoke => ("affiliation", "none"),
        }
    }

    /// In words, for messages ("could not kick bob: …").
    pub fn verb(self) -> &'static str {
        match self {
            Change::Kick => "kick",
            Change::Ban => "ban",
            Change::Voice => "give voice to",
            Change::Mute => "take voice from",
            Change::Member => "make a member",
            Change::Admin => "make an admin",
            Change::Owner => "make an owner",
            Change::Revoke => "revoke the affiliation of",
        }
    }
}

/// The admin request that makes `change` to `target` (a nick for a role change,
/// a bare JID for an affiliation change).
pub fn admin(id: &str, room: &BareJid, change: Change, target: &str, reason: Option<&str>) -> Iq {
    let (name, value) = change.attr();
    let who = if change.by_nick() { "nick" } else { "jid" };
    let mut item = Element::builder("item", NS_ADMIN)
        .a(who, target.to_string())
        .a(name, value);
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        item = item.append(Element::builder("reason", NS_ADMIN).append(r.to_string()));
    }
    Iq::Set {
        from: None,
        to: Some(Jid::from(room.clone())),
        id: id.to_string(),
        payload: Element::builder("query", NS_ADMIN).append(item).build(),
    }
}

/// Destroys the room (owners only): everyone in it is told, with `reason`.
pub fn destroy(id: &str, room: &BareJid, reason: Option<&str>) -> Iq {
    let mut d = Element::builder("destroy", NS_OWNER);
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        d = d.append(Element::builder("reason", NS_OWNER).append(r.to_string()));
    }
    Iq::Set {
        from: None,
        to: Some(Jid::from(room.clone())),
        id: id.to_string(),
        payload: Element::builder("query", NS_OWNER).append(d).build(),
    }
}

/// How a room we create is to be configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomConfig {
    pub name: Option<String>,
    /// Only members may join; everyone sees the occupants' real JIDs (what
    /// Conversations calls a private group).
    pub members_only: bool,
    /// Kept when the last occupant leaves.
    pub persistent: bool,
    pub password: Option<String>,
    /// Listed in the service's room directory.
    pub public: bool,
}

impl RoomConfig {
    /// The configuration fields to set, by their standard names, and whether the
    /// user asked for it (a room without it would not be what they asked for).
    fn fields(&self) -> Vec<(&'static str, String, bool)> {
        let b = |v: bool| if v { "1" } else { "0" }.to_string();
        let mut f = vec![
            (
                "muc#roomconfig_membersonly",
                b(self.members_only),
                self.members_only,
            ),
            (
                "muc#roomconfig_persistentroom",
                b(self.persistent),
                self.persistent,
            ),
            ("muc#roomconfig_publicroom", b(self.public), self.public),
            // Not every service has it (Prosody has only the secret).
            (
                "muc#roomconfig_passwordprotectedroom",
                b(self.password.is_some()),
                false,
            ),
        ];
        if let Some(n) = &self.name {
            f.push(("muc#roomconfig_roomname", n.clone(), true));
        }
        if let Some(p) = &self.password {
            f.push(("muc#roomconfig_roomsecret", p.clone(), true));
        }
        if self.members_only {
            // Members see each other's JIDs, as in Conversations' private groups.
            f.push(("muc#roomconfig_whois", "anyone".into(), false));
        }
        f
    }
}

/// Asks the room (ours) for its configuration form.
pub fn config_request(id: &str, room: &BareJid) -> Iq {
    Iq::Get {
        from: None,
        to: Some(Jid::from(room.clone())),
        id: id.to_string(),
        payload: Element::builder("query", NS_OWNER).build(),
    }
}

/// The form that answers the room's configuration `form` with `cfg`'s values;
/// `Err` names a setting the service's form does not offer (the room would not be
/// what the user asked for).
pub fn config_submit(
    id: &str,
    room: &BareJid,
    answer: &Element,
    cfg: &RoomConfig,
) -> Result<Iq, String> {
    let form = answer
        .is("query", NS_OWNER)
        .then(|| answer.get_child("x", NS_DATA))
        .flatten()
        .ok_or_else(|| "the room sent no configuration form".to_string())?;
    let offered: Vec<&str> = form
        .children()
        .filter(|c| c.is("field", NS_DATA))
        .filter_map(|c| c.attr("var"))
        .collect();
    let field = |var: &str, value: &str| {
        Element::builder("field", NS_DATA)
            .a("var", var.to_string())
            .append(Element::builder("value", NS_DATA).append(value.to_string()))
            .build()
    };
    let mut submit = Element::builder("x", NS_DATA)
        .a("type", "submit")
        .append(field("FORM_TYPE", ROOMCONFIG));
    for (var, value, asked) in cfg.fields() {
        if offered.contains(&var) {
            submit = submit.append(field(var, &value));
        } else if asked {
            return Err(format!("this room service does not offer {var}"));
        }
    }
    Ok(Iq::Set {
        from: None,
        to: Some(Jid::from(room.clone())),
        id: id.to_string(),
        payload: Element::builder("query", NS_OWNER)
            .append(submit.build())
            .build(),
    })
}

/// An invitation to a room, however it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub room: BareJid,
    /// Who invites (their real JID).
    pub from: String,
    pub reason: Option<String>,
    pub password: Option<String>,
    /// Through the room (XEP-0045), else straight from the inviter (XEP-0249).
    pub mediated: bool,
}

/// Asks the room to invite `to` (XEP-0045 mediated invitation; in a members-only
/// room this also makes them a member, where we may).
pub fn invite(room: &BareJid, to: &BareJid, reason: Option<&str>) -> Message {
    let mut inv = Element::builder("invite", NS_USER).a("to", to.to_string());
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        inv = inv.append(Element::builder("reason", NS_USER).append(r.to_string()));
    }
    let mut m = Message::new_with_type(MessageType::Normal, Some(Jid::from(room.clone())));
    m.payloads
        .push(Element::builder("x", NS_USER).append(inv).build());
    m
}

/// Declines a mediated invitation: the room tells `inviter`.
pub fn decline(room: &BareJid, inviter: &str, reason: Option<&str>) -> Message {
    let mut d = Element::builder("decline", NS_USER).a("to", inviter.to_string());
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        d = d.append(Element::builder("reason", NS_USER).append(r.to_string()));
    }
    let mut m = Message::new_with_type(MessageType::Normal, Some(Jid::from(room.clone())));
    m.payloads
        .push(Element::builder("x", NS_USER).append(d).build());
    m
}

fn short_text(e: Option<&Element>) -> Option<String> {
    e.map(|e| e.text().chars().take(500).collect::<String>())
        .filter(|t| !t.trim().is_empty())
}

/// What a message from a room's bare JID says about invitations: one for us, or
/// someone declining ours (`Err(decliner, reason)`).
pub fn mediated(m: &Message) -> Option<Result<Invitation, (String, Option<String>)>> {
    let from = m.from.as_ref()?;
    if from.resource().is_some() {
        return None;
    }
    let x = m.payloads.iter().find(|p| p.is("x", NS_USER))?;
    let who = |e: &Element, attr: &str| {
        e.attr(attr)
            .and_then(|j| Jid::new(j).ok())
            .map(|j| j.to_string())
    };
    if let Some(inv) = x.get_child("invite", NS_USER) {
        return Some(Ok(Invitation {
            room: from.to_bare(),
            from: who(inv, "from")?,
            reason: short_text(inv.get_child("reason", NS_USER)),
            password: short_text(x.get_child("password", NS_USER)),
            mediated: true,
        }));
    }
    let d = x.get_child("decline", NS_USER)?;
    Some(Err((
        who(d, "from")?,
        short_text(d.get_child("reason", NS_USER)),
    )))
}

/// What a room's disco#info says of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoomInfo {
    pub name: Option<String>,
    pub members_only: bool,
    pub non_anonymous: bool,
    pub password_protected: bool,
    pub persistent: bool,
    pub public: bool,
    /// It keeps an archive (XEP-0313) we can read.
    pub archived: bool,
}

/// Reads a room's features (disco#info identities and features).
pub fn room_info(identities: &[crate::xmpp::caps::Identity], features: &[String]) -> RoomInfo {
    let has = |f: &str| features.iter().any(|x| x == f);
    RoomInfo {
        name: identities
            .iter()
            .find(|i| i.category == "conference" && !i.name.trim().is_empty())
            .map(|i| i.name.chars().take(200).collect()),
        members_only: has("muc_membersonly"),
        non_anonymous: has("muc_nonanonymous"),
        password_protected: has("muc_passwordprotected"),
        persistent: has("muc_persistent"),
        public: has("muc_public"),
        archived: has("urn:xmpp:mam:2"),
    }
}

/// Asks a MUC service for its (public) rooms.
pub fn list(id: &str, service: &Jid) -> Iq {
    crate::xmpp::disco::items_query(id, service.clone())
}

/// A room in a service's list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListedRoom {
    pub jid: String,
    pub name: Option<String>,
}

/// The rooms of a list answer.
pub fn parse_list(q: &Element) -> Vec<ListedRoom> {
    if !q.is("query", NS_DISCO_ITEMS) {
        return Vec::new();
    }
    q.children()
        .filter(|c| c.is("item", NS_DISCO_ITEMS))
        .filter_map(|c| {
            let jid = BareJid::new(c.attr("jid")?).ok()?;
            Some(ListedRoom {
                jid: jid.to_string(),
                name: c
                    .attr("name")
                    .filter(|n| !n.trim().is_empty())
                    .map(|n| n.chars().take(200).collect()),
            })
        })
        .take(MAX_LISTED)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn xml(e: impl Into<Element>) -> String {
        String::from(&e.into())
    }

    #[test]
    fn role_changes_name_a_nick_and_affiliation_changes_a_jid() {
        let room = BareJid::new("r@rooms.x").unwrap();
        let k = xml(admin("1", &room, Change::Kick, "bob", Some("spam")));
        assert!(k.contains("nick='bob'") && k.contains("role='none'"), "{k}");
        assert!(k.contains("<reason>spam</reason>"), "{k}");
        let b = xml(admin("2", &room, Change::Ban, "bob@x", None));
        assert!(
            b.contains("jid='bob@x'") && b.contains("affiliation='outcast'"),
            "{b}"
        );
        assert!(!b.contains("reason"), "{b}");
        let d = xml(destroy("3", &room, Some("done")));
        assert!(d.contains("destroy") && d.contains("done"), "{d}");
    }

    #[test]
    fn a_configuration_answers_the_rooms_form_and_says_what_it_lacks() {
        let room = BareJid::new("r@rooms.x").unwrap();
        let form: Element = "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='form'>\
            <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
            <field var='muc#roomconfig_roomname'/><field var='muc#roomconfig_membersonly'/>\
            <field var='muc#roomconfig_persistentroom'/><field var='muc#roomconfig_publicroom'/>\
            <field var='muc#roomconfig_passwordprotectedroom'/><field var='muc#roomconfig_whois'/>\
            </x></query>"
            .parse()
            .unwrap();
        let cfg = RoomConfig {
            name: Some("Secret".into()),
            members_only: true,
            persistent: true,
            ..Default::default()
        };
        let s = xml(config_submit("1", &room, &form, &cfg).unwrap());
        assert!(s.contains("type='submit'"), "{s}");
        assert!(
            s.contains("muc#roomconfig_membersonly'><value>1</value>"),
            "{s}"
        );
        assert!(s.contains("<value>Secret</value>"), "{s}");
        assert!(s.contains("<value>anyone</value>"), "{s}");
        let with_password = RoomConfig {
            password: Some("pw".into()),
            ..Default::default()
        };
        let e = config_submit("2", &room, &form, &with_password).unwrap_err();
        assert!(e.contains("roomsecret"), "{e}");
        let none: Element = "<query xmlns='http://jabber.org/protocol/muc#owner'/>"
            .parse()
            .unwrap();
        assert!(config_submit("3", &room, &none, &cfg).is_err());
    }

    #[test]
    fn invitations_through_the_room_and_declines() {
        let m = |x: &str| {
            let el: Element = format!(
                "<message xmlns='jabber:client' from='r@rooms.x' to='bob@x'><x xmlns='http://jabber.org/protocol/muc#user'>{x}</x></message>"
            )
            .parse()
            .unwrap();
            Message::try_from(el).unwrap()
        };
        let inv = mediated(&m(
            "<invite from='alice@x/pc'><reason>join us</reason></invite><password>pw</password>",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(inv.room.as_str(), "r@rooms.x");
        assert_eq!(inv.from, "alice@x/pc");
        assert_eq!(inv.reason.as_deref(), Some("join us"));
        assert_eq!(inv.password.as_deref(), Some("pw"));
        let d = mediated(&m("<decline from='carol@x'/>"))
            .unwrap()
            .unwrap_err();
        assert_eq!(d, ("carol@x".to_string(), None));
        assert!(mediated(&m("<invite/>")).is_none(), "no inviter: nothing");
        let s = xml(invite(
            &BareJid::new("r@rooms.x").unwrap(),
            &BareJid::new("bob@x").unwrap(),
            Some("hi"),
        ));
        assert!(
            s.contains("to='bob@x'") && s.contains("<reason>hi</reason>"),
            "{s}"
        );
    }

    #[test]
    fn a_room_list_and_a_rooms_features() {
        let q: Element = "<query xmlns='http://jabber.org/protocol/disco#items'>\
            <item jid='a@rooms.x' name='A'/><item jid='@@bad'/><item jid='b@rooms.x'/></query>"
            .parse()
            .unwrap();
        let l = parse_list(&q);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].name.as_deref(), Some("A"));
        let info = room_info(
            &[crate::xmpp::caps::Identity {
                category: "conference".into(),
                type_: "text".into(),
                lang: String::new(),
                name: "Team".into(),
            }],
            &["muc_membersonly".into(), "muc_persistent".into()],
        );
        assert!(info.members_only && info.persistent && !info.public);
        assert_eq!(info.name.as_deref(), Some("Team"));
    }
}
