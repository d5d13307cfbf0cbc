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
/// `turns` (TURN over TLS) comes out as `turns:host:port?transport=tcp`; one without
/// credentials takes those of a `turn` entry for the same host (Prosody's
/// mod_turn_external lists its TLS port without any, though the shared secret is the
/// same).
pub fn parse(services: &Element) -> Vec<IceServer> {
    if !services.is("services", NS) {
        return Vec::new();
    }
    let mut servers = entries(services);
    let borrowed: Vec<Option<(String, String)>> = servers
        .iter()
        .map(|s| {
            let host = host_of(s.urls.first()?, "turns:")?;
            if !s.username.is_empty() {
                return None;
            }
            servers.iter().find_map(|t| {
                let same = host_of(t.urls.first()?, "turn:")? == host;
                (same && !t.username.is_empty()).then(|| (t.username.clone(), t.credential.clone()))
            })
        })
        .collect();
    for (s, creds) in servers.iter_mut().zip(borrowed) {
        if let Some((username, credential)) = creds {
            s.username = username;
            s.credential = credential;
        }
    }
    servers
}

/// The host of a `scheme:host:port…` URL.
fn host_of<'a>(url: &'a str, scheme: &str) -> Option<&'a str> {
    let rest = url.strip_prefix(scheme)?;
    let hostport = rest.split('?').next()?;
    Some(hostport.rsplit_once(':')?.0)
}

fn entries(services: &Element) -> Vec<IceServer> {
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
                // TLS runs over TCP whatever the entry says (RFC 7065).
                "turns" => format!("turns:{host}:{port}?transport=tcp"),
                _ => return None,
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
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].urls, ["stun:turn.example.org:3478"]);
        assert_eq!(s[1].urls, ["turn:turn.example.org:3478?transport=udp"]);
        assert_eq!(s[1].username, "1700000000");
        assert_eq!(s[1].credential, "abc=");
        assert_eq!(s[2].urls, ["turns:turn.example.org:5349?transport=tcp"]);
        assert_eq!(
            (s[2].username.as_str(), s[2].credential.as_str()),
            ("u", "p")
        );
        assert_eq!(s[3].urls, ["turn:[2001:db8::1]:3478?transport=udp"]);
    }

    /// Prosody's mod_turn_external lists its TLS port without credentials: those of
    /// the `turn` entry for the same host are used (same shared secret); a `turns`
    /// entry for another host keeps none.
    #[test]
    fn turns_without_credentials_borrows_those_of_turn_on_the_same_host() {
        let el = Element::from_str(
            "<services xmlns='urn:xmpp:extdisco:2'>\
             <service type='turns' transport='tcp' host='127.0.0.1' port='5349'/>\
             <service type='turn' transport='udp' host='127.0.0.1' port='3478' username='1700000000:alice' password='xyz='/>\
             <service type='turns' transport='tcp' host='other.example' port='443'/>\
             </services>",
        )
        .unwrap();
        let s = parse(&el);
        assert_eq!(s[0].urls, ["turns:127.0.0.1:5349?transport=tcp"]);
        assert_eq!(s[0].username, "1700000000:alice");
        assert_eq!(s[0].credential, "xyz=");
        assert_eq!(s[2].username, "");
    }
}
