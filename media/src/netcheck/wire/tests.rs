use super::*;
use rtc::stun::attributes::ATTR_ERROR_CODE;
use rtc::stun::error_code::ErrorCode;

fn provider() -> std::sync::Arc<dyn rtc::crypto::RTCCryptoProvider> {
    rtc::crypto::default_provider().unwrap()
}

/// A server's response to `tid` with these attributes.
fn response(
    tid: TransactionId,
    class: rtc::stun::message::MessageClass,
    attrs: Setters<'_>,
) -> Vec<u8> {
    let mut setters: Setters<'_> = vec![
        Box::new(tid),
        Box::new(MessageType::new(METHOD_ALLOCATE, class)),
    ];
    setters.extend(attrs);
    let mut msg = Message::new();
    msg.build(&setters).unwrap();
    msg.raw
}

#[test]
fn a_success_gives_the_mapped_relayed_and_other_addresses() {
    let (tid, _) = binding().unwrap();
    let bytes = response(
        tid,
        CLASS_SUCCESS_RESPONSE,
        vec![
            Box::new(XorMappedAddress {
                ip: "203.0.113.7".parse().unwrap(),
                port: 40000,
            }),
            Box::new(RelayedAddress {
                ip: "198.51.100.1".parse().unwrap(),
                port: 50000,
            }),
            Box::new(OtherAddr("198.51.100.2:3479".parse().unwrap())),
        ],
    );
    assert_eq!(
        reply(&bytes, &tid),
        Some(Reply::Success {
            mapped: Some("203.0.113.7:40000".parse().unwrap()),
            relayed: Some("198.51.100.1:50000".parse().unwrap()),
            other: Some("198.51.100.2:3479".parse().unwrap()),
        })
    );
    assert_eq!(transaction_of(&bytes), Some(tid));
}

struct OtherAddr(SocketAddr);
impl Setter for OtherAddr {
    fn add_to(&self, m: &mut Message) -> Result<(), rtc::shared::error::Error> {
        MappedAddress {
            ip: self.0.ip(),
            port: self.0.port(),
        }
        .add_to_as(m, ATTR_OTHER_ADDRESS)
    }
}

#[test]
fn a_401_with_realm_and_nonce_is_a_challenge_and_other_errors_keep_their_code() {
    let (tid, _) = allocate(None, provider().crypto()).unwrap();
    let challenge = response(
        tid,
        CLASS_ERROR_RESPONSE,
        vec![
            Box::new(ErrorCodeAttribute {
                code: ErrorCode(401),
                reason: b"Unauthorized".to_vec(),
            }),
            Box::new(TextAttribute::new(ATTR_REALM, "banter.test".into())),
            Box::new(TextAttribute::new(ATTR_NONCE, "abc123".into())),
        ],
    );
    assert_eq!(
        reply(&challenge, &tid),
        Some(Reply::Challenge {
            realm: "banter.test".into(),
            nonce: "abc123".into()
        })
    );
    // A 401 without a nonce cannot be answered: it is an error.
    let bare = response(
        tid,
        CLASS_ERROR_RESPONSE,
        vec![Box::new(ErrorCodeAttribute {
            code: ErrorCode(401),
            reason: b"Unauthorized".to_vec(),
        })],
    );
    assert_eq!(
        reply(&bare, &tid),
        Some(Reply::Error {
            code: 401,
            reason: "Unauthorized".into()
        })
    );
    let full = response(
        tid,
        CLASS_ERROR_RESPONSE,
        vec![Box::new(ErrorCodeAttribute {
            code: ErrorCode(508),
            reason: b"Insufficient Capacity".to_vec(),
        })],
    );
    assert_eq!(
        reply(&full, &tid),
        Some(Reply::Error {
            code: 508,
            reason: "Insufficient Capacity".into()
        })
    );
    let mut raw = Message::new();
    raw.unmarshal_binary(&full).unwrap();
    assert!(raw.contains(ATTR_ERROR_CODE));
}

#[test]
fn answers_to_other_transactions_requests_and_garbage_are_not_replies() {
    let (tid, req) = binding().unwrap();
    let (other, _) = binding().unwrap();
    let bytes = response(other, CLASS_SUCCESS_RESPONSE, Vec::new());
    assert_eq!(reply(&bytes, &tid), None);
    // Our own request echoed back is not an answer.
    assert_eq!(reply(&req, &tid), None);
    assert_eq!(transaction_of(&req), None);
    for junk in [&b""[..], &[0u8; 19], &[0xff; 64], &bytes[..bytes.len() - 1]] {
        assert_eq!(reply(junk, &tid), None);
    }
}

#[test]
fn an_authenticated_allocate_carries_integrity_the_server_can_check() {
    let p = provider();
    let auth = Auth {
        username: "1700000000:alice".into(),
        realm: "banter.test".into(),
        nonce: "n0nce".into(),
        password: "secret".into(),
    };
    let (_, bytes) = allocate(Some(&auth), p.crypto()).unwrap();
    let mut msg = Message::new();
    msg.unmarshal_binary(&bytes).unwrap();
    assert_eq!(msg.typ, MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST));
    assert_eq!(
        TextAttribute::get_from_as(&msg, ATTR_USERNAME)
            .unwrap()
            .text,
        "1700000000:alice"
    );
    let key = MessageIntegrity::long_term_integrity_key(
        auth.username.clone(),
        auth.realm.clone(),
        auth.password.clone(),
        p.crypto(),
    )
    .unwrap();
    MessageIntegrity::check(&mut msg, &key, p.crypto()).unwrap();
    let wrong = MessageIntegrity::long_term_integrity_key(
        auth.username.clone(),
        auth.realm.clone(),
        "other".into(),
        p.crypto(),
    )
    .unwrap();
    assert!(MessageIntegrity::check(&mut msg, &wrong, p.crypto()).is_err());

    let (_, free) = release(&auth, p.crypto()).unwrap();
    let mut msg = Message::new();
    msg.unmarshal_binary(&free).unwrap();
    assert_eq!(msg.typ, MessageType::new(METHOD_REFRESH, CLASS_REQUEST));
    let mut life = Lifetime::default();
    life.get_from(&msg).unwrap();
    assert_eq!(life.0, std::time::Duration::ZERO);
}
