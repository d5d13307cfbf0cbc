//! XEP-0215 External Service Discovery: STUN and TURN servers (with short-lived
//! credentials) from the user's own server, fetched for each call.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;

use banter_media::IceServer;

pub const NS: &str = "urn:xmpp:extdisco:2";

pub fn query(id: &str, server: Jid) -> Iq {
    Iq::Get {
        from: None,
        to: Some(server),
        id: id.to_string(),
        payload: Element::builder("services", NS).build(),
    }
}

/// The STUN/TURN servers in a `<services/>` result. Entries that cannot be used are
/// skipped one by one (xmpp-parsers rejects the whole list when one is `turns`).
pub fn parse(services: &Element) -> Vec<IceServer> {
    if !services.is("services", NS) {
        return Vec::new();
    }
    services
        .children()
        .filter(|s| s.name() == "service")
        .filter_map(|s| {
            let kind = s.attr("type")?;
            let host = s.attr("host")?;
            let transport = s.attr("transport").unwrap_or("udp");
            let port: u16 = s.attr("port").and_then(|p| p.parse().ok()).unwrap_or(3478);
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.to_string()
            };
            let url = match kind {
                "stun" => format!("stun:{host}:{port}"),
                "turn" => format!("turn:{host}:{port}?transport={transport}"),
                _ => return None, // turns: not supported by the media engine
            };
            Some(IceServer {
                urls: vec![url],
                username: s.attr("username").unwrap_or("").to_string(),
                credential: s.attr("password").unwrap_or("").to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn services_from_prosody() {
        let el = Element::from_str(
            "<services xmlns='urn:xmpp:extdisco:2'>\
             <service type='stun' transport='udp' host='turn.example.org' port='3478'/>\
             <service type='turn' transport='udp' host='turn.example.org' port='3478' username='1700000000' password='abc=' expires='2026-01-01T00:00:00Z' restricted='1'/>\
             <service type='turns' transport='tcp' host='turn.example.org' port='5349' username='u' password='p'/>\
             <service type='turn' host='2001:db8::1'/>\
             </services>",
        )
        .unwrap();
        let s = parse(&el);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].urls, ["stun:turn.example.org:3478"]);
        assert_eq!(s[1].urls, ["turn:turn.example.org:3478?transport=udp"]);
        assert_eq!(s[1].username, "1700000000");
        assert_eq!(s[1].credential, "abc=");
        assert_eq!(s[2].urls, ["turn:[2001:db8::1]:3478?transport=udp"]);
    }
}
