use super::*;

fn server(url: &str, user: &str) -> IceServer {
    IceServer {
        urls: vec![url.into()],
        username: user.into(),
        credential: if user.is_empty() { "" } else { "pw" }.into(),
    }
}

#[test]
fn services_come_from_the_urls_once_each_stun_first() {
    let s = services(&[
        server("turns:turn.example.org:5349?transport=tcp", "u"),
        server("turn:turn.example.org:3478?transport=tcp", "u"),
        server("turn:turn.example.org:3478?transport=udp", "u"),
        server("turn:turn.example.org:3478?transport=udp", "u"),
        server("stun:[2001:db8::1]:3478", ""),
        server("stun:stun.example.org", ""),
        server("stuns:stun.example.org:5349", ""),
        server("turn:bad:port?transport=udp", "u"),
        server("turn::3478?transport=udp", "u"),
        server("http://example.org", ""),
    ]);
    let got: Vec<(Check, String)> = s.iter().map(|s| (s.check, s.server())).collect();
    assert_eq!(
        got,
        vec![
            (Check::Stun, "[2001:db8::1]:3478".into()),
            (Check::Stun, "stun.example.org:3478".into()),
            (Check::TurnUdp, "turn.example.org:3478".into()),
            (Check::TurnTcp, "turn.example.org:3478".into()),
            (Check::TurnTls, "turn.example.org:5349".into()),
        ]
    );
    assert_eq!(s[2].username, "u");
    assert_eq!(s[2].password, "pw");
}

#[test]
fn address_kinds() {
    let own: Vec<IpAddr> = vec!["192.168.1.20".parse().unwrap()];
    let kind = |ip: &str| AddressKind::of(ip.parse().unwrap(), &own);
    assert_eq!(kind("192.168.1.20"), AddressKind::Own);
    assert_eq!(kind("203.0.113.9"), AddressKind::Public);
    assert_eq!(kind("10.1.2.3"), AddressKind::Private);
    assert_eq!(kind("100.64.0.1"), AddressKind::Private);
    assert_eq!(kind("100.128.0.1"), AddressKind::Public);
    assert_eq!(kind("fd00::1"), AddressKind::Private);
    assert_eq!(kind("2001:db8::1"), AddressKind::Public);
}

#[test]
fn the_mapping_is_direct_same_varying_or_unknown() {
    let own: Vec<IpAddr> = vec!["192.168.1.20".parse().unwrap()];
    let a: SocketAddr = "203.0.113.9:40000".parse().unwrap();
    let b: SocketAddr = "203.0.113.9:40001".parse().unwrap();
    assert_eq!(mapping(5000, &own, &[]), Mapping::Unknown);
    assert_eq!(mapping(5000, &own, &[a]), Mapping::OneServer);
    assert_eq!(mapping(5000, &own, &[a, a]), Mapping::Same { servers: 2 });
    // A symmetric NAT: the port changes per destination.
    assert_eq!(
        mapping(5000, &own, &[a, a, b]),
        Mapping::Varies { servers: 3 }
    );
    let direct: SocketAddr = "192.168.1.20:5000".parse().unwrap();
    assert_eq!(mapping(5000, &own, &[direct]), Mapping::Direct);
    assert_eq!(mapping(5000, &own, &[direct, direct]), Mapping::Direct);
    // Own address but another port: a NAT on this machine (a container), not direct.
    let natted: SocketAddr = "192.168.1.20:6000".parse().unwrap();
    assert_eq!(
        mapping(5000, &own, &[natted, natted]),
        Mapping::Same { servers: 2 }
    );
}

fn ok(check: Check) -> Step {
    Step {
        check,
        server: "s:1".into(),
        outcome: Ok(Reached {
            mapped: None,
            mapped_kind: None,
            relayed: None,
        }),
        time: Duration::from_millis(5),
    }
}

fn failed(check: Check, f: Failure) -> Step {
    Step {
        outcome: Err(f),
        ..ok(check)
    }
}

fn levels_and_words(a: &[Advice]) -> Vec<(Level, String)> {
    a.iter().map(|a| (a.level, a.text.clone())).collect()
}

#[test]
fn everything_working_is_good_news_only() {
    let a = advise(
        &[
            ok(Check::Stun),
            ok(Check::TurnUdp),
            ok(Check::TurnTcp),
            ok(Check::TurnTls),
        ],
        Mapping::Same { servers: 2 },
    );
    assert!(a.iter().all(|a| a.level == Level::Good), "{a:?}");
    assert!(a[0].text.contains("over UDP, TCP, TLS"), "{a:?}");
    assert!(a[1].text.contains("same public address to all 2 servers"));
}

#[test]
fn no_services_at_all_says_ask_the_admin() {
    let a = advise(&[], Mapping::Unknown);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].level, Level::Problem);
    assert!(a[0].text.contains("offers no STUN or TURN service"));
}

#[test]
fn nothing_answering_says_so_first() {
    let a = advise(
        &[
            failed(Check::Stun, Failure::NoAnswer(3)),
            failed(Check::TurnUdp, Failure::Refused),
            failed(Check::TurnTcp, Failure::Refused),
        ],
        Mapping::Unknown,
    );
    assert_eq!(a[0].level, Level::Problem);
    assert!(
        a[0].text
            .contains("None of your server's STUN and TURN services answered (3 tried)"),
        "{a:?}"
    );
    // Not also "the relay did not work": one cause, said once.
    assert_eq!(a.len(), 1, "{a:?}");
}

#[test]
fn udp_blocked_but_tcp_relay_working_is_a_warning_not_a_failure() {
    let a = advise(
        &[
            failed(Check::Stun, Failure::NoAnswer(3)),
            failed(Check::TurnUdp, Failure::NoAnswer(3)),
            ok(Check::TurnTcp),
            ok(Check::TurnTls),
        ],
        Mapping::Unknown,
    );
    let got = levels_and_words(&a);
    assert_eq!(got[0].0, Level::Warning);
    assert!(got[0].1.contains("UDP seems blocked"), "{got:?}");
    assert!(got[0].1.contains("calls will go through the relay"));
    assert_eq!(got[1].0, Level::Good);
    assert!(got[1].1.contains("over TCP, TLS"));
}

#[test]
fn a_wrong_turn_secret_is_named() {
    let a = advise(
        &[
            ok(Check::Stun),
            failed(Check::TurnUdp, Failure::Credentials),
        ],
        Mapping::OneServer,
    );
    let got = levels_and_words(&a);
    assert!(
        got.iter()
            .any(|(l, t)| *l == Level::Problem && t.contains("do not share the same secret")),
        "{got:?}"
    );
    assert!(got
        .iter()
        .any(|(l, t)| *l == Level::Problem && t.contains("did not work over any transport")));
    assert!(got.iter().any(|(l, _)| *l == Level::Note));
    // Worst first.
    assert!(got.windows(2).all(|w| w[0].0 as u8 >= w[1].0 as u8));
}

#[test]
fn no_relay_and_a_symmetric_nat() {
    let a = advise(
        &[ok(Check::Stun), ok(Check::Stun)],
        Mapping::Varies { servers: 2 },
    );
    let got = levels_and_words(&a);
    assert!(
        got.iter().any(|(l, t)| *l == Level::Problem
            && t.contains("symmetric NAT")
            && t.contains("will not connect")),
        "{got:?}"
    );
    assert!(got
        .iter()
        .any(|(l, t)| *l == Level::Warning && t.contains("offers no relay")));
    let with_relay = advise(
        &[ok(Check::Stun), ok(Check::TurnUdp)],
        Mapping::Varies { servers: 2 },
    );
    assert!(with_relay
        .iter()
        .any(|a| a.level == Level::Warning && a.text.contains("will go through the relay")));
}
