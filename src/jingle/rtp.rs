//! XEP-0167 Jingle RTP Sessions: the `<description/>` (with XEP-0293 rtcp-fb, XEP-0294
//! header extensions and XEP-0339 sources) and the session-info messages (ringing,
//! active, hold, mute…).
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;

use banter_media::description::{Codec, HeaderExtension, MediaKind, RtcpFb, Ssrc, SsrcGroup};

use super::limits;
use crate::xmpp::Attr;

pub const NS: &str = "urn:xmpp:jingle:apps:rtp:1";
pub const NS_INFO: &str = "urn:xmpp:jingle:apps:rtp:info:1";
pub const NS_RTCP_FB: &str = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0";
pub const NS_HDREXT: &str = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0";
pub const NS_SSMA: &str = "urn:xmpp:jingle:apps:rtp:ssma:0";

#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub media: MediaKind,
    pub codecs: Vec<Codec>,
    pub header_extensions: Vec<HeaderExtension>,
    pub sources: Vec<Ssrc>,
    /// XEP-0339 `<ssrc-group>`s (libwebrtc's FID: media SSRC + its RTX SSRC).
    pub source_groups: Vec<SsrcGroup>,
    pub rtcp_mux: bool,
}

fn parse_fb(el: &Element) -> Option<RtcpFb> {
    if !el.is("rtcp-fb", NS_RTCP_FB) {
        return None;
    }
    Some(RtcpFb {
        kind: el.attr("type")?.to_string(),
        subtype: el.attr("subtype").map(str::to_string),
    })
}

fn fb_element(fb: &RtcpFb) -> Element {
    let mut b = Element::builder("rtcp-fb", NS_RTCP_FB).a("type", fb.kind.as_str());
    if let Some(s) = &fb.subtype {
        b = b.a("subtype", s.as_str());
    }
    b.build()
}

impl Description {
    pub fn parse(el: &Element) -> Option<Description> {
        let media = match el.attr("media")? {
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            _ => return None,
        };
        // Description-level rtcp-fb applies to every payload type (XEP-0293 §3).
        let shared_fb: Vec<RtcpFb> = el
            .children()
            .filter_map(parse_fb)
            .take(limits::FEEDBACK)
            .collect();
        let codecs = el
            .children()
            .filter(|c| c.name() == "payload-type")
            .filter_map(|pt| {
                let mut rtcp_fb: Vec<RtcpFb> = pt
                    .children()
                    .filter_map(parse_fb)
                    .take(limits::FEEDBACK)
                    .collect();
                rtcp_fb.extend(shared_fb.iter().cloned());
                Some(Codec {
                    payload_type: pt.attr("id")?.parse().ok()?,
                    name: pt.attr("name").unwrap_or("").to_string(),
                    clock_rate: pt
                        .attr("clockrate")
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(0),
                    channels: pt
                        .attr("channels")
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                    fmtp: pt
                        .children()
                        .filter(|p| p.name() == "parameter")
                        // RED's "111/111" has no value (StanzaJS writes no attribute).
                        .filter_map(|p| {
                            Some((
                                p.attr("name")?.to_string(),
                                p.attr("value").unwrap_or("").to_string(),
                            ))
                        })
                        .take(limits::PARAMETERS)
                        .collect(),
                    rtcp_fb,
                })
            })
            .take(limits::CODECS)
            .collect();
        Some(Description {
            media,
            codecs,
            header_extensions: el
                .children()
                .filter(|c| c.is("rtp-hdrext", NS_HDREXT))
                .filter_map(|h| {
                    Some(HeaderExtension {
                        id: h.attr("id")?.parse().ok()?,
                        uri: h.attr("uri")?.to_string(),
                    })
                })
                .take(limits::HEADER_EXTENSIONS)
                .collect(),
            sources: el
                .children()
                .filter(|c| c.is("source", NS_SSMA))
                .filter_map(|s| {
                    Some(Ssrc {
                        id: s.attr("ssrc")?.parse().ok()?,
                        params: s
                            .children()
                            .filter(|p| p.name() == "parameter")
                            .filter_map(|p| {
                                Some((
                                    p.attr("name")?.to_string(),
                                    p.attr("value").unwrap_or("").to_string(),
                                ))
                            })
                            .take(limits::PARAMETERS)
                            .collect(),
                    })
                })
                .take(limits::SOURCES)
                .collect(),
            source_groups: el
                .children()
                .filter(|c| c.is("ssrc-group", NS_SSMA))
                .filter_map(|g| {
                    Some(SsrcGroup {
                        semantics: g.attr("semantics")?.to_string(),
                        ssrcs: g
                            .children()
                            .filter(|s| s.name() == "source")
                            .filter_map(|s| s.attr("ssrc")?.parse().ok())
                            .take(limits::SOURCES)
                            .collect(),
                    })
                })
                .take(limits::SOURCE_GROUPS)
                .collect(),
            rtcp_mux: el.children().any(|c| c.name() == "rtcp-mux"),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut b = Element::builder("description", NS).a("media", self.media.as_str());
        for c in &self.codecs {
            let mut pt = Element::builder("payload-type", NS)
                .a("id", c.payload_type.to_string())
                .a("name", c.name.as_str())
                .a("clockrate", c.clock_rate.to_string());
            if c.channels > 1 {
                pt = pt.a("channels", c.channels.to_string());
            }
            for (k, v) in &c.fmtp {
                pt = pt.append(
                    Element::builder("parameter", NS)
                        .a("name", k.as_str())
                        .a("value", v.as_str())
                        .build(),
                );
            }
            for fb in &c.rtcp_fb {
                pt = pt.append(fb_element(fb));
            }
            b = b.append(pt.build());
        }
        for h in &self.header_extensions {
            b = b.append(
                Element::builder("rtp-hdrext", NS_HDREXT)
                    .a("id", h.id.to_string())
                    .a("uri", h.uri.as_str())
                    .build(),
            );
        }
        for s in &self.sources {
            let mut src = Element::builder("source", NS_SSMA).a("ssrc", s.id.to_string());
            for (k, v) in &s.params {
                src = src.append(
                    Element::builder("parameter", NS_SSMA)
                        .a("name", k.as_str())
                        .a("value", v.as_str())
                        .build(),
                );
            }
            b = b.append(src.build());
        }
        for g in &self.source_groups {
            let mut group =
                Element::builder("ssrc-group", NS_SSMA).a("semantics", g.semantics.as_str());
            for id in &g.ssrcs {
                group = group.append(
                    Element::builder("source", NS_SSMA)
                        .a("ssrc", id.to_string())
                        .build(),
                );
            }
            b = b.append(group.build());
        }
        if self.rtcp_mux {
            b = b.append(Element::builder("rtcp-mux", NS).build());
        }
        b.build()
    }
}

/// XEP-0167 §7 informational messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Info {
    Active,
    Ringing,
    Hold,
    Unhold,
    Mute(Option<String>),
    Unmute(Option<String>),
}

impl Info {
    pub fn parse(el: &Element) -> Option<Info> {
        if el.ns() != NS_INFO {
            return None;
        }
        let name = || el.attr("name").map(str::to_string);
        Some(match el.name() {
            "active" => Info::Active,
            "ringing" => Info::Ringing,
            "hold" => Info::Hold,
            "unhold" => Info::Unhold,
            "mute" => Info::Mute(name()),
            "unmute" => Info::Unmute(name()),
            _ => return None,
        })
    }

    pub fn to_element(&self) -> Element {
        let (n, content) = match self {
            Info::Active => ("active", None),
            Info::Ringing => ("ringing", None),
            Info::Hold => ("hold", None),
            Info::Unhold => ("unhold", None),
            Info::Mute(c) => ("mute", c.as_deref()),
            Info::Unmute(c) => ("unmute", c.as_deref()),
        };
        let mut b = Element::builder(n, NS_INFO);
        if let Some(c) = content {
            b = b.a("creator", "initiator").a("name", c);
        }
        b.build()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// Description-level feedback applies to every codec: 3 000 of each used to make
    /// nine million copies (gigabytes) from one stanza. What is kept is bounded.
    #[test]
    fn a_huge_description_is_cut_to_the_limits() {
        let mut x = String::from("<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>");
        for i in 0..3_000 {
            x.push_str(&format!(
                "<payload-type id='{}' name='opus' clockrate='48000'><parameter name='a' value='b'/></payload-type>",
                i % 128
            ));
            x.push_str("<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/>");
            x.push_str("<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1'/>");
        }
        x.push_str("</description>");
        let el = Element::from_str(&x).unwrap();
        let d = Description::parse(&el).unwrap();
        assert_eq!(d.codecs.len(), limits::CODECS);
        assert!(d
            .codecs
            .iter()
            .all(|c| c.rtcp_fb.len() <= 2 * limits::FEEDBACK));
        assert_eq!(d.sources.len(), limits::SOURCES);
    }

    /// Chromium's video description as StanzaJS sends it: two sources (media and RTX)
    /// tied by an FID group, which reaches the SDP for the media engine and survives a
    /// round trip through XML.
    #[test]
    fn ssrc_group_parses_and_round_trips() {
        let xml = "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video' ssrc='1'>\
            <payload-type id='96' name='VP8' clockrate='90000'/>\
            <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='2925762751'><parameter name='cname' value='c'/></source>\
            <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='3669837640'><parameter name='cname' value='c'/></source>\
            <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'>\
              <source ssrc='2925762751'/><source ssrc='3669837640'/></ssrc-group>\
          </description>";
        let d = Description::parse(&Element::from_str(xml).unwrap()).unwrap();
        assert_eq!(d.sources.len(), 2);
        assert_eq!(
            d.source_groups,
            [SsrcGroup {
                semantics: "FID".into(),
                ssrcs: vec![2925762751, 3669837640]
            }]
        );
        assert_eq!(Description::parse(&d.to_element()).unwrap(), d);
    }

    /// RED as StanzaJS writes Chromium's `a=fmtp:63 111/111`: a parameter with a name
    /// and no value. It is read as a value-less parameter and written back so.
    #[test]
    fn a_parameter_without_a_value_is_kept() {
        let xml = "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\
            <payload-type id='63' name='red' clockrate='48000' channels='2'>\
              <parameter name='111/111'/></payload-type>\
          </description>";
        let d = Description::parse(&Element::from_str(xml).unwrap()).unwrap();
        assert_eq!(d.codecs[0].fmtp, [("111/111".to_string(), String::new())]);
        assert_eq!(Description::parse(&d.to_element()).unwrap(), d);
    }
}
