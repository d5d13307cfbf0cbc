//! Jingle contents ↔ the media crate's typed `SessionDescription`, in one place.
//!
//! Banter bundles (one ICE transport for all contents, like Conversations) with every
//! peer that can. A peer without a BUNDLE group (Dino) and a single content is treated
//! as a one-entry bundle. Unbundled audio and video (Dino's video call: one transport
//! per content) become a description whose video content carries its own transport
//! (`Content::transport`), which the media engine puts on a connection of its own.
//!
//! Contents added during a call (content-add / content-accept) are merged into the
//! description already agreed. In a bundle they keep the transport; a content that
//! comes outside any group with an ICE transport of its own (Dino's camera turned on)
//! keeps that one.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use banter_media::description::{
    Content as MediaContent, Direction, Fingerprint, MediaKind, OwnTransport, SessionDescription,
    Setup,
};

use super::grouping::Group;
use super::ice_udp::Transport;
use super::rtp::Description;
use super::{Content, Jingle};

/// A content's `senders` as the direction of the description's author.
pub fn senders_to_direction(senders: &str, author_is_initiator: bool) -> Direction {
    match (senders, author_is_initiator) {
        ("initiator", true) | ("responder", false) => Direction::SendOnly,
        ("initiator", false) | ("responder", true) => Direction::RecvOnly,
        ("none", _) => Direction::Inactive,
        _ => Direction::SendRecv,
    }
}

/// The reverse: the author's direction as `senders`.
fn direction_to_senders(d: Direction, author_is_initiator: bool) -> &'static str {
    let (me, other) = if author_is_initiator {
        ("initiator", "responder")
    } else {
        ("responder", "initiator")
    };
    match d {
        Direction::SendRecv => "both",
        Direction::SendOnly => me,
        Direction::RecvOnly => other,
        Direction::Inactive => "none",
    }
}

/// Our description as Jingle contents (candidates travel separately, by trickle).
/// Contents with a transport of their own say so in their transport, and then there
/// is no BUNDLE group. `senders` follows each content's direction (an answer to a
/// one-way video, as Dino adds it, says so).
pub fn to_jingle(
    desc: &SessionDescription,
    creator: &str,
    we_initiated: bool,
) -> (Vec<Content>, Option<Group>) {
    let contents = desc
        .contents
        .iter()
        .map(|c| Content {
            creator: creator.to_string(),
            name: c.name.clone(),
            senders: direction_to_senders(c.direction, we_initiated).into(),
            description: Some(Description {
                media: c.kind,
                codecs: c.codecs.clone(),
                header_extensions: c.header_extensions.clone(),
                sources: c.ssrcs.clone(),
                source_groups: c.ssrc_groups.clone(),
                rtcp_mux: true,
            }),
            transport: Some(match &c.transport {
                Some(own) => Transport {
                    ufrag: Some(own.ice_ufrag.clone()),
                    pwd: Some(own.ice_pwd.clone()),
                    fingerprint: Some((own.fingerprint.clone(), own.setup)),
                    candidates: Vec::new(),
                },
                None => Transport {
                    ufrag: Some(desc.ice_ufrag.clone()),
                    pwd: Some(desc.ice_pwd.clone()),
                    fingerprint: Some((desc.fingerprint.clone(), desc.setup)),
                    candidates: Vec::new(),
                },
            }),
        })
        .collect();
    if desc.unbundled() {
        return (contents, None);
    }
    let names = desc.contents.iter().map(|c| c.name.clone()).collect();
    (contents, Some(Group::bundle(names)))
}

/// A content's ICE-UDP transport as a transport of its own.
fn own_transport(
    c: &Content,
    fallback_fingerprint: Option<&(Fingerprint, Setup)>,
) -> Result<OwnTransport, String> {
    let t = c
        .transport
        .as_ref()
        .ok_or_else(|| format!("content '{}' has no ICE-UDP transport", c.name))?;
    let (fingerprint, setup) = t
        .fingerprint
        .clone()
        .or_else(|| fallback_fingerprint.cloned())
        .ok_or("no DTLS fingerprint: DTLS-SRTP is required")?;
    Ok(OwnTransport {
        ice_ufrag: t.ufrag.clone().ok_or("transport without ufrag")?,
        ice_pwd: t.pwd.clone().ok_or("transport without pwd")?,
        fingerprint,
        setup,
        candidates: t
            .candidates
            .iter()
            .take(MAX_REMOTE_CANDIDATES)
            .cloned()
            .collect(),
    })
}

/// One Jingle content as a media content (direction from the author's point of view).
fn media_content(c: &Content, author_is_initiator: bool) -> Result<MediaContent, String> {
    let Some(d) = &c.description else {
        return Err(format!("content '{}' has no RTP description", c.name));
    };
    Ok(MediaContent {
        name: c.name.clone(),
        kind: d.media,
        codecs: d.codecs.clone(),
        header_extensions: d.header_extensions.clone(),
        ssrcs: d.sources.clone(),
        ssrc_groups: d.source_groups.clone(),
        rtcp_mux: d.rtcp_mux,
        direction: senders_to_direction(&c.senders, author_is_initiator),
        transport: None,
    })
}

/// The peer's description after a content-add (or content-accept) from it: what was
/// agreed before plus the new contents, in the bundle the request names.
pub fn with_added(
    base: &SessionDescription,
    jingle: &Jingle,
    author_is_initiator: bool,
) -> Result<SessionDescription, String> {
    let mut d = base.clone();
    d.candidates.clear();
    let group = jingle.group.as_ref().filter(|g| g.semantics == "BUNDLE");
    for c in &jingle.contents {
        let mut mc = media_content(c, author_is_initiator)?;
        // Outside any bundle, with ICE credentials of its own: its own transport.
        let in_group = group.is_some_and(|g| g.contents.contains(&c.name));
        let ufrag = c.transport.as_ref().and_then(|t| t.ufrag.as_deref());
        if !in_group && ufrag.is_some_and(|u| u != d.ice_ufrag) {
            mc.transport = Some(own_transport(c, Some(&(d.fingerprint.clone(), d.setup)))?);
        }
        match d.contents.iter_mut().find(|x| x.name == mc.name) {
            Some(existing) => *existing = mc,
            None => d.contents.push(mc),
        }
    }
    d.bundle = match group {
        Some(g) => g.contents.clone(),
        None => d
            .contents
            .iter()
            .filter(|c| c.transport.is_none())
            .map(|c| c.name.clone())
            .collect(),
    };
    d.check().map_err(|e| e.to_string())?;
    Ok(d)
}

/// The peer's description from a session-initiate (`author_is_initiator`) or
/// session-accept. Candidates in the transports are included. `fallback_fingerprint`
/// covers peers that send the fingerprint only in a transport-info.
pub fn from_jingle(
    jingle: &Jingle,
    fallback_fingerprint: Option<&(banter_media::description::Fingerprint, Setup)>,
    author_is_initiator: bool,
) -> Result<SessionDescription, String> {
    let mut contents = Vec::new();
    let mut transport: Option<&Transport> = None;
    let mut candidates = Vec::new();
    let bundled = matches!(&jingle.group, Some(g) if g.semantics == "BUNDLE");
    let of_kind = |kind: MediaKind| {
        jingle
            .contents
            .iter()
            .find(move |c| c.description.as_ref().is_some_and(|d| d.media == kind))
    };
    let (chosen, separate): (Vec<&Content>, Option<&Content>) =
        if bundled || jingle.contents.len() <= 1 {
            (jingle.contents.iter().collect(), None)
        } else {
            // Unbundled contents (Dino) each have their own ICE transport: the audio
            // content takes the main one, the video keeps its own (a connection of its
            // own in the media engine). Further contents are left out of our answer.
            (
                of_kind(MediaKind::Audio).into_iter().collect(),
                of_kind(MediaKind::Video),
            )
        };
    for c in chosen {
        let mc = media_content(c, author_is_initiator)?;
        let t = c
            .transport
            .as_ref()
            .ok_or_else(|| format!("content '{}' has no ICE-UDP transport", c.name))?;
        if transport.is_none() {
            transport = Some(t);
            candidates.extend(t.candidates.iter().cloned());
        }
        contents.push(mc);
    }
    let t = transport.ok_or("no contents")?;
    let (fingerprint, setup) = t
        .fingerprint
        .clone()
        .or_else(|| fallback_fingerprint.cloned())
        .ok_or("no DTLS fingerprint: DTLS-SRTP is required")?;
    let bundle = match &jingle.group {
        Some(g) if g.semantics == "BUNDLE" => g.contents.clone(),
        _ => contents.iter().map(|c| c.name.clone()).collect(),
    };
    if let Some(c) = separate {
        let mut mc = media_content(c, author_is_initiator)?;
        mc.transport = Some(own_transport(c, fallback_fingerprint)?);
        contents.push(mc);
    }
    // A peer could otherwise flood the connectivity checks from the description.
    candidates.truncate(MAX_REMOTE_CANDIDATES);
    let desc = SessionDescription {
        ice_ufrag: t.ufrag.clone().ok_or("transport without ufrag")?,
        ice_pwd: t.pwd.clone().ok_or("transport without pwd")?,
        fingerprint,
        setup,
        bundle,
        contents,
        candidates,
    };
    // Every value from the peer must fit its SDP field (no line breaks, no spaces):
    // otherwise the peer could write SDP lines of its own.
    desc.check().map_err(|e| e.to_string())?;
    Ok(desc)
}

/// Remote candidates taken per call and transport; RFC 8445 §6.1.2.5 asks for a limit
/// on the checklist. Browsers gather a handful per interface; 32 leaves room for
/// multi-homed peers with relays.
pub const MAX_REMOTE_CANDIDATES: usize = 32;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use minidom::Element;
    use std::str::FromStr;

    /// A session-initiate shaped like Conversations' (BUNDLE, rtcp-mux, hdrext, ssrc,
    /// rtcp-fb inside the payload type, no candidates: they trickle).
    const CONVERSATIONS: &str = "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='a73sjjvkla37jfea' initiator='romeo@montague.example/orchard'>\
      <content creator='initiator' name='0'>\
        <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\
          <payload-type id='111' name='opus' clockrate='48000' channels='2'>\
            <parameter name='minptime' value='10'/><parameter name='useinbandfec' value='1'/>\
            <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='transport-cc'/>\
          </payload-type>\
          <payload-type id='0' name='PCMU' clockrate='8000'/>\
          <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' uri='urn:ietf:params:rtp-hdrext:ssrc-audio-level'/>\
          <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='3209418419'>\
            <parameter name='cname' value='xH0+HKH4XSaJ2PgV'/><parameter name='msid' value='my-media-stream my-audio-track'/>\
          </source>\
          <rtcp-mux/>\
        </description>\
        <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'>\
          <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2</fingerprint>\
        </transport>\
      </content>\
      <group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'><content name='0'/></group>\
    </jingle>";

    /// Dino: no group, rtcp-fb at description level, candidates inside, one content.
    const DINO: &str = "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s2' initiator='juliet@capulet.example/balcony'>\
      <content creator='initiator' name='audio' senders='both'>\
        <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\
          <payload-type id='111' name='opus' clockrate='48000' channels='2'><parameter name='useinbandfec' value='1'/></payload-type>\
          <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/>\
          <rtcp-mux/>\
        </description>\
        <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='Dino' pwd='dinodinodinodinodinodino'>\
          <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>aa:bb</fingerprint>\
          <candidate component='1' foundation='1' generation='0' id='c1' ip='192.0.2.10' network='0' port='40000' priority='2130706431' protocol='udp' type='host'/>\
        </transport>\
      </content>\
    </jingle>";

    #[test]
    fn conversations_offer_maps_and_round_trips() {
        let j = Jingle::parse(&Element::from_str(CONVERSATIONS).unwrap()).unwrap();
        let d = from_jingle(&j, None, true).unwrap();
        assert_eq!(d.bundle, ["0"]);
        assert_eq!(d.setup, Setup::ActPass);
        let c = &d.contents[0];
        assert_eq!(c.codecs[0].name, "opus");
        assert_eq!(c.codecs[0].fmtp.len(), 2);
        assert_eq!(c.codecs[0].rtcp_fb[0].kind, "transport-cc");
        assert_eq!(c.ssrcs[0].id, 3209418419);
        assert_eq!(c.header_extensions[0].id, 1);
        // Back to Jingle and again to a description: nothing lost.
        let (contents, group) = to_jingle(&d, "initiator", true);
        let mut j2 = Jingle::new(super::super::Action::SessionInitiate, "x");
        j2.contents = contents;
        j2.group = group;
        let reparsed = Jingle::parse(&j2.to_element()).unwrap();
        let d2 = from_jingle(&reparsed, None, true).unwrap();
        assert_eq!(d2.contents, d.contents);
        assert_eq!(d2.fingerprint, d.fingerprint);
        // And the SDP the media engine gets is valid for it.
        let sdp = d.to_sdp();
        assert!(sdp.contains("a=group:BUNDLE 0"));
        assert!(sdp.contains("a=rtpmap:111 opus/48000/2"));
        assert!(sdp.contains("a=fmtp:111 minptime=10;useinbandfec=1"));
    }

    /// Issue #12, item 2: a value with CR LF (`&#13;&#10;` survives XML attribute
    /// normalisation) would add SDP lines of the peer's choosing. Every field the
    /// peer writes is refused when it does not fit its SDP field.
    #[test]
    fn values_that_would_inject_sdp_lines_are_refused() {
        let inject = "&#13;&#10;a=candidate:9 1 udp 1 203.0.113.9 9 typ host";
        let cases = [
            ("ufrag='8hhy'", format!("ufrag='8hhy{inject}'")),
            (
                "pwd='asd88fgpdd777uzjYhagZg'",
                format!("pwd='asd88fgpdd777uzjYhagZg{inject}'"),
            ),
            ("name='0'>", format!("name='0{inject}'>")),
            (
                "<content name='0'/>",
                format!("<content name='0{inject}'/>"),
            ),
            ("name='opus'", format!("name='opus{inject}'")),
            ("value='10'", format!("value='10{inject}'")),
            ("name='minptime'", "name='min;ptime'".to_string()),
            (
                "type='transport-cc'",
                format!("type='transport-cc{inject}'"),
            ),
            (
                "uri='urn:ietf:params:rtp-hdrext:ssrc-audio-level'",
                format!("uri='urn:x{inject}'"),
            ),
            ("value='xH0+HKH4XSaJ2PgV'", format!("value='xH0{inject}'")),
            ("hash='sha-256'", format!("hash='sha-256{inject}'")),
        ];
        for (from, to) in cases {
            assert!(CONVERSATIONS.contains(from), "{from}");
            let xml = CONVERSATIONS.replacen(from, &to, 1);
            let j = Jingle::parse(&Element::from_str(&xml).unwrap()).unwrap();
            let err = from_jingle(&j, None, true).expect_err(&to);
            assert!(err.contains("not a valid SDP value"), "{err}");
        }
        // A candidate in the description, too.
        let xml = DINO.replacen("foundation='1'", &format!("foundation='1{inject}'"), 1);
        let j = Jingle::parse(&Element::from_str(&xml).unwrap()).unwrap();
        assert!(from_jingle(&j, None, true).is_err());
        // The untouched offers pass.
        for ok in [CONVERSATIONS, DINO] {
            let j = Jingle::parse(&Element::from_str(ok).unwrap()).unwrap();
            assert!(from_jingle(&j, None, true).is_ok());
        }
    }

    #[test]
    fn dino_offer_without_group_becomes_one_bundle() {
        let j = Jingle::parse(&Element::from_str(DINO).unwrap()).unwrap();
        let d = from_jingle(&j, None, true).unwrap();
        assert_eq!(d.bundle, ["audio"]);
        assert_eq!(d.candidates.len(), 1);
        // Description-level rtcp-fb applies to the payload type.
        assert_eq!(d.contents[0].codecs[0].rtcp_fb[0].kind, "nack");
        assert_eq!(d.fingerprint.value, "AA:BB");
    }

    /// Dino's video content: its own transport, candidates inside.
    fn dino_video_content() -> String {
        let video = DINO
            .replace("name='audio'", "name='video'")
            .replace("media='audio'", "media='video'")
            .replace(
                "id='111' name='opus' clockrate='48000' channels='2'",
                "id='98' name='VP8' clockrate='90000'",
            )
            .replace("ufrag='Dino'", "ufrag='DinoV'")
            .replace(">aa:bb<", ">cc:dd<")
            .replace("port='40000'", "port='40002'");
        let start = video.find("<content").unwrap();
        let end = video.rfind("</content>").unwrap() + "</content>".len();
        video[start..end].to_string()
    }

    /// Dino's video call: audio and video contents without a group, one transport
    /// each. The video keeps its transport; our answer has no group either.
    #[test]
    fn unbundled_audio_and_video_keep_a_transport_each() {
        let both = DINO.replace("</content>", &format!("</content>{}", dino_video_content()));
        let j = Jingle::parse(&Element::from_str(&both).unwrap()).unwrap();
        assert_eq!(j.contents.len(), 2);
        let d = from_jingle(&j, None, true).unwrap();
        assert_eq!(d.contents.len(), 2);
        assert!(d.unbundled());
        assert_eq!(d.contents[0].kind, MediaKind::Audio);
        assert_eq!(d.contents[0].transport, None);
        assert_eq!(d.bundle, ["audio"]);
        assert_eq!((d.ice_ufrag.as_str(), d.candidates.len()), ("Dino", 1));
        let own = d.contents[1].transport.as_ref().unwrap();
        assert_eq!(d.contents[1].kind, MediaKind::Video);
        assert_eq!(own.ice_ufrag, "DinoV");
        assert_eq!(own.fingerprint.value, "CC:DD");
        assert_eq!(own.candidates[0].port, 40002);
        // What the two connections get.
        let (main, video) = d.split();
        assert_eq!(main.contents.len(), 1);
        let video = video.unwrap();
        assert_eq!(
            (video.ice_ufrag.as_str(), video.candidates.len()),
            ("DinoV", 1)
        );
        // Our unbundled answer goes out as two transports and no group.
        let (contents, group) = to_jingle(&d, "initiator", true);
        assert!(group.is_none());
        let t: Vec<_> = contents
            .iter()
            .map(|c| c.transport.as_ref().unwrap().ufrag.clone().unwrap())
            .collect();
        assert_eq!(t, ["Dino", "DinoV"]);
    }

    /// Dino turns its camera on in an audio call: content-add with a full transport of
    /// its own and no group.
    #[test]
    fn content_add_with_its_own_transport_keeps_it() {
        let j = Jingle::parse(&Element::from_str(DINO).unwrap()).unwrap();
        let base = from_jingle(&j, None, true).unwrap();
        let add = format!(
            "<jingle xmlns='urn:xmpp:jingle:1' action='content-add' sid='s2'>{}</jingle>",
            dino_video_content()
        );
        let add = Jingle::parse(&Element::from_str(&add).unwrap()).unwrap();
        let d = with_added(&base, &add, true).unwrap();
        assert_eq!(d.contents.len(), 2);
        assert_eq!(d.contents[0].transport, None);
        assert_eq!(d.contents[1].transport.as_ref().unwrap().ice_ufrag, "DinoV");
        assert_eq!(d.bundle, ["audio"]);
        // Dino's camera turned on is one-way: senders is its own role. As initiator
        // it sends only; our answer receives only, and says so.
        let mut one_way = add.clone();
        one_way.contents[0].senders = "initiator".into();
        assert_eq!(one_way.contents[0].senders, "initiator");
        let d = with_added(&base, &one_way, true).unwrap();
        assert_eq!(d.contents[1].direction, Direction::SendOnly);
        let mut answer = d.clone();
        answer.contents[1].direction = Direction::RecvOnly;
        let (contents, _) = to_jingle(&answer, "initiator", false);
        assert_eq!(contents[1].senders, "initiator");
        assert_eq!(contents[0].senders, "both");
        // The same from a responder: it is the responder that sends.
        let d = with_added(&base, &one_way, false).unwrap();
        assert_eq!(d.contents[1].direction, Direction::RecvOnly);
        // The same content inside a BUNDLE group (Conversations) rides the bundle.
        let mut grouped = add.clone();
        grouped.group = Some(Group::bundle(vec!["audio".into(), "video".into()]));
        let d = with_added(&base, &grouped, true).unwrap();
        assert!(!d.unbundled());
        assert_eq!(d.bundle, ["audio", "video"]);
    }

    #[test]
    fn fingerprint_may_come_from_transport_info() {
        let no_fp = CONVERSATIONS.replace(
            "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2</fingerprint>",
            "",
        );
        let j = Jingle::parse(&Element::from_str(&no_fp).unwrap()).unwrap();
        assert!(from_jingle(&j, None, true).is_err());
        let fp = (
            banter_media::description::Fingerprint {
                hash: "sha-256".into(),
                value: "AA".into(),
            },
            Setup::Active,
        );
        assert_eq!(
            from_jingle(&j, Some(&fp), true).unwrap().setup,
            Setup::Active
        );
    }
}
