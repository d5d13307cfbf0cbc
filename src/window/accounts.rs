//! Accounts in the window: signing in (and creating an account), several accounts
//! side by side, switching, a deleted account leaving, and each client's events
//! forwarded to the window.

use super::*;

impl App {
    /// A model for another account: the devices and settings carry over.
    pub(super) fn fresh_model(&self) -> Model {
        let mut m = Model {
            now_ms: self.model.now_ms,
            ..Default::default()
        };
        carry_devices(&self.model, &mut m);
        m
    }

    /// Runs `f` with `account`'s model and client in place (for its events).
    pub(super) fn with_account(&mut self, account: &str, f: impl FnOnce(&mut App)) {
        let Some(mut m) = self.stash.remove(account) else {
            return f(self);
        };
        std::mem::swap(&mut self.model, &mut m);
        let client = std::mem::replace(&mut self.client, self.clients.get(account).cloned());
        f(self);
        self.client = client;
        std::mem::swap(&mut self.model, &mut m);
        self.stash.insert(account.to_string(), m);
    }

    /// Shows `account` (its contacts, conversations, calls).
    pub(super) fn switch_to(&mut self, account: &str) {
        let Some(mut m) = self.stash.remove(account) else {
            return;
        };
        carry_devices(&self.model, &mut m);
        std::mem::swap(&mut self.model, &mut m);
        m.adding_account = false;
        if let Some(old) = m.account.clone() {
            self.stash.insert(old, m);
        }
        self.client = self.clients.get(account).cloned();
        self.sync_accounts();
    }

    /// The account shown was deleted from its server: its client stops, its password
    /// leaves the keyring, and another signed-in account (or the form) is shown.
    pub(super) fn account_deleted(&mut self) {
        let Some(gone) = self.model.account.clone() else {
            return;
        };
        self.clients.remove(&gone);
        let forget = gone.clone();
        self.runtime.spawn_blocking(move || {
            let _ = crate::secrets::forget(&forget);
        });
        let next = self.stash.keys().next().cloned();
        match next {
            Some(other) => {
                self.switch_to(&other);
                self.stash.remove(&gone);
            }
            None => {
                self.model = self.fresh_model();
                self.client = None;
            }
        }
        self.model.notice = Some(banter_ui::t!("account-deleted", account = &gone));
        self.sync_accounts();
    }

    /// Every model knows the list of accounts (for the switcher).
    pub(super) fn sync_accounts(&mut self) {
        let mut all: Vec<String> = self.clients.keys().cloned().collect();
        all.sort();
        self.model.accounts = all.clone();
        for m in self.stash.values_mut() {
            m.accounts = all.clone();
        }
    }

    /// The saved accounts, signed in with their passwords from the OS keyring; the
    /// form (pre-filled) when the keyring has none or cannot be reached.
    pub(super) fn resume_saved_account(&mut self) {
        let accounts = banter::client::offline::Offline::open(&self.data_dir)
            .ok()
            .and_then(|s| s.accounts().ok())
            .unwrap_or_default();
        let Some(first) = accounts.first() else {
            return;
        };
        self.model.form.jid = first.jid.clone();
        self.model.form.server = first.server.clone().unwrap_or_default();
        self.model.form.ca_file = first.ca_file.clone().unwrap_or_default();
        self.model.form.busy = true;
        // Every saved account signs in; the first one online is shown.
        for account in accounts {
            let tx = self.events_tx.clone();
            let ctx = self.ctx.clone();
            self.runtime.spawn_blocking(move || {
                let ev = match crate::secrets::load(&account.jid) {
                    Ok(Some(password)) => AppEvent::Saved(StartAccount {
                        jid: account.jid,
                        password,
                        server: account.server,
                        ca_file: account.ca_file,
                        register: false,
                    }),
                    Ok(None) => AppEvent::LoginFailed(banter_ui::t!(
                        "account-enter-password-of",
                        account = &account.jid
                    )),
                    Err(e) => AppEvent::LoginFailed(e.to_string()),
                };
                let _ = tx.send(ev);
                if let Some(ctx) = ctx {
                    ctx.request_repaint();
                }
            });
        }
    }

    pub(super) fn sign_in(&mut self, account: StartAccount, remember: bool, ctx: egui::Context) {
        self.sign_in_keeping(account, remember, remember, ctx);
    }

    /// `remember`: save the password once it proved right; `tokens`: keep FAST
    /// tokens in the keyring (an account whose password is kept there).
    pub(super) fn sign_in_keeping(
        &mut self,
        account: StartAccount,
        remember: bool,
        tokens: bool,
        ctx: egui::Context,
    ) {
        let StartAccount {
            jid,
            password,
            server,
            ca_file,
            register,
        } = account;
        let Ok(bare) = BareJid::new(&jid) else {
            self.model.form.busy = false;
            self.model.form.error = Some(banter_ui::t!("account-invalid-address", address = &jid));
            return;
        };
        let keep = remember.then(|| password.clone());
        let mut cfg = Config::new(bare, password, self.data_dir.clone());
        // A remembered password: the FAST tokens that stand in for it are kept too.
        if tokens {
            cfg.tokens = Some(crate::secrets::token_store(&jid));
        }
        cfg.server = server.as_deref().and_then(banter::client::parse_server);
        cfg.ca_file = ca_file.map(PathBuf::from);
        cfg.media = Some(self.media.clone());
        if register {
            // Created first, then signed in like any account.
            let tx = self.events_tx.clone();
            self.runtime.spawn(async move {
                let ev = match client::register(&cfg).await {
                    Ok(()) => AppEvent::Registered(Box::new(cfg), keep),
                    Err(e) => AppEvent::LoginFailed(banter_ui::t!(
                        "account-not-created",
                        error = e.to_string()
                    )),
                };
                let _ = tx.send(ev);
                ctx.request_repaint();
            });
            return;
        }
        self.start_client(cfg, keep, ctx);
    }

    /// "Try it locally": starts the private server and the echo contact, then signs
    /// in to it (`AppEvent::Local`).
    pub(super) fn try_locally(&mut self, ctx: egui::Context) {
        self.model.form.busy = true;
        self.model.form.error = None;
        let dir = self.data_dir.join("try-locally");
        let tx = self.events_tx.clone();
        self.runtime.spawn(async move {
            let ev = match banter::client::TryLocally::start(&dir).await {
                Ok(local) => AppEvent::Local(Box::new(local)),
                Err(e) => AppEvent::LoginFailed(e.to_string()),
            };
            let _ = tx.send(ev);
            ctx.request_repaint();
        });
    }

    /// Runs a client for `cfg`, its events feeding the window; `keep` is a password
    /// to save in the keyring once it proved right.
    pub(super) fn start_client(
        &mut self,
        mut cfg: Config,
        keep: Option<String>,
        ctx: egui::Context,
    ) {
        cfg.call_policy.anyone = self.model.settings.calls_from_anyone;
        cfg.omemo = self.model.settings.omemo;
        cfg.presence = Some((desktop::show_of(self.model.status), None));
        let jid = cfg.jid.to_string();
        self.desktop
            .started_with
            .insert(jid.clone(), self.model.status);
        let tx = self.events_tx.clone();
        let queued = self.queued.clone();
        self.forwarders.retain(|h| !h.is_finished());
        let forwarder = self.runtime.spawn(async move {
            match client::start(cfg).await {
                Ok(mut handle) => {
                    if let Some(password) = keep {
                        // A working password only; D-Bus blocks, so off the runtime.
                        let (jid, tx) = (jid.clone(), tx.clone());
                        tokio::task::spawn_blocking(move || {
                            if let Err(e) = crate::secrets::save(&jid, &password) {
                                let _ = tx.send(AppEvent::Notice(banter_ui::t!(
                                    "account-password-not-saved",
                                    error = e.to_string()
                                )));
                            }
                        });
                    }
                    let _ = tx.send(AppEvent::Online(handle.sender(), jid.clone()));
                    ctx.request_repaint();
                    // A window that is not drawn takes no events: see backlog.rs.
                    let mut backlog = crate::backlog::Backlog::default();
                    let mut tick = tokio::time::interval(Duration::from_millis(500));
                    loop {
                        let waiting = queued.load(std::sync::atomic::Ordering::Relaxed);
                        let items = tokio::select! {
                            ev = handle.next_event() => match ev {
                                Some(ev) => backlog.admit(ev, waiting),
                                None => break,
                            },
                            _ = tick.tick() => backlog.release(waiting),
                        };
                        if items.is_empty() {
                            continue;
                        }
                        for item in items {
                            let ev = match item {
                                Queued::Event(ev) => AppEvent::Client(jid.clone(), ev),
                                Queued::Reload(peer) => AppEvent::Reload(jid.clone(), peer),
                            };
                            queued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if tx.send(ev).is_err() {
                                return;
                            }
                        }
                        ctx.request_repaint();
                    }
                }
                Err(e) => {
                    let _ = tx.send(AppEvent::LoginFailed(e.to_string()));
                    ctx.request_repaint();
                }
            }
        });
        self.forwarders.push(forwarder);
    }
}
