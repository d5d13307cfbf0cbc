//! Signing in again: the reconnector (back-off for connections that die young) and
//! the downgrade check of channel binding.

use super::*;
use crate::xmpp::fast::FastState;

impl State {
    /// A server that bound our login to the TLS channel before (SCRAM-PLUS) and does
    /// not now may have been put behind someone who strips it (RFC 5802 §6): said,
    /// once per session. The binding used is remembered per account.
    pub(super) fn check_downgrade(&mut self) {
        // A FAST token (HT-*-NONE) carries no binding; that says nothing of a
        // stripped SCRAM-PLUS.
        if self.login.lock().map(|l| l.fast).unwrap_or(false) {
            return;
        }
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

    /// How the latest login went, for the `connected` event.
    pub(super) fn sign_in(&self) -> Option<SignIn> {
        let l = self.login.lock().ok()?;
        (!l.mechanism.is_empty()).then(|| SignIn {
            mechanism: l.mechanism.clone(),
            sasl2: l.sasl2,
            bind2: l.bind2,
            fast: l.fast,
            binding: l.binding,
        })
    }
}

/// Logs this device out of FAST (XEP-0484): the tokens `config.tokens` holds (the
/// newest and the one it replaced, both of which the server keeps) are invalidated
/// at the server, then forgotten. The password is not touched. Nothing to do
/// without a token store.
pub async fn sign_out(config: &Config) -> Result<(), ClientError> {
    let Some(keeper) = config.tokens.clone() else {
        return Ok(());
    };
    let id = {
        let store = Store::open_dir(&config.data_dir)?;
        device_id(&store, config)
    };
    let (fast, _) = fast_state(id, config).await;
    let mut opts = account_options(config)?;
    opts.fast = Some(fast);
    connect::invalidate_fast(&opts).await?;
    let k = keeper.0.clone();
    let _ = tokio::task::spawn_blocking(move || k.save(None)).await;
    Ok(())
}

/// The connector's options for a one-off exchange of `config`'s account (register,
/// FAST logout): its server, trust and timeout.
pub(super) fn account_options(config: &Config) -> Result<ConnectOptions, ClientError> {
    let mut opts = ConnectOptions::new(
        Jid::from(config.jid.clone()),
        config.password.clone(),
        tls::build(config.ca_file.as_deref())?,
    );
    opts.server = config.server.clone();
    opts.timeout = config.connect_timeout;
    Ok(opts)
}

/// This device's user-agent id for the account (kept in the store), made once.
pub(super) fn device_id(store: &Store, config: &Config) -> String {
    let account = config.jid.to_string();
    match store.get_meta(&account, SASL2_CLIENT_ID) {
        Ok(Some(id)) => id,
        _ => {
            let id = FastState::new().client_id;
            if let Err(e) = store.set_meta(&account, SASL2_CLIENT_ID, &id) {
                tracing::warn!(error = %e, "cannot keep the device id for FAST");
            }
            id
        }
    }
}

/// The account's FAST state: what the token store keeps for this device (the store
/// remembers the device's user-agent id, which tokens are bound to), else a fresh
/// one; and the callback that writes it back there whenever it changes.
pub(super) async fn fast_state(
    id: String,
    config: &Config,
) -> (
    Arc<std::sync::Mutex<FastState>>,
    Option<connect::TokenSaved>,
) {
    let mut state = FastState {
        client_id: id.clone(),
        ..Default::default()
    };
    if let Some(keeper) = &config.tokens {
        let k = keeper.0.clone();
        let kept = tokio::task::spawn_blocking(move || k.load())
            .await
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_str::<FastState>(&t).ok());
        if let Some(kept) = kept.filter(|k| k.client_id == id) {
            state = kept;
        }
    }
    let state = Arc::new(std::sync::Mutex::new(state));
    let on_token = config.tokens.clone().map(|keeper| {
        let state = state.clone();
        let writing = Arc::new(std::sync::Mutex::new(()));
        connect::TokenSaved(Arc::new(move || {
            let (k, state, writing) = (keeper.0.clone(), state.clone(), writing.clone());
            // Written off the async threads, one write at a time, each taking the
            // state as it is then: the last one leaves the newest.
            tokio::task::spawn_blocking(move || {
                let _one = writing.lock();
                let json = state.lock().ok().and_then(|s| {
                    (s.token.is_some() || s.previous.is_some())
                        .then(|| serde_json::to_string(&*s).ok())
                        .flatten()
                });
                k.save(json.as_deref());
            });
        }))
    });
    (state, on_token)
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
        // Bind 2 binds in the login itself; tokio-xmpp resumes only an unbound
        // stream, so only a fresh session takes it.
        opts.bind2 = fresh;
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
