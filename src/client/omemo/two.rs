//! OMEMO 2 (`urn:xmpp:omemo:2`) in the account, beside OMEMO 0.3: our device's OMEMO
//! 2 bundle and device list published (the same device, one identity); contacts'
//! OMEMO 2 lists fetched and followed; a device its owner lists for OMEMO 2 gets
//! OMEMO 2 (an SCE envelope), the others OMEMO 0.3, in one message; OMEMO 2 messages
//! to us decrypted, a session a device began answered with an empty message, one
//! that fails to decrypt repaired with a new session.

use crate::omemo::twomemo::{self, Bundle as Bundle2, Encrypted as Encrypted2};

use super::*;

impl State {
    /// Online: our OMEMO 2 device list asked for (to add ourselves), our bundle published.
    pub(super) fn omemo2_online(&mut self, out: &mut Vec<Stanza>) {
        self.omemo.lists2.clear();
        self.omemo.lists2_asked.clear();
        self.omemo.bundles2.clear();
        self.omemo.bundles2_asked.clear();
        self.omemo.own_list2_read = false;
        let own = self.own.clone();
        self.iq(
            IqPurpose::Omemo(OmemoIq::OwnList2),
            |id| pep::fetch(id, &own, twomemo::DEVICES_NODE),
            out,
        );
        self.omemo2_publish_bundle(out);
    }

    pub(super) fn omemo2_publish_bundle(&mut self, out: &mut Vec<Stanza>) {
        let Some(o) = &self.omemo.omemo else { return };
        let (device, bundle) = match o.bundle2() {
            Ok(b) => (o.device_id(), b),
            Err(e) => return tracing::warn!(error = %e, "no OMEMO 2 bundle"),
        };
        self.omemo.publishing += 1;
        self.iq(
            IqPurpose::Omemo(OmemoIq::Publish),
            |id| pep::publish_bundle2(id, device, bundle),
            out,
        );
    }

    pub(super) fn publish_own_list2(&mut self, mut ids: Vec<u32>, out: &mut Vec<Stanza>) {
        let Some(me) = self.omemo.omemo.as_ref().map(Omemo::device_id) else {
            return;
        };
        if ids.contains(&me) {
            return;
        }
        ids.push(me);
        self.omemo.publishing += 1;
        let list = twomemo::device_list(&ids);
        self.iq(
            IqPurpose::Omemo(OmemoIq::Publish),
            |id| pep::publish(id, twomemo::DEVICES_NODE, list),
            out,
        );
    }

    /// The answer to an OMEMO 2 question of ours.
    pub(super) fn omemo2_answer(
        &mut self,
        q: OmemoIq,
        payload: Option<Element>,
        out: &mut Vec<Stanza>,
    ) {
        let account = self.own.to_string();
        let list = |p: &Option<Element>| {
            p.as_ref()
                .and_then(pep::fetched)
                .and_then(|l| twomemo::parse_device_list(l).ok())
                .unwrap_or_default()
        };
        match q {
            OmemoIq::OwnList2 => {
                let ids = list(&payload);
                if let Err(e) = self.store.set_omemo2_device_list(&account, &account, &ids) {
                    self.store_err(e);
                }
                self.omemo.lists2.insert(account, std::time::Instant::now());
                self.publish_own_list2(ids, out);
                self.omemo.own_list2_read = true;
                self.omemo_maybe_ready();
            }
            OmemoIq::List2 { peer } => {
                let ids = list(&payload);
                if let Err(e) = self.store.set_omemo2_device_list(&account, &peer, &ids) {
                    self.store_err(e);
                }
                self.omemo.lists2_asked.remove(&peer);
                self.omemo.lists2.insert(peer, std::time::Instant::now());
            }
            OmemoIq::Bundle2 { peer, device } => {
                let bundle = payload
                    .as_ref()
                    .and_then(pep::fetched)
                    .and_then(|b| twomemo::parse_bundle(b).ok());
                if bundle.is_none() {
                    tracing::info!(%peer, device, "no usable OMEMO 2 bundle");
                }
                self.omemo.bundles2_asked.remove(&(peer.clone(), device));
                self.omemo.bundles2.insert((peer, device), bundle);
            }
            _ => {}
        }
    }

    /// Asks for `who`'s OMEMO 2 device list unless it is current or on its way:
    /// whether it is current.
    pub(super) fn omemo2_list_fresh(&mut self, who: &str, out: &mut Vec<Stanza>) -> bool {
        let fresh = self
            .omemo
            .lists2
            .get(who)
            .is_some_and(|t| t.elapsed() < LIST_FRESH);
        if !fresh && self.omemo.lists2_asked.insert(who.to_string()) {
            if let Ok(owner) = BareJid::new(who) {
                self.iq(
                    IqPurpose::Omemo(OmemoIq::List2 {
                        peer: who.to_string(),
                    }),
                    |id| pep::fetch(id, &owner, twomemo::DEVICES_NODE),
                    out,
                );
            }
        }
        fresh
    }

    /// Asks for `peer`'s `device`'s OMEMO 2 bundle, unless that is on its way.
    pub(super) fn omemo2_ask_bundle(&mut self, peer: &str, device: u32, out: &mut Vec<Stanza>) {
        let Ok(owner) = BareJid::new(peer) else {
            return;
        };
        if !self.omemo.bundles2_asked.insert((peer.to_string(), device)) {
            return;
        }
        self.iq(
            IqPurpose::Omemo(OmemoIq::Bundle2 {
                peer: peer.to_string(),
                device,
            }),
            |id| pep::fetch_bundle2(id, &owner, device),
            out,
        );
    }

    /// What an OMEMO 2 device needs before a message can go to it: `Some(None)` a
    /// session, `Some(Some(b))` its bundle; `None`: waiting (asked), or it has none
    /// (then it is left out: `left_out` true).
    pub(super) fn omemo2_ready(
        &mut self,
        who: &str,
        device: u32,
        out: &mut Vec<Stanza>,
    ) -> Result<Option<Bundle2>, bool> {
        let has = self
            .omemo
            .omemo
            .as_mut()
            .is_some_and(|o| o.has_session2(&self.store, who, device).unwrap_or(false));
        if has {
            return Ok(None);
        }
        match self.omemo.bundles2.get(&(who.to_string(), device)) {
            Some(Some(b)) => Ok(Some(b.clone())),
            Some(None) => Err(true),
            None => {
                self.omemo2_ask_bundle(who, device, out);
                Err(false)
            }
        }
    }

    /// Whether an OMEMO 2 element holds a key for this device.
    pub(super) fn omemo2_has_key_for_us(&self, el: &Element) -> bool {
        let Some(me) = self.omemo.omemo.as_ref().map(Omemo::device_id) else {
            return false;
        };
        Encrypted2::parse(el).is_ok_and(|e| e.key_for(self.own.as_str(), me).is_some())
    }

    /// An OMEMO 2 message from `sender`: decrypted, or said why not.
    pub(super) fn omemo2_incoming(
        &mut self,
        el: &Element,
        sender: &BareJid,
        out: &mut Vec<Stanza>,
    ) -> Incoming {
        let Some(o) = self.omemo.omemo.as_mut() else {
            return Incoming::Plain;
        };
        let parsed = Encrypted2::parse(el);
        let result = parsed
            .clone()
            .map_err(AccountError::from)
            .and_then(|e| o.decrypt2(&self.store, sender.as_str(), &e).map(|d| (e, d)));
        match result {
            Ok((e, d)) => {
                if d.began_session {
                    self.omemo.lists2.remove(sender.as_str());
                    self.emit(Event::OmemoSession {
                        jid: sender.to_string(),
                        device_id: e.sid,
                        fingerprint: d.fingerprint.clone(),
                    });
                    // An empty message: the device stops sending key exchanges; and
                    // our bundle again (one of its prekeys was used).
                    self.omemo2_key_transport(sender, e.sid, None, out);
                    self.omemo2_publish_bundle(out);
                    if let Some(o) = self.omemo.omemo.as_ref() {
                        let (node, bundle) = (axolotl::bundle_node(o.device_id()), o.bundle());
                        self.omemo_publish(&node, bundle, out);
                    }
                }
                match d.body {
                    Some(b) => Incoming::Body(b, d.trust),
                    None => Incoming::Nothing,
                }
            }
            Err(AccountError::Omemo(OmemoError::NotForUs)) if *sender == self.own => {
                Incoming::Nothing
            }
            Err(e) => {
                self.emit(Event::Error {
                    message: format!(
                        "an OMEMO 2 message from {sender} could not be decrypted: {e}"
                    ),
                });
                // A replay says nothing of the session; a device that shows another
                // identity than the one we know is not given a new session either
                // (it could be anyone's key exchange breaking the real one's).
                if matches!(e, AccountError::Omemo(OmemoError::Duplicate)) {
                    return Incoming::Nothing;
                }
                if matches!(e, AccountError::Omemo(OmemoError::UntrustedIdentity)) {
                    return Incoming::Unreadable;
                }
                let parsed = parsed.ok();
                if let Some(sid) = parsed.as_ref().map(|e| e.sid) {
                    self.omemo2_repair(sender, sid, out);
                }
                if parsed.is_none_or(|e| e.payload.is_some()) {
                    Incoming::Unreadable
                } else {
                    Incoming::Nothing
                }
            }
        }
    }

    /// As `omemo_repair`, for an OMEMO 2 session: forgotten, and a new one begun with
    /// an empty message once the device's bundle is here.
    fn omemo2_repair(&mut self, peer: &BareJid, device: u32, out: &mut Vec<Stanza>) {
        let key = (format!("2:{peer}"), device);
        let now = std::time::Instant::now();
        if self
            .omemo
            .repaired
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < REPAIR_EVERY)
        {
            return;
        }
        if self.omemo.repaired.len() >= 1024 {
            self.omemo.repaired.clear();
        }
        self.omemo.repaired.insert(key, now);
        if let Some(o) = self.omemo.omemo.as_mut() {
            if let Err(e) = o.forget_session2(&self.store, peer.as_str(), device) {
                return tracing::warn!(error = %e, "session not forgotten");
            }
        }
        self.omemo.bundles2.remove(&(peer.to_string(), device));
        self.omemo.repairs2.push((peer.to_string(), device));
        self.omemo2_flush_repairs(out);
    }

    /// Repairs whose bundles are here are sent; the others asked for.
    pub(super) fn omemo2_flush_repairs(&mut self, out: &mut Vec<Stanza>) {
        for (peer, device) in std::mem::take(&mut self.omemo.repairs2) {
            match self.omemo.bundles2.get(&(peer.clone(), device)).cloned() {
                Some(Some(b)) => {
                    if let Ok(to) = BareJid::new(&peer) {
                        self.omemo2_key_transport(&to, device, Some(b), out);
                    }
                }
                Some(None) => {}
                None => {
                    self.omemo2_ask_bundle(&peer, device, out);
                    self.omemo.repairs2.push((peer, device));
                }
            }
        }
    }

    /// An empty OMEMO 2 message to one device: in its session, or a new one.
    fn omemo2_key_transport(
        &mut self,
        to: &BareJid,
        device: u32,
        bundle: Option<Bundle2>,
        out: &mut Vec<Stanza>,
    ) {
        let Some(o) = self.omemo.omemo.as_mut() else {
            return;
        };
        match o.encrypt2(&self.store, &[(to.to_string(), device, bundle)], None) {
            Ok(s) if !s.encrypted.keys.is_empty() => {
                let mut m = Message::new_with_type(MessageType::Chat, Some(Jid::from(to.clone())));
                m.id = Some(xmpp_parsers::message::Id(new_id()));
                m.payloads.push(s.encrypted.to_element());
                m.payloads
                    .push(Element::builder("store", "urn:xmpp:hints").build());
                out.push(m.into());
            }
            Ok(_) => {}
            Err(e) => tracing::info!(%to, device, error = %e, "no empty OMEMO 2 message"),
        }
    }
}
