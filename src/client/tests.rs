#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

/// Downgrade protection: a login without the binding an earlier one used is
/// flagged; a bound one is remembered; an account never bound is left alone.
#[test]
fn a_login_without_an_earlier_binding_is_a_downgrade() {
    assert_eq!(
        downgrade(Some("tls-exporter"), None),
        Binding::Remember("tls-exporter")
    );
    assert_eq!(
        downgrade(Some("tls-exporter"), Some("tls-exporter".into())),
        Binding::Remember("tls-exporter")
    );
    assert_eq!(
        downgrade(None, Some("tls-exporter".into())),
        Binding::Downgraded("tls-exporter".into())
    );
    assert_eq!(downgrade(None, None), Binding::Never);
}

/// Issue #12: only the entity asked may answer (a disco#info spoof, a roster
/// result from a stranger who guessed the id).
#[test]
fn only_the_entity_asked_may_answer() {
    let own = BareJid::new("alice@x").unwrap();
    let j = |s: &str| Jid::new(s).unwrap();
    // Our server or account, for what we asked without `to`.
    assert!(answered_by(&own, None, None));
    assert!(answered_by(&own, None, Some(&j("alice@x"))));
    assert!(answered_by(&own, None, Some(&j("x"))));
    assert!(!answered_by(&own, None, Some(&j("eve@y/z"))));
    // A contact's device, for what we asked it.
    let bob = j("bob@y/phone");
    assert!(answered_by(&own, Some(&bob), Some(&bob)));
    assert!(!answered_by(&own, Some(&bob), Some(&j("bob@y/other"))));
    assert!(!answered_by(&own, Some(&bob), Some(&j("eve@y/phone"))));
    assert!(!answered_by(&own, Some(&bob), None));
    // The server, asked by domain, may answer without `from`.
    assert!(answered_by(&own, Some(&j("x")), None));
}

#[test]
fn connections_that_die_young_back_off_to_30_s() {
    let secs: Vec<f64> = (1..=10).map(|n| young_backoff(n).as_secs_f64()).collect();
    assert_eq!(secs, [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]);
    assert_eq!(young_backoff(u32::MAX), Duration::from_secs(30));
}
