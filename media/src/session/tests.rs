#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

/// A bug in a media thread or task ends the call with a reason, not in silence.
#[tokio::test]
async fn a_panicking_media_thread_or_task_fails_the_call() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    guarded("audio engine", &tx, || panic!("a bug"));
    assert!(matches!(
        rx.try_recv(),
        Ok(MediaEvent::Failed(MediaError::Internal("audio engine")))
    ));
    let task = spawn_guarded("media receiver", tx.clone(), async { panic!("a bug") });
    task.await.unwrap();
    assert!(matches!(
        rx.try_recv(),
        Ok(MediaEvent::Failed(MediaError::Internal("media receiver")))
    ));
    guarded("audio engine", &tx, || {});
    assert!(rx.try_recv().is_err(), "no event when nothing went wrong");
}

#[test]
fn binds_only_allowed_interfaces() {
    let mut cfg = MediaConfig::new(SourceSpec::Silence, SinkSpec::Null);
    assert_eq!(bind_addrs(&cfg.allow), ["0.0.0.0:0"]);
    cfg.allow = vec![Cidr::parse("127.0.0.0/8").unwrap()];
    assert_eq!(bind_addrs(&cfg.allow), ["127.0.0.1:0"]);
    cfg.allow = vec![Cidr::parse("0.0.0.0/0").unwrap()];
    let all = bind_addrs(&cfg.allow);
    assert!(all.contains(&"127.0.0.1:0".to_string()), "{all:?}");
    // A range no interface is in: no address of another range is bound.
    cfg.allow = vec![Cidr::parse("203.0.113.0/24").unwrap()];
    assert_eq!(bind_addrs(&cfg.allow), ["127.0.0.1:0"]);
}

#[test]
fn cidr_contains() {
    let c = Cidr::parse("127.0.0.0/8").unwrap();
    assert!(c.contains("127.1.2.3".parse().unwrap()));
    assert!(!c.contains("10.0.0.1".parse().unwrap()));
    assert!(Cidr::parse("10.0.0.0/33").is_err());
    assert!(Cidr::parse("::1/128")
        .unwrap()
        .contains("::1".parse().unwrap()));
}
