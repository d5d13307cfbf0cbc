//! XEP-0176 Jingle ICE-UDP transport, with the XEP-0320 DTLS fingerprint inside it.
//! Candidates missing `id`, `generation` or `network` are accepted (several clients
//! leave them out).
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;

use banter_media::description::{Candidate, CandidateKind, Fingerprint, Setup};

use crate::xmpp::Attr;

pub const NS: &str = "urn:xmpp:jingle:transports:ice-udp:1";
pub const NS_DTLS: &str = "urn:xmpp:jingle:apps:dtls:0";

#[derive(Debug, Clone, PartialEq)]
pub struct Transport {
    pub ufrag: Option<String>,
    pub pwd: Option<String>,
    pub fingerprint: Option<(Fingerprint, Setup)>,
    pub candidates: Vec<Candidate>,
}

impl Transport {
    pub fn parse(el: &Element) -> Transport {
        let fingerprint = el.get_child("fingerprint", NS_DTLS).and_then(|f| {
            Some((
                Fingerprint {
                    hash: f.attr("hash")?.to_ascii_lowercase(),
                    value: f.text().trim().to_ascii_uppercase(),
                },
                f.attr("setup")
                    .and_then(Setup::parse)
                    .unwrap_or(Setup::ActPass),
            ))
        });
        Transport {
            ufrag: el.attr("ufrag").map(str::to_string),
            pwd: el.attr("pwd").map(str::to_string),
            fingerprint,
            candidates: el
                .children()
                .filter(|c| c.name() == "candidate")
                .filter_map(parse_candidate)
                .take(super::limits::CANDIDATES)
                .collect(),
        }
    }

    pub fn to_element(&self) -> Element {
        let mut b = Element::builder("transport", NS);
        if let Some(u) = &self.ufrag {
            b = b.a("ufrag", u.as_str());
        }
        if let Some(p) = &self.pwd {
            b = b.a("pwd", p.as_str());
        }
        if let Some((fp, setup)) = &self.fingerprint {
            b = b.append(
                Element::builder("fingerprint", NS_DTLS)
                    .a("hash", fp.hash.as_str())
                    .a("setup", setup.as_str())
                    .append(fp.value.as_str())
                    .build(),
            );
        }
        for c in &self.candidates {
            b = b.append(candidate_element(c));
        }
        b.build()
    }
}

fn parse_candidate(el: &Element) -> Option<Candidate> {
    let related = match (el.attr("rel-addr"), el.attr("rel-port")) {
        (Some(a), Some(p)) => Some((a.parse().ok()?, p.parse().ok()?)),
        _ => None,
    };
    Some(Candidate {
        foundation: el.attr("foundation").unwrap_or("0").to_string(),
        component: el
            .attr("component")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1),
        protocol: el.attr("protocol").unwrap_or("udp").to_ascii_lowercase(),
        priority: el.attr("priority")?.parse().ok()?,
        ip: el.attr("ip")?.parse().ok()?,
        // Port 0 cannot be checked (RFC 8445); TCP-active candidates use 9.
        port: el.attr("port")?.parse().ok().filter(|p| *p != 0)?,
        kind: CandidateKind::parse(el.attr("type").unwrap_or("host"))?,
        related,
        generation: el
            .attr("generation")
            .and_then(|g| g.parse().ok())
            .unwrap_or(0),
    })
}

fn candidate_element(c: &Candidate) -> Element {
    let mut b = Element::builder("candidate", NS)
        .a("component", c.component.to_string())
        .a("foundation", c.foundation.as_str())
        .a("generation", c.generation.to_string())
        .a(
            "id",
            super::tag(&[
                &c.foundation,
                &c.component.to_string(),
                &c.protocol,
                &c.ip.to_string(),
                &c.port.to_string(),
            ]),
        )
        .a("ip", c.ip.to_string())
        .a("network", "0")
        .a("port", c.port.to_string())
        .a("priority", c.priority.to_string())
        .a("protocol", c.protocol.as_str())
        .a("type", c.kind.as_str());
    if let Some((ip, port)) = c.related {
        b = b
            .a("rel-addr", ip.to_string())
            .a("rel-port", port.to_string());
    }
    b.build()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn lenient_candidates() {
        // As some clients send them: no id, generation or network.
        let el = Element::from_str(
            "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'>\
             <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>ab:cd</fingerprint>\
             <candidate component='1' foundation='1' ip='192.0.2.1' port='5000' priority='100' protocol='udp' type='host'/>\
             <candidate component='1' foundation='2' ip='198.51.100.7' port='6000' priority='50' protocol='udp' type='srflx' rel-addr='192.0.2.1' rel-port='5000'/>\
             <candidate component='1' ip='bogus' port='1' priority='1' type='host'/>\
             </transport>",
        )
        .unwrap();
        let t = Transport::parse(&el);
        assert_eq!(t.candidates.len(), 2);
        assert_eq!(t.candidates[1].kind, CandidateKind::Srflx);
        let (fp, setup) = t.fingerprint.clone().unwrap();
        assert_eq!(fp.value, "AB:CD");
        assert_eq!(setup, Setup::ActPass);
        assert_eq!(Transport::parse(&t.to_element()), t);
    }
}
