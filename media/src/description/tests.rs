#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

#[test]
fn candidate_roundtrip_and_leniency() {
    let c = Candidate::from_sdp("candidate:1 1 UDP 2130706431 127.0.0.1 50000 typ host").unwrap();
    assert_eq!(c.protocol, "udp");
    assert_eq!(c.generation, 0);
    let r = Candidate::from_sdp(
        "a=candidate:2 1 udp 16777215 10.0.0.1 3478 typ relay raddr 192.168.1.2 rport 5000 generation 0",
    )
    .unwrap();
    assert_eq!(r.kind, CandidateKind::Relay);
    assert_eq!(r.related, Some(("192.168.1.2".parse().unwrap(), 5000)));
    assert_eq!(Candidate::from_sdp(&r.to_sdp()).unwrap(), r);
    assert!(Candidate::from_sdp("candidate:garbage").is_err());
}

#[test]
fn description_roundtrip() {
    let d = SessionDescription {
        ice_ufrag: "uf".into(),
        ice_pwd: "pwpwpwpwpwpwpwpwpwpwpwpw".into(),
        fingerprint: Fingerprint {
            hash: "sha-256".into(),
            value: "AB:CD".into(),
        },
        setup: Setup::ActPass,
        bundle: vec![],
        contents: vec![Content {
            name: "0".into(),
            kind: MediaKind::Audio,
            codecs: vec![Codec::opus()],
            header_extensions: vec![HeaderExtension {
                id: 1,
                uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level".into(),
            }],
            ssrcs: vec![Ssrc {
                id: 42,
                params: vec![("cname".into(), "x".into())],
            }],
            ssrc_groups: vec![SsrcGroup {
                semantics: "FID".into(),
                ssrcs: vec![42, 43],
            }],
            rtcp_mux: true,
            direction: Direction::SendRecv,
            transport: None,
        }],
        candidates: vec![],
    };
    let back = SessionDescription::from_sdp(&d.to_sdp()).unwrap();
    // A description without a group comes back bundled (one-content group).
    assert_eq!(back.bundle, vec!["0".to_string()]);
    assert_eq!(back.contents, d.contents);
    assert_eq!(back.fingerprint, d.fingerprint);
}

#[test]
fn unbundled_split_and_joined() {
    let audio = SessionDescription::from_sdp(
        "v=0\r\na=group:BUNDLE a\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\n\
         a=ice-ufrag:ua\r\na=ice-pwd:pa\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\n",
    )
    .unwrap();
    let mut video = SessionDescription::from_sdp(
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\n\
         a=ice-ufrag:uv\r\na=ice-pwd:pv\r\na=fingerprint:sha-256 BB\r\na=setup:actpass\r\n",
    )
    .unwrap();
    video
        .candidates
        .push(Candidate::from_sdp("candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host").unwrap());
    assert!(!audio.unbundled());
    let joined = audio.clone().joined(Some(video.clone()));
    assert!(joined.unbundled());
    assert!(joined.bundle.is_empty());
    assert_eq!(joined.contents.len(), 2);
    let t = joined.contents[1].transport.as_ref().unwrap();
    assert_eq!((t.ice_ufrag.as_str(), t.candidates.len()), ("uv", 1));
    let (main, own) = joined.split();
    assert_eq!(main.contents, audio.contents);
    assert_eq!(main.ice_ufrag, "ua");
    let own = own.unwrap();
    assert_eq!(own.ice_ufrag, "uv");
    assert_eq!(own.fingerprint.value, "BB");
    assert_eq!(own.bundle, vec!["v".to_string()]);
    assert_eq!(own.contents[0].transport, None);
    assert_eq!(own.candidates.len(), 1);
    // A bundled description is all main.
    let (main, own) = audio.split();
    assert_eq!((main, own), (audio, None));
}

/// Chromium's RED line (`a=fmtp:63 111/111`, a parameter without a value) survives
/// the way through our description and back; a RED entry that lost it is left out.
#[test]
fn red_keeps_its_format_line_and_is_dropped_without_it() {
    let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
        a=ice-ufrag:uf\r\na=ice-pwd:pwpwpwpwpwpwpwpwpwpwpwpw\r\n\
        a=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\na=sendrecv\r\na=rtcp-mux\r\n\
        a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
        a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n";
    let d = SessionDescription::from_sdp(sdp).unwrap();
    d.check().unwrap();
    let red = &d.contents[0].codecs[1];
    assert!(red.is_red());
    assert_eq!(red.fmtp, vec![("111/111".to_string(), String::new())]);
    assert!(
        d.to_sdp().contains("a=fmtp:63 111/111\r\n"),
        "{}",
        d.to_sdp()
    );
    let mut kept = d.clone();
    kept.without_unusable_red();
    assert!(kept.has_red());
    // The same RED after a signaling path that dropped the value-less parameter.
    let mut lost = d.clone();
    lost.contents[0].codecs[1].fmtp.clear();
    lost.without_unusable_red();
    assert!(!lost.has_red());
    assert_eq!(lost.contents[0].codecs.len(), 1);
    // Not offered at all.
    let mut none = d;
    none.without_red();
    assert!(!none.has_red());
}

/// RFC 8122 fingerprints: the certificate's hash in colon-separated hex, matched in
/// any case; another certificate, another hash function or garbage matches nothing.
#[test]
fn a_fingerprint_matches_only_its_certificate() {
    let der = b"not really DER, but any bytes hash the same way";
    use sha2::Digest;
    let hex = |d: &[u8]| {
        d.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let fp = |hash: &str, value: String| Fingerprint {
        hash: hash.into(),
        value,
    };
    let sha256 = hex(&sha2::Sha256::digest(der));
    assert!(fp("sha-256", sha256.clone()).matches(der));
    assert!(fp("SHA-256", sha256.to_uppercase()).matches(der));
    assert!(fp("sha-512", hex(&sha2::Sha512::digest(der))).matches(der));
    assert!(!fp("sha-256", sha256.clone()).matches(b"another certificate"));
    assert!(!fp("sha-384", sha256.clone()).matches(der));
    assert!(!fp("md5", sha256).matches(der));
    assert!(!fp("sha-256", "AB:CD".into()).matches(der));
}
