//! XEP-0363 HTTP File Upload: finding our server's upload service and its size limit
//! (disco), asking it for a slot, reading the slot's PUT and GET URLs. The HTTP
//! transfer itself is in http.rs. What a server answers is checked: https URLs only,
//! and only the headers the XEP allows.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;

use super::Attr;

pub const NS: &str = "urn:xmpp:http:upload:0";

/// An upload service and what it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub jid: Jid,
    /// The largest file it takes, when it says.
    pub max_size: Option<u64>,
}

/// Reads a disco#info answer of `jid`: an upload service, and its limit (from the
/// XEP-0128 form whose FORM_TYPE is the upload namespace).
pub fn service_of(jid: Jid, info: &Element) -> Option<Service> {
    let (_, features) = super::disco::parse_info(info)?;
    if !features.iter().any(|f| f == NS) {
        return None;
    }
    let max_size = info
        .children()
        .filter(|c| c.is("x", "jabber:x:data"))
        .find(|x| field(x, "FORM_TYPE").as_deref() == Some(NS))
        .and_then(|x| field(x, "max-file-size"))
        .and_then(|v| v.trim().parse::<u64>().ok());
    Some(Service { jid, max_size })
}

fn field(form: &Element, var: &str) -> Option<String> {
    form.children()
        .filter(|c| c.name() == "field")
        .find(|c| c.attr("var") == Some(var))?
        .children()
        .find(|c| c.name() == "value")
        .map(|v| v.text())
}

/// Asks `service` for a slot for a file.
pub fn request(id: &str, service: &Jid, name: &str, size: u64, content_type: &str) -> Iq {
    Iq::Get {
        from: None,
        to: Some(service.clone()),
        id: id.to_string(),
        payload: Element::builder("request", NS)
            .a("filename", name)
            .a("size", size.to_string())
            .a("content-type", content_type)
            .build(),
    }
}

/// Where to PUT the file (with these headers) and where it can then be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub put: String,
    pub headers: Vec<(String, String)>,
    pub get: String,
}

/// Reads a slot; `None` for anything but an https slot with allowed headers.
pub fn read_slot(payload: &Element) -> Option<Slot> {
    if !payload.is("slot", NS) {
        return None;
    }
    let put = payload.get_child("put", NS)?;
    let get = payload.get_child("get", NS)?;
    let put_url = put.attr("url")?.to_string();
    let get_url = get.attr("url")?.to_string();
    if !web_url(&put_url) || !web_url(&get_url) {
        return None;
    }
    let mut headers = Vec::new();
    for h in put.children().filter(|c| c.is("header", NS)) {
        let name = h.attr("name")?;
        // XEP-0363 §4: only these; anything else from a server is not sent.
        if !["authorization", "cookie", "expires"].contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        let value = h.text();
        if value.contains(['\r', '\n']) {
            return None;
        }
        headers.push((name.to_string(), value));
    }
    Some(Slot {
        put: put_url,
        headers,
        get: get_url,
    })
}

/// An https URL with a host.
fn web_url(url: &str) -> bool {
    !url.contains(|c: char| c.is_whitespace() || c.is_control())
        && url
            .strip_prefix("https://")
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn the_limit_comes_from_the_form_and_slots_are_checked() {
        let info = Element::from_str(
            "<query xmlns='http://jabber.org/protocol/disco#info'>\
             <identity category='store' type='file' name='Uploads'/>\
             <feature var='urn:xmpp:http:upload:0'/>\
             <x xmlns='jabber:x:data' type='result'>\
             <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:http:upload:0</value></field>\
             <field var='max-file-size'><value>5242880</value></field></x></query>",
        )
        .unwrap();
        let jid = Jid::new("upload.example.org").unwrap();
        let s = service_of(jid.clone(), &info).unwrap();
        assert_eq!(s.max_size, Some(5_242_880));
        let slot = |put: &str, header: &str| {
            Element::from_str(&format!(
                "<slot xmlns='urn:xmpp:http:upload:0'><put url='{put}'>{header}</put>\
                 <get url='https://up.example.org/g/a.png'/></slot>"
            ))
            .unwrap()
        };
        let ok = read_slot(&slot(
            "https://up.example.org/p/a.png",
            "<header name='Authorization'>Basic x</header><header name='X-Evil'>1</header>",
        ))
        .unwrap();
        assert_eq!(ok.headers, vec![("Authorization".into(), "Basic x".into())]);
        assert!(read_slot(&slot("http://up.example.org/p", "")).is_none());
        assert!(read_slot(&slot("http://127.0.0.1:5280/p", "")).is_none());
        assert!(read_slot(&slot("javascript:x", "")).is_none());
        let Iq::Get { payload, .. } = request("1", &jid, "a.png", 10, "image/png") else {
            panic!()
        };
        assert_eq!(payload.attr("size"), Some("10"));
    }
}
