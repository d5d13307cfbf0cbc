//! Signing in again: the reconnector (back-off for connections that die young) and
//! the downgrade check of channel binding.

use super::*;

impl State {
    /// A server that bound our login to the TLS channel before (SCRAM-PLUS) and does
    /// not now may have been put behind someone who strips it (RFC 5802 §6): said,
    /// once per session. The binding used is remembered per account.
    pub(super) fn check_downgrade(&mut self) {
        let used = self.binding.lock().ok().and_then(|b| *b);
        let account = self.own.to_string();
        let before = self.store.get_meta(&account, SASL_BINDING).ok().flatten();
        match downgrade(used, before) {
            Binding::Remember(b) => {
                if let Err(e) = self.store.set_meta(&account, SASL_BINDING, b) {
                    self.store_err(e);
                }
            }
            Binding::Downgraded(b) => self.emit(Event::Error {
                message: format!(
                    "{} signed you in without channel binding this time, though it used it ({b}) before: someone between you and the server could be weakening the login. If the server was not changed, check your network.",
                    self.own.domain()
                ),
            }),
            Binding::Never => {}
        }
    }
}

/// Hands the stream the first connection, then reconnects with back-off (0.5 s → 30 s),
/// reporting every failure to the client task.
///
/// A connection that dies before its stream was set up (`established` never set by
/// the client for it) is usually a failed XEP-0198 resumption: Prosody 0.12 answers a
/// resume for a session it no longer knows (after a restart) with `<failed/>` without
/// `h`, which tokio-xmpp cannot parse, so it would retry the resumption forever. The
/// next connection is then handed over without the stream-management feature, which
/// makes tokio-xmpp drop its resumption state and start a fresh session (our own
/// catch-up and resend recover what was in flight). A connection that was up, however
/// briefly, resumes: what it was carrying (a call's signaling) is only kept that way.
pub(super) fn reconnector(
    first: Connection,
    opts: ConnectOptions,
    password: std::sync::Arc<std::sync::Mutex<String>>,
    fail_tx: mpsc::UnboundedSender<ConnectError>,
    established: Arc<AtomicBool>,
) -> Reconnector {
    let mut first = Some(first);
    let mut young_deaths = 0u32;
    let last_handed = std::sync::Arc::new(std::sync::Mutex::new(std::time::Instant::now()));
    Box::new(move |_location, slot| {
        if let Some(conn) = first.take() {
            let _ = slot.send(conn);
            return;
        }
        let fresh = !established.swap(false, Ordering::SeqCst);
        let mut opts = opts.clone();
        // The password may have been changed since (Command::ChangePassword).
        if let Ok(p) = password.lock() {
            opts.password = p.clone();
        }
        let fail_tx = fail_tx.clone();
        let last_handed = last_handed.clone();
        let died_young = last_handed
            .lock()
            .map(|t| t.elapsed() < Duration::from_secs(3))
            .unwrap_or(false);
        young_deaths = if died_young { young_deaths + 1 } else { 0 };
        let young_deaths = young_deaths;
        tokio::spawn(async move {
            if died_young {
                // Whatever kills each new connection (a server, a stanza) must not turn
                // into a reconnect storm: 0.2 s, then doubling up to 30 s, reported.
                let pause = young_backoff(young_deaths);
                if young_deaths >= 3 {
                    let _ = fail_tx.send(ConnectError::Unstable {
                        count: young_deaths,
                        retry_secs: pause.as_secs_f64().ceil() as u64,
                    });
                }
                tokio::time::sleep(pause).await;
            }
            let mut delay = Duration::from_millis(500);
            loop {
                if slot.is_closed() {
                    return;
                }
                match connect::login(&opts).await {
                    Ok(mut conn) => {
                        if fresh {
                            tracing::info!("fresh session instead of stream resumption");
                            conn.features.stream_management = None;
                        }
                        if let Ok(mut t) = last_handed.lock() {
                            *t = std::time::Instant::now();
                        }
                        let _ = slot.send(conn);
                        return;
                    }
                    Err(e) => {
                        tracing::info!(error = %e, retry_in = ?delay, "reconnect failed");
                        if fail_tx.send(e).is_err() {
                            return;
                        }
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(30));
                    }
                }
            }
        });
    })
}

/// The pause before reconnecting after the `n`-th connection in a row that died within
/// seconds of sign-in.
pub(super) fn young_backoff(n: u32) -> Duration {
    let ms = 200u64.saturating_mul(1u64 << n.saturating_sub(1).min(10));
    Duration::from_millis(ms.min(30_000))
}

/// What a login's channel binding means, given the one used before.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Binding {
    /// Bound: remember it.
    Remember(&'static str),
    /// Not bound, though logins of this account were (with this binding).
    Downgraded(String),
    /// Never bound.
    Never,
}

pub(super) fn downgrade(used: Option<&'static str>, before: Option<String>) -> Binding {
    match (used, before) {
        (Some(b), _) => Binding::Remember(b),
        (None, Some(b)) => Binding::Downgraded(b),
        (None, None) => Binding::Never,
    }
}
