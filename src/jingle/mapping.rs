//! Jingle contents ↔ the media crate's typed `SessionDescription`, in one place.
//!
//! Banter always bundles (one ICE transport for all contents, like Conversations). A
//! peer without a BUNDLE group (Dino) and a single content is treated as a one-entry
//! bundle; several unbundled contents would need one transport each (not yet).
//!
//! Contents added during a call (content-add / content-accept) are merged into the
//! description already agreed, which keeps the transport: the new content rides the
//! bundle.

use banter_media::description::{
    Content as MediaContent, Direction, MediaKind, SessionDescription, Setup,
};

use super::grouping::Group;
use super::ice_udp::Transport;
use super::rtp::Description;
use super::{Content, Jingle};

fn senders_to_direction(senders: &str, we_initiated: bool) -> Direction {
    // From the point of view of the description's author.
    match (senders, we_initiated) {
        ("initiator", true) | ("responder", false) => Direction::SendOnly,
        ("initiator", false) | ("responder", true) => Direction::RecvOnly,
        ("none", _) => Direction::Inactive,
        _ => Direction::SendRecv,
    }
}

/// Our description as Jingle contents (candidates travel separately, by trickle).
pub fn to_jingle(desc: &SessionDescription, creator: &str) -> (Vec<Content>, Option<Group>) {
    let contents = desc
        .contents
        .iter()
        .map(|c| Content {
            creator: creator.to_string(),
            name: c.name.clone(),
            senders: "both".into(),
            description: Some(Description {
                media: c.kind,
                codecs: c.codecs.clone(),
                header_extensions: c.header_extensions.clone(),
                sources: c.ssrcs.clone(),
                source_groups: c.ssrc_groups.clone(),
                rtcp_mux: true,
            }),
            transport: Some(Transport {
                ufrag: Some(desc.ice_ufrag.clone()),
                pwd: Some(desc.ice_pwd.clone()),
                fingerprint: Some((desc.fingerprint.clone(), desc.setup)),
                candidates: Vec::new(),
            }),
        })
        .collect();
    let names = desc.contents.iter().map(|c| c.name.clone()).collect();
    (contents, Some(Group::bundle(names)))
}

/// One Jingle content as a media content (direction from the author's point of view).
fn media_content(c: &Content) -> Result<MediaContent, String> {
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
        direction: senders_to_direction(&c.senders, false),
    })
}

/// The peer's description after a content-add (or content-accept) from it: what was
/// agreed before plus the new contents, in the bundle the request names.
pub fn with_added(
    base: &SessionDescription,
    jingle: &Jingle,
) -> Result<SessionDescription, String> {
    let mut d = base.clone();
    d.candidates.clear();
    for c in &jingle.contents {
        let mc = media_content(c)?;
        match d.contents.iter_mut().find(|x| x.name == mc.name) {
            Some(existing) => *existing = mc,
            None => d.contents.push(mc),
        }
    }
    d.bundle = match &jingle.group {
        Some(g) if g.semantics == "BUNDLE" => g.contents.clone(),
        _ => d.contents.iter().map(|c| c.name.clone()).collect(),
    };
    Ok(d)
}

/// The peer's description from a session-initiate or session-accept. Candidates in the
/// transports are included. `fallback_fingerprint` covers peers that send the
/// fingerprint only in a transport-info.
pub fn from_jingle(
    jingle: &Jingle,
    fallback_fingerprint: Option<&(banter_media::description::Fingerprint, Setup)>,
) -> Result<SessionDescription, String> {
    let mut contents = Vec::new();
    let mut transport: Option<&Transport> = None;
    let mut candidates = Vec::new();
    let bundled = matches!(&jingle.group, Some(g) if g.semantics == "BUNDLE");
    let chosen: Vec<&Content> = if bundled || jingle.contents.len() <= 1 {
        jingle.contents.iter().collect()
    } else {
        // Unbundled contents (Dino) each have their own ICE transport, and a webrtc-rs
        // connection has one: the audio content only, so the call works as an audio
        // call; the others are left out of our answer.
        let audio = jingle.contents.iter().find(|c| {
            c.description
                .as_ref()
                .is_some_and(|d| d.media == MediaKind::Audio)
        });
        audio.into_iter().collect()
    };
    for c in chosen {
        let mc = media_content(c)?;
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
    Ok(SessionDescription {
        ice_ufrag: t.ufrag.clone().ok_or("transport without ufrag")?,
        ice_pwd: t.pwd.clone().ok_or("transport without pwd")?,
        fingerprint,
        setup,
        bundle,
        contents,
        candidates,
    })
}

#[cfg(test)]
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
        let d = from_jingle(&j, None).unwrap();
        assert_eq!(d.bundle, ["0"]);
        assert_eq!(d.setup, Setup::ActPass);
        let c = &d.contents[0];
        assert_eq!(c.codecs[0].name, "opus");
        assert_eq!(c.codecs[0].fmtp.len(), 2);
        assert_eq!(c.codecs[0].rtcp_fb[0].kind, "transport-cc");
        assert_eq!(c.ssrcs[0].id, 3209418419);
        assert_eq!(c.header_extensions[0].id, 1);
        // Back to Jingle and again to a description: nothing lost.
        let (contents, group) = to_jingle(&d, "initiator");
        let mut j2 = Jingle::new(super::super::Action::SessionInitiate, "x");
        j2.contents = contents;
        j2.group = group;
        let reparsed = Jingle::parse(&j2.to_element()).unwrap();
        let d2 = from_jingle(&reparsed, None).unwrap();
        assert_eq!(d2.contents, d.contents);
        assert_eq!(d2.fingerprint, d.fingerprint);
        // And the SDP the media engine gets is valid for it.
        let sdp = d.to_sdp();
        assert!(sdp.contains("a=group:BUNDLE 0"));
        assert!(sdp.contains("a=rtpmap:111 opus/48000/2"));
        assert!(sdp.contains("a=fmtp:111 minptime=10;useinbandfec=1"));
    }

    #[test]
    fn dino_offer_without_group_becomes_one_bundle() {
        let j = Jingle::parse(&Element::from_str(DINO).unwrap()).unwrap();
        let d = from_jingle(&j, None).unwrap();
        assert_eq!(d.bundle, ["audio"]);
        assert_eq!(d.candidates.len(), 1);
        // Description-level rtcp-fb applies to the payload type.
        assert_eq!(d.contents[0].codecs[0].rtcp_fb[0].kind, "nack");
        assert_eq!(d.fingerprint.value, "AA:BB");
    }

    /// Dino's video call: audio and video contents without a group, one transport
    /// each. Taken as an audio call (one transport per connection here).
    #[test]
    fn unbundled_audio_and_video_become_an_audio_call() {
        let video = DINO
            .replace("name='audio'", "name='video'")
            .replace("media='audio'", "media='video'")
            .replace("ufrag='Dino'", "ufrag='DinoV'");
        let start = video.find("<content").unwrap();
        let end = video.rfind("</content>").unwrap() + "</content>".len();
        let both = DINO.replace("</content>", &format!("</content>{}", &video[start..end]));
        let j = Jingle::parse(&Element::from_str(&both).unwrap()).unwrap();
        assert_eq!(j.contents.len(), 2);
        let d = from_jingle(&j, None).unwrap();
        assert_eq!(d.contents.len(), 1);
        assert_eq!(d.contents[0].kind, MediaKind::Audio);
        assert_eq!(d.bundle, ["audio"]);
        assert_eq!(d.ice_ufrag, "Dino");
    }

    #[test]
    fn fingerprint_may_come_from_transport_info() {
        let no_fp = CONVERSATIONS.replace(
            "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2</fingerprint>",
            "",
        );
        let j = Jingle::parse(&Element::from_str(&no_fp).unwrap()).unwrap();
        assert!(from_jingle(&j, None).is_err());
        let fp = (
            banter_media::description::Fingerprint {
                hash: "sha-256".into(),
                value: "AA".into(),
            },
            Setup::Active,
        );
        assert_eq!(from_jingle(&j, Some(&fp)).unwrap().setup, Setup::Active);
    }
}
