#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='example.test' version='1.0'>";

/// Feeds `input` split at `at` (and in one piece), checking both give the same.
fn filter_split(input: &[u8], at: usize) -> Vec<u8> {
    let mut g = Guard::new();
    let mut out = Vec::new();
    let (a, b) = input.split_at(at);
    g.feed(a, &mut out);
    g.feed(b, &mut out);
    out
}

fn filter(input: &str) -> String {
    let whole = filter_split(input.as_bytes(), 0);
    // Every split point of short inputs; a few hundred of long ones.
    for at in (1..input.len()).step_by((input.len() / 400).max(1)) {
        assert_eq!(
            filter_split(input.as_bytes(), at),
            whole,
            "split at {at} differs"
        );
    }
    String::from_utf8(whole).unwrap()
}

#[test]
fn ordinary_streams_pass_unchanged() {
    let s = format!(
        "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>\
         <success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>{HEADER}<stream:features/> \n\
         <message from=\"bob@example.test/pc\" to='alice@example.test' type='chat' id='a>b'><body>1 &lt; 2 <![CDATA[ <not-a-tag> ]] ]]></body></message>\
         <presence from='bob@example.test/pc'/>\
         <iq type='result' id='r1'><query xmlns='jabber:iq:roster'><item jid='c@d' name='x/y'/></query></iq>\
         </stream:stream>"
    );
    assert_eq!(filter(&s), s);
}

#[test]
fn a_long_attribute_costs_its_stanza_only() {
    let long = "x".repeat(9000);
    let s = format!(
        "{HEADER}<message from='eve@evil.test/x' to='alice@example.test' type='chat' id='{long}'><body>hi</body></message><message from='bob@example.test/pc' id='ok'><body>next</body></message>"
    );
    let out = filter(&s);
    assert!(!out.contains(&long));
    assert!(out.contains("<message xmlns='jabber:client' from='eve@evil.test/x' to='alice@example.test' type='chat'><unreadable xmlns='urn:x-banter:unreadable' reason='an attribute longer than 8000 bytes'/></message>"), "{out}");
    assert!(
        out.ends_with("<message from='bob@example.test/pc' id='ok'><body>next</body></message>")
    );
    // On a child element, too.
    let s = format!(
        "{HEADER}<message from='eve@evil.test/x' id='m2'><x xmlns='urn:x' a='{long}'/></message>"
    );
    assert!(filter(&s).contains("id='m2'><unreadable"));
}

#[test]
fn deep_nesting_comments_and_long_names_are_replaced() {
    let deep = "<a>".repeat(200) + &"</a>".repeat(200);
    let s = format!("{HEADER}<message from='e@x' id='d'>{deep}</message><presence/>");
    let out = filter(&s);
    assert!(
        out.contains("reason='nested more than 64 levels deep'"),
        "{out}"
    );
    assert!(out.ends_with("<presence/>"));
    let s = format!("{HEADER}<message id='c'><!-- hi --></message>");
    assert!(filter(&s).contains("reason='an XML comment'"));
    let long = "n".repeat(9000);
    let s = format!("{HEADER}<message id='n'><{long}/></message>");
    assert!(filter(&s).contains("reason='a name longer than 8000 bytes'"));
    // 64 levels below the stanza still pass.
    let ok = "<a>".repeat(64) + &"</a>".repeat(64);
    let s = format!("{HEADER}<message id='d'>{ok}</message>");
    assert_eq!(filter(&s), s);
}

#[test]
fn an_iq_stand_in_keeps_a_usable_id_and_type() {
    let long = "i".repeat(9000);
    let s = format!("{HEADER}<iq from='e@x/y' type='get' id='q1'><query xmlns='{long}'/></iq>");
    assert!(filter(&s)
        .contains("<iq xmlns='jabber:client' from='e@x/y' type='get' id='q1'><unreadable"));
    let s = format!(
        "{HEADER}<iq from='e@x/y' type='bogus' id='{long}'><ping xmlns='urn:xmpp:ping'/></iq>"
    );
    assert!(filter(&s).contains("type='result' id='banter-unreadable-1'"));
    // A nonza is dropped.
    let s = format!("{HEADER}<a xmlns='urn:xmpp:sm:3' h='{long}'/><r xmlns='urn:xmpp:sm:3'/>");
    assert!(filter(&s).ends_with(&format!("{HEADER}<r xmlns='urn:xmpp:sm:3'/>")));
}

/// The real parser under tokio-xmpp: without the guard the long attribute ends the
/// stream; with it the stand-in parses as a stanza and the next one arrives.
#[tokio::test]
async fn tokio_xmpp_reads_past_the_stand_in() {
    use futures::StreamExt;
    use tokio::io::{AsyncWriteExt, BufStream};
    use tokio_xmpp::parsers::ns;
    use tokio_xmpp::xmlstream::{
        initiate_stream, StreamHeader, Timeouts, XmppStream, XmppStreamElement,
    };
    use tokio_xmpp::Stanza;

    async fn read_two(guarded: bool) -> Vec<Result<XmppStreamElement, String>> {
        let (client, mut server) = tokio::io::duplex(1 << 20);
        let long = "x".repeat(9000);
        let bytes = format!(
            "{HEADER}<stream:features/><message from='eve@evil.test/x' type='chat' id='{long}'><body>bad</body></message><message from='bob@example.test/pc' type='chat' id='ok'><body>next</body></message>"
        );
        server.write_all(bytes.as_bytes()).await.unwrap();
        trait Rw: AsyncRead + AsyncWrite + Unpin + Send {}
        impl<T: AsyncRead + AsyncWrite + Unpin + Send> Rw for T {}
        let io: Box<dyn Rw> = if guarded {
            Box::new(Guarded::new(client))
        } else {
            Box::new(client)
        };
        let header = StreamHeader {
            to: Some("example.test".into()),
            from: None,
            id: None,
        };
        let pending = initiate_stream(
            BufStream::new(io),
            ns::JABBER_CLIENT,
            header,
            Timeouts::tight(),
        )
        .await
        .unwrap();
        let (_, mut stream): (_, XmppStream<_>) = pending.recv_features().await.unwrap();
        let mut got = Vec::new();
        for _ in 0..2 {
            match stream.next().await {
                Some(Ok(el)) => got.push(el.into_read_error().map_err(|e| format!("{e:?}"))),
                Some(Err(e)) => {
                    got.push(Err(format!("{e:?}")));
                    break;
                }
                None => break,
            }
        }
        drop(server);
        got
    }

    let plain = read_two(false).await;
    assert!(matches!(plain.first(), Some(Err(_))), "{plain:?}");
    let guarded = read_two(true).await;
    let [Ok(XmppStreamElement::Stanza(Stanza::Message(a))), Ok(XmppStreamElement::Stanza(Stanza::Message(b)))] =
        guarded.as_slice()
    else {
        panic!("{guarded:?}")
    };
    assert_eq!(
        unreadable_reason(&a.payloads).as_deref(),
        Some("an attribute longer than 8000 bytes")
    );
    assert_eq!(a.from.as_ref().unwrap().to_string(), "eve@evil.test/x");
    assert_eq!(b.id.as_ref().unwrap().0, "ok");
    assert_eq!(unreadable_reason(&b.payloads), None);
}
