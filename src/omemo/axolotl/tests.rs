use super::*;
use crate::omemo::keys::OwnDevice;

#[test]
fn bundles_and_device_lists_read_back() {
    let d = OwnDevice::generate();
    let b = d.bundle();
    let el = bundle(&b);
    let back = parse_bundle(&el).unwrap();
    assert_eq!(back, b);
    assert!(back.verified());
    assert_eq!(back.prekeys.len(), 100);

    let list = device_list(&[7, 9]);
    assert_eq!(parse_device_list(&list).unwrap(), vec![7, 9]);
    let hostile: Element = format!(
        "<list xmlns='{NS}'><device id='0'/><device id='x'/><device id='5'/><device id='5'/>{}</list>",
        (1..10_000).map(|i| format!("<device id='{}'/>", i + 100)).collect::<String>()
    )
    .parse()
    .unwrap();
    let ids = parse_device_list(&hostile).unwrap();
    assert_eq!(ids.len(), MAX_DEVICES);
    assert_eq!(ids[0], 5);
}

#[test]
fn payloads_seal_and_open_and_refuse_tampering() {
    let Body {
        material,
        iv,
        payload,
    } = seal(b"hello").unwrap();
    assert_eq!(open(&material, &iv, &payload).unwrap(), b"hello");
    let mut bad = payload.clone();
    bad[0] ^= 1;
    assert!(open(&material, &iv, &bad).is_err());
    let mut wrong = material;
    wrong[20] ^= 1;
    assert!(open(&wrong, &iv, &payload).is_err());
    assert!(open(&material[..20], &iv, &payload).is_err());
    assert!(open(&material, &iv[..5], &payload).is_err());

    let e = Encrypted {
        sid: 42,
        keys: vec![KeyFor {
            rid: 7,
            prekey: true,
            data: vec![1, 2, 3],
        }],
        iv: iv.to_vec(),
        payload: Some(payload),
    };
    let back = Encrypted::parse(&e.to_element()).unwrap();
    assert_eq!(back, e);
    assert!(back.key_for(7).unwrap().prekey);
    assert!(back.key_for(8).is_none());
}
