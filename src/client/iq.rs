//! IQs: requests we serve, and the answers to ours (only from whom we asked).

use super::*;

/// Why we sent an IQ, to route its answer.
#[derive(Debug)]
pub(super) enum IqPurpose {
    RosterGet,
    RosterSet,
    Carbons,
    Mam {
        queryid: String,
    },
    Disco {
        jid: Jid,
        ver: Option<String>,
    },
    /// A ping that confirms messages sent before it (servers without XEP-0198).
    AckPing {
        ids: Vec<String>,
    },
    /// STUN/TURN servers (XEP-0215).
    ExtDisco,
    /// STUN/TURN servers (XEP-0215) for a network check.
    NetCheck,
    /// OMEMO device lists, bundles and publishing.
    Omemo(omemo::OmemoIq),
    /// The client a call's peer runs (XEP-0092), for the call report.
    PeerVersion {
        call: String,
    },
    ChangePassword {
        password: String,
    },
    DeleteAccount,
    /// Rooms, MUC services and bookmarks (rooms/admin.rs).
    Room(rooms::RoomIq),
    /// A contact's picture (XEP-0084), announced under its SHA-1.
    AvatarData {
        jid: BareJid,
        id: String,
    },
    /// Our picture's data; its metadata goes once the server took it.
    AvatarPublished {
        png: Vec<u8>,
        width: u32,
        height: u32,
    },
    AvatarMetadata {
        id: String,
    },
    /// A contact's vCard, for its picture `id` (XEP-0153).
    VcardPhoto {
        jid: BareJid,
        id: String,
    },
    /// The blocklist (XEP-0191), and a change of it.
    Blocklist,
    Block {
        jid: BareJid,
        block: bool,
    },
    /// The server's services, and what each is: looking for file upload (XEP-0363).
    UploadItems,
    UploadInfo {
        jid: Jid,
    },
    /// A slot for a file to send.
    UploadSlot(Box<transfer::Outgoing>),
}

impl State {
    /// True for stanzas from our server or our own account (trusted for roster pushes).
    pub(super) fn is_self_or_server(&self, from: Option<&Jid>) -> bool {
        match from {
            None => true,
            // Our bare JID exactly (RFC 6121 §2.1.6): a device of ours is not the server.
            Some(j) => j.as_str() == self.own.as_str(),
        }
    }

    pub(super) fn on_iq(&mut self, iq: Iq, out: &mut Vec<Stanza>) {
        match iq {
            Iq::Get {
                from, id, payload, ..
            } => {
                // Some(payload): we answer (payload may be empty); None: not served.
                let answer: Option<Option<Element>> = if payload.is("query", ns::DISCO_INFO) {
                    let node = payload.attr("node");
                    let ours = format!("{}#{}", caps::NODE, caps::own_ver());
                    (node.is_none() || node == Some(ours.as_str()))
                        .then(|| Some(disco::own_info(node)))
                } else if payload.is("ping", ns::PING) {
                    Some(None)
                } else if payload.is("query", ns::VERSION) {
                    Some(Some(crate::xmpp::version::own()))
                } else {
                    None
                };
                match answer {
                    Some(payload) => out.push(iq_result(from, id, payload)),
                    None => out.push(iq_error(from, id, DefinedCondition::ServiceUnavailable)),
                }
            }
            Iq::Set {
                from, id, payload, ..
            } => {
                if payload.is("query", ns::ROSTER) {
                    if !self.is_self_or_server(from.as_ref()) {
                        tracing::warn!(?from, "ignoring roster push from a stranger");
                        out.push(iq_error(from, id, DefinedCondition::Forbidden));
                        return;
                    }
                    self.apply_roster_push(&payload);
                    out.push(iq_result(from, id, None));
                } else if self.on_block_push(&from, &id, &payload, out) {
                } else {
                    out.push(iq_error(from, id, DefinedCondition::ServiceUnavailable));
                }
            }
            Iq::Result {
                id, payload, from, ..
            } => {
                let Some(purpose) = self.take_pending(&id, from.as_ref()) else {
                    return;
                };
                self.on_iq_result(purpose, from, payload, out);
            }
            Iq::Error {
                id, error, from, ..
            } => {
                let Some(purpose) = self.take_pending(&id, from.as_ref()) else {
                    return;
                };
                tracing::info!(?purpose, condition = ?error.defined_condition, "iq failed");
                match purpose {
                    IqPurpose::Mam { .. } => {
                        self.catching_up = false;
                        self.caught_up_after_gap();
                        self.emit(Event::CaughtUp {
                            count: self.catch_up_count,
                        });
                    }
                    IqPurpose::ChangePassword { .. } | IqPurpose::DeleteAccount => {
                        self.emit(Event::AccountRefused {
                            message: register::account_refusal(&error),
                        })
                    }
                    IqPurpose::RosterSet => self.emit(Event::Error {
                        message: format!(
                            "the server refused the roster change: {:?}",
                            error.defined_condition
                        ),
                    }),
                    IqPurpose::AckPing { ids } => {
                        // Even an error answer means the server processed what came before.
                        self.confirm_in_flight = false;
                        for id in ids {
                            self.mark_acked(&id);
                        }
                    }
                    IqPurpose::Room(q) => self.on_room_iq(q, Err(error.defined_condition), out),
                    IqPurpose::Blocklist => self.on_blocklist(None),
                    IqPurpose::UploadItems => self.on_upload_items(None, out),
                    IqPurpose::UploadInfo { jid } => self.on_upload_info(jid, None, out),
                    IqPurpose::UploadSlot(up) => {
                        let why = error
                            .texts
                            .values()
                            .next()
                            .cloned()
                            .unwrap_or_else(|| format!("{:?}", error.defined_condition));
                        self.on_upload_slot(*up, Err(why))
                    }
                    IqPurpose::AvatarData { jid, id } => self.on_avatar_data(jid, id, None),
                    IqPurpose::VcardPhoto { jid, id } => self.on_vcard(jid, id, None),
                    IqPurpose::AvatarPublished { .. } | IqPurpose::AvatarMetadata { .. } => self
                        .emit(Event::Error {
                            message: format!(
                                "the server did not take your picture ({:?})",
                                error.defined_condition
                            ),
                        }),
                    IqPurpose::Block { jid, block } => {
                        let why = format!("{:?}", error.defined_condition);
                        self.on_block_answer(jid, block, Some(why))
                    }
                    IqPurpose::Omemo(q) => {
                        tracing::info!(?q, condition = ?error.defined_condition, "OMEMO question refused");
                        self.omemo_answer(q, Err(error.defined_condition), out)
                    }
                    // A server without XEP-0215 offers nothing to check: that is the finding.
                    IqPurpose::NetCheck => self.start_net_check(Vec::new()),
                    // Nothing more will come for this ver (a later presence asks again).
                    IqPurpose::Disco { ver: Some(ver), .. } => {
                        self.caps_asked.remove(&ver);
                    }
                    _ => {}
                }
            }
        }
    }

    /// The purpose of our pending IQ `id`, if `from` may answer it.
    pub(super) fn take_pending(&mut self, id: &str, from: Option<&Jid>) -> Option<IqPurpose> {
        let (_, to) = self.pending_iqs.get(id)?;
        if !answered_by(&self.own, to.as_ref(), from) {
            tracing::warn!(?from, expected = ?to, "answer to our IQ from the wrong JID ignored");
            return None;
        }
        self.pending_iqs.remove(id).map(|(purpose, _)| purpose)
    }

    pub(super) fn on_iq_result(
        &mut self,
        purpose: IqPurpose,
        from: Option<Jid>,
        payload: Option<Element>,
        out: &mut Vec<Stanza>,
    ) {
        let account = self.own.to_string();
        match purpose {
            IqPurpose::RosterGet => {
                let Some(q) = payload else { return };
                let contacts = roster::parse_items(&q);
                if let Err(e) = self.store.replace_roster(&account, &contacts) {
                    self.store_err(e);
                }
                let jids: Vec<BareJid> = contacts
                    .iter()
                    .filter_map(|c| BareJid::new(&c.jid).ok())
                    .collect();
                self.emit(Event::Roster { contacts });
                // The contacts are on screen now: their pictures known from before.
                self.avatars_from_store(jids);
            }
            IqPurpose::RosterSet | IqPurpose::Carbons => {}
            IqPurpose::ChangePassword { password } => {
                if let Ok(mut p) = self.password.lock() {
                    *p = password.clone();
                }
                // The OMEMO keys' data key is wrapped with the password: rewrapped,
                // or the next sign-in could not unlock them (a new identity).
                self.omemo_rewrap(&password);
                self.config.password = password;
                // A token taken before the change must not outlive the old password
                // (Prosody's module of 2023 keeps them): logged out; the next login
                // uses the new password and gets a new token.
                if let Some(opts) = &self.fast_logout {
                    // Forgotten here at once (no reconnect uses them), then made
                    // useless at the server.
                    let old = connect::forget_fast(opts);
                    self.logouts.push(tokio::spawn(async move {
                        if let Err(e) = connect::invalidate_fast(&old).await {
                            tracing::warn!(error = %e, "the old sign-in tokens were not dropped");
                        }
                    }));
                }
                self.emit(Event::PasswordChanged);
            }
            IqPurpose::Blocklist => self.on_blocklist(payload.as_ref()),
            IqPurpose::AvatarData { jid, id } => self.on_avatar_data(jid, id, payload.as_ref()),
            IqPurpose::VcardPhoto { jid, id } => self.on_vcard(jid, id, payload.as_ref()),
            IqPurpose::AvatarPublished { png, width, height } => {
                self.avatar_data_published(png, width, height, out)
            }
            IqPurpose::AvatarMetadata { id } => self.avatar_published(&id),
            IqPurpose::Block { jid, block } => self.on_block_answer(jid, block, None),
            IqPurpose::UploadItems => self.on_upload_items(payload.as_ref(), out),
            IqPurpose::UploadInfo { jid } => self.on_upload_info(jid, payload.as_ref(), out),
            IqPurpose::UploadSlot(up) => self.on_upload_slot(*up, Ok(payload.as_ref())),
            IqPurpose::DeleteAccount => {
                self.deleted = true;
                if let Err(e) = self.store.forget_account(&account) {
                    self.store_err(e);
                }
                self.emit(Event::AccountDeleted);
            }
            IqPurpose::ExtDisco => {
                if let Some(p) = payload {
                    self.ice_servers = crate::xmpp::extdisco::parse(&p);
                    tracing::debug!(servers = ?self.ice_servers, "external services");
                }
            }
            IqPurpose::Omemo(q) => self.omemo_answer(q, Ok(payload), out),
            IqPurpose::Room(q) => self.on_room_iq(q, Ok(payload), out),
            IqPurpose::PeerVersion { call } => {
                if let Some(client) = payload.as_ref().and_then(crate::xmpp::version::client_of) {
                    self.emit(Event::CallPeer { id: call, client });
                }
            }
            IqPurpose::NetCheck => {
                let servers = payload
                    .as_ref()
                    .map(crate::xmpp::extdisco::parse)
                    .unwrap_or_default();
                self.start_net_check(servers);
            }
            IqPurpose::AckPing { ids } => {
                self.confirm_in_flight = false;
                for id in ids {
                    self.mark_acked(&id);
                }
            }
            IqPurpose::Mam { queryid } => {
                if queryid != self.mam_queryid {
                    return;
                }
                let fin = payload.as_ref().and_then(mam::fin);
                let (complete, last) = fin.unwrap_or((true, None));
                let previous = self.store.get_meta(&account, MAM_LAST).ok().flatten();
                if let Some(last) = &last {
                    if let Err(e) = self.store.set_meta(&account, MAM_LAST, last) {
                        self.store_err(e);
                    }
                }
                // Results of a finished query are no longer believed.
                self.mam_queryid.clear();
                match (complete, last) {
                    // A server that names the same page again would page forever.
                    (false, Some(last)) if previous.as_deref() != Some(last.as_str()) => {
                        self.request_mam_page(&mam::From::After(last), out)
                    }
                    _ => {
                        self.catching_up = false;
                        self.caught_up_after_gap();
                        self.emit(Event::CaughtUp {
                            count: self.catch_up_count,
                        });
                    }
                }
            }
            IqPurpose::Disco { jid, ver } => {
                let Some(q) = payload else { return };
                let Some((_, features)) = disco::parse_info(&q) else {
                    return;
                };
                if let Some(ver) = &ver {
                    if disco::matches_ver(&q, ver) {
                        if let Err(e) = self.store.save_caps(ver, &features) {
                            self.store_err(e);
                        }
                    } else {
                        tracing::warn!(%jid, %ver, "disco#info does not match advertised caps");
                    }
                }
                let jid = from.unwrap_or(jid);
                let mut jids = ver
                    .and_then(|v| self.caps_asked.remove(&v))
                    .map(|(_, jids)| jids)
                    .unwrap_or_default();
                if !jids.contains(&jid) {
                    jids.push(jid);
                }
                for j in jids {
                    self.learned_features(j, features.clone(), out);
                }
            }
        }
    }

    pub(super) fn apply_roster_push(&mut self, query: &Element) {
        let account = self.own.to_string();
        for c in roster::parse_items(query) {
            if c.subscription == "remove" {
                if let Err(e) = self.store.remove_contact(&account, &c.jid) {
                    self.store_err(e);
                }
                self.emit(Event::ContactRemoved { jid: c.jid });
            } else {
                if let Err(e) = self.store.upsert_contact(&account, &c) {
                    self.store_err(e);
                }
                self.emit(Event::ContactChanged { contact: c });
            }
        }
    }
}

/// Whether `from` may answer an IQ we sent to `sent_to` (RFC 6120 §10.3.3: the server
/// answers for the account without `from` or with our bare JID). Anyone else's answer
/// with a guessed id is a spoof.
pub(super) fn answered_by(own: &BareJid, sent_to: Option<&Jid>, from: Option<&Jid>) -> bool {
    let ours = |j: &Jid| j.to_bare() == *own || j.as_str() == own.domain().as_str();
    match (sent_to, from) {
        (None, None) => true,
        (None, Some(f)) => ours(f),
        (Some(t), None) => ours(t),
        (Some(t), Some(f)) => t == f || (ours(t) && ours(f)),
    }
}

/// An IQ result to `to`, answering request `id`.
pub(super) fn iq_result(to: Option<Jid>, id: String, payload: Option<Element>) -> Stanza {
    Iq::Result {
        from: None,
        to,
        id,
        payload,
    }
    .into()
}

pub(super) fn iq_error(to: Option<Jid>, id: String, cond: DefinedCondition) -> Stanza {
    let err_type = match cond {
        DefinedCondition::Forbidden => ErrorType::Auth,
        _ => ErrorType::Cancel,
    };
    Iq::Error {
        from: None,
        to,
        id,
        error: StanzaError::new(err_type, cond, "en", ""),
        payload: None,
    }
    .into()
}
