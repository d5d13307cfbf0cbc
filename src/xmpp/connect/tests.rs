#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use tokio_xmpp::parsers::stream_features::StreamFeatures;

#[test]
fn server_option_parses() {
    let t = |host: &str, port, direct_tls, explicit| Target {
        host: host.into(),
        port,
        direct_tls,
        explicit,
    };
    assert_eq!(
        parse_server("127.0.0.1:5222"),
        Some(t("127.0.0.1", 5222, false, false))
    );
    assert_eq!(
        parse_server("[::1]:5223"),
        Some(t("::1", 5223, false, false))
    );
    assert_eq!(
        parse_server("tls:example.org:5223"),
        Some(t("example.org", 5223, true, true))
    );
    assert_eq!(
        parse_server("starttls:[::1]:5222"),
        Some(t("::1", 5222, false, true))
    );
    assert_eq!(parse_server("example.org"), None);
    assert_eq!(parse_server(":5222"), None);
    assert_eq!(parse_server("tls:5222"), None);
    for s in [
        "tls:example.org:5223",
        "example.org:5222",
        "starttls:[::1]:5222",
    ] {
        assert_eq!(parse_server(s).unwrap().to_server_string(), s);
    }
}

#[test]
fn srv_ordered_by_priority_then_weight() {
    let t = |h: &str, d| Target {
        host: h.into(),
        port: 1,
        direct_tls: d,
        explicit: true,
    };
    let ordered = order_srv(vec![
        (10, 0, t("c", false)),
        (5, 10, t("b", true)),
        (5, 50, t("a", false)),
    ]);
    let hosts: Vec<_> = ordered.iter().map(|t| t.host.as_str()).collect();
    assert_eq!(hosts, ["a", "b", "c"]);
}

fn features(mechs: &[&str], cb: Option<&str>) -> StreamFeatures {
    let cb = cb
        .map(|t| format!("<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='{t}'/></sasl-channel-binding>"))
        .unwrap_or_default();
    let mechs: String = mechs
        .iter()
        .map(|m| format!("<mechanism>{m}</mechanism>"))
        .collect();
    let xml = format!("<features xmlns='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{mechs}</mechanisms>{cb}</features>");
    let el: minidom::Element = xml.parse().unwrap();
    StreamFeatures::try_from(el).unwrap()
}

fn choose_binding(f: &StreamFeatures, b: ChannelBinding) -> ChannelBinding {
    let offered: Vec<String> = f.sasl_mechanisms.iter().cloned().collect();
    auth::choose_binding(&offered, f, b)
}

#[test]
fn binding_only_where_the_server_names_tls_exporter() {
    let cb = || ChannelBinding::TlsExporter(vec![1; 32]);
    let is_none = |b: ChannelBinding| matches!(b, ChannelBinding::None);
    // Prosody 0.12 under TLS 1.3: no -PLUS at all.
    assert!(is_none(choose_binding(
        &features(&["SCRAM-SHA-1", "PLAIN"], None),
        cb()
    )));
    // ejabberd 23.01: -PLUS offered, no XEP-0440; it takes only tls-unique.
    let ejabberd = [
        "SCRAM-SHA-256-PLUS",
        "SCRAM-SHA-256",
        "SCRAM-SHA-1-PLUS",
        "SCRAM-SHA-1",
    ];
    assert!(is_none(choose_binding(&features(&ejabberd, None), cb())));
    assert!(is_none(choose_binding(
        &features(&ejabberd, Some("tls-unique")),
        cb()
    )));
    // Named: used.
    assert!(matches!(
        choose_binding(&features(&ejabberd, Some("tls-exporter")), cb()),
        ChannelBinding::TlsExporter(_)
    ));
    // TLS 1.2 (no exporter value from the handshake): never.
    assert!(is_none(choose_binding(
        &features(&ejabberd, Some("tls-exporter")),
        ChannelBinding::None
    )));
}
