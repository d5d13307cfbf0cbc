//! OMEMO in the account (XEP-0384, 0.3 here and 2 in omemo/two.rs): our device made
//! once and published (device lists and bundles, open to all); contacts' device
//! lists fetched and followed; a message to a contact with OMEMO devices is
//! encrypted to all of them and to our own other devices, once their bundles are
//! here (each device in the newest version it lists itself for); messages to us
//! decrypted, the archive's and carbons' copies of ones we already have not again.
//! Trust is blind before verification (Conversations' BTBV).

use std::collections::{HashMap, HashSet};

use crate::omemo::account::{AccountError, Omemo, Trust};
use crate::omemo::axolotl::{self, Encrypted};
use crate::omemo::keys::Bundle;
use crate::omemo::OmemoError;
use crate::xmpp::omemo as pep;

use super::*;

mod calls;
mod devices;
mod lists;
mod queue;

use queue::Queued;
mod two;

/// Our OMEMO questions to servers, awaiting answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OmemoIq {
    OwnList,
    Publish,
    List { peer: String },
    Bundle { peer: String, device: u32 },
    OwnList2,
    List2 { peer: String },
    Bundle2 { peer: String, device: u32 },
}

/// The account's OMEMO, and what is on its way.
#[derive(Default)]
pub(super) struct OmemoClient {
    omemo: Option<Omemo>,
    /// Device lists known to be current (fetched, or notified, this session).
    lists: HashMap<String, std::time::Instant>,
    lists_asked: HashSet<String>,
    /// Bundles fetched (`None`: the device has none; it is left out).
    bundles: HashMap<(String, u32), Option<Bundle>>,
    bundles_asked: HashSet<(String, u32)>,
    queue: Vec<Queued>,
    /// (sender, stanza id) of messages decrypted lately: the offline store's and the
    /// archive's copies of one (a key-transport one has no body to find it by in
    /// the history) are not decrypted twice.
    seen: std::collections::VecDeque<(String, String)>,
    /// Our publications the server has not confirmed yet.
    publishing: u32,
    /// Our device list was read (and fixed) since we came online.
    own_list_read: bool,
    /// Reading our device list failed since we came online (said once).
    own_list_failed: bool,
    /// `OmemoReady` was said since we came online.
    announced: bool,
    /// Devices whose messages we could not decrypt: a new session is begun with
    /// each (an empty PreKey message) once its bundle is here.
    repairs: Vec<(String, u32)>,
    /// When each device was last repaired: once per [`REPAIR_EVERY`] at most.
    repaired: HashMap<(String, u32), std::time::Instant>,
    /// Calls' OMEMO checks, by call id (calls.rs).
    calls: HashMap<String, calls::CallKeys>,
    /// Calls whose fingerprints wait to be sealed to the device that answered, by
    /// call id: that device (peer, id), whose bundle is on its way. The call
    /// endpoint holds their session-initiate meanwhile (`Directory::keys_pending`).
    sealing: HashMap<String, (String, u32)>,
    /// OMEMO 2's device lists, bundles and repairs, as the fields above (two.rs).
    lists2: HashMap<String, std::time::Instant>,
    lists2_asked: HashSet<String>,
    bundles2: HashMap<(String, u32), Option<crate::omemo::twomemo::Bundle>>,
    bundles2_asked: HashSet<(String, u32)>,
    own_list2_read: bool,
    repairs2: Vec<(String, u32)>,
}

/// How long a device list fetched (or notified) counts as current.
const LIST_FRESH: std::time::Duration = std::time::Duration::from_secs(600);

/// A device whose messages keep failing is not sent a new session more often.
const REPAIR_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Messages remembered in `seen`.
const SEEN: usize = 1000;

impl OmemoClient {
    /// Our device is ready: messages are encrypted.
    pub(super) fn is_on(&self) -> bool {
        self.omemo.is_some()
    }

    /// Whether call `id`'s fingerprints wait for a bundle on its way.
    pub(super) fn keys_pending(&self, id: &str) -> bool {
        self.sealing.contains_key(id)
    }
}

/// Bundles asked for at once for one message (a contact with absurdly many devices
/// costs no more).
const MAX_DEVICES_PER_MESSAGE: usize = 32;

/// What an incoming message was, OMEMO-wise.
pub(super) enum Incoming {
    /// Not encrypted (or a copy of one we have): as it is.
    Plain,
    /// Decrypted: the body to keep, and our trust in the sending device.
    Body(String, crate::omemo::account::Trust),
    /// Nothing to show: a key-transport message, a replay, or our own copy.
    Nothing,
    /// A message with a body that could not be decrypted (said): kept in the
    /// history as a placeholder, so that it is not lost without a trace.
    Unreadable,
}

/// What the history shows for a message that could not be decrypted.
pub(super) const UNREADABLE: &str =
    "(An encrypted message that this device could not decrypt. Its sender's device was asked to start a new session; ask them to send it again.)";

impl State {
    fn own_devices(&self) -> Vec<u32> {
        self.store
            .omemo_devices(self.own.as_str(), self.own.as_str())
            .map(|d| {
                d.into_iter()
                    .filter(|d| d.listed())
                    .map(|d| d.device_id)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Online: our device (made the first time), our device list fetched (to add
    /// ourselves) and our bundle published.
    pub(super) fn omemo_online(&mut self, out: &mut Vec<Stanza>) {
        if self.omemo.omemo.is_none() {
            let account = self.own.to_string();
            let loaded = match Omemo::load_or_create(&self.store, &account, &self.config.password) {
                Err(AccountError::Omemo(OmemoError::Locked)) => {
                    self.emit(Event::Error {
                        message: "this device's OMEMO keys could not be unlocked with the account's \
                                  password (changed on another client?): a new OMEMO identity was made; \
                                  contacts will see a new device"
                            .into(),
                    });
                    Omemo::create_new(&self.store, &account, &self.config.password)
                }
                other => other,
            };
            match loaded {
                Ok(o) => self.omemo.omemo = Some(o),
                Err(e) => {
                    self.emit(Event::Error {
                        message: format!("end-to-end encryption is off: {e}"),
                    });
                    return;
                }
            }
        }
        // Questions of the old stream get no answer: what waited for them goes.
        self.omemo_call_keys_lost(out);
        // Lists may have changed while we were away.
        self.omemo.lists.clear();
        self.omemo.lists_asked.clear();
        self.omemo.bundles.clear();
        self.omemo.bundles_asked.clear();
        let own = self.own.clone();
        self.iq(
            IqPurpose::Omemo(OmemoIq::OwnList),
            |id| pep::fetch(id, &own, axolotl::DEVICELIST_NODE),
            out,
        );
        self.omemo.own_list_read = false;
        self.omemo.own_list_failed = false;
        self.omemo.announced = false;
        self.omemo.publishing = 0;
        // The bundle is published just below in any case.
        if let Some(Err(e)) = self
            .omemo
            .omemo
            .as_mut()
            .map(|o| o.rotate_if_due(&self.store))
        {
            tracing::warn!(error = %e, "signed prekey not rotated");
        }
        if let Some(o) = &self.omemo.omemo {
            let (node, bundle) = (axolotl::bundle_node(o.device_id()), o.bundle());
            self.omemo_publish(&node, bundle, out);
        }
        self.omemo2_online(out);
    }

    fn publish_own_list(&mut self, mut ids: Vec<u32>, out: &mut Vec<Stanza>) {
        let Some(me) = self.omemo.omemo.as_ref().map(Omemo::device_id) else {
            return;
        };
        if ids.contains(&me) {
            return;
        }
        ids.push(me);
        let list = axolotl::device_list(&ids);
        self.omemo_publish(axolotl::DEVICELIST_NODE, list, out);
    }

    fn omemo_publish(&mut self, node: &str, item: Element, out: &mut Vec<Stanza>) {
        self.omemo.publishing += 1;
        self.iq(
            IqPurpose::Omemo(OmemoIq::Publish),
            |id| pep::publish(id, node, item),
            out,
        );
    }

    /// Once our list was read and every publication confirmed: contacts can now find
    /// this device (said once per connection).
    fn omemo_maybe_ready(&mut self) {
        if !self.omemo.own_list_read
            || !self.omemo.own_list2_read
            || self.omemo.publishing > 0
            || self.omemo.announced
        {
            return;
        }
        if let Some(o) = &self.omemo.omemo {
            self.omemo.announced = true;
            self.emit(Event::OmemoReady {
                device_id: o.device_id(),
                fingerprint: o.fingerprint(),
            });
        }
    }

    /// A message from `peer`'s `device` did not decrypt: its session is broken (or
    /// we lost ours). As Conversations does: forget it and begin a new one with an
    /// empty PreKey message, so that the device's next messages decrypt again.
    fn omemo_repair(&mut self, peer: &BareJid, device: u32, out: &mut Vec<Stanza>) {
        let key = (peer.to_string(), device);
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
        self.omemo.repaired.insert(key.clone(), now);
        if let Some(o) = self.omemo.omemo.as_mut() {
            if let Err(e) = o.forget_session(&self.store, &key.0, device) {
                tracing::warn!(error = %e, "session not forgotten");
                return;
            }
        }
        tracing::info!(%peer, device, "beginning a new OMEMO session after a failed decryption");
        self.omemo.bundles.remove(&key);
        self.omemo.repairs.push(key);
        self.omemo_flush(out);
    }

    /// Asks for `peer`'s `device`'s bundle, unless that question is on its way.
    fn omemo_ask_bundle(&mut self, peer: &str, device: u32, out: &mut Vec<Stanza>) {
        let Ok(owner) = BareJid::new(peer) else {
            return;
        };
        if !self.omemo.bundles_asked.insert((peer.to_string(), device)) {
            return;
        }
        self.iq(
            IqPurpose::Omemo(OmemoIq::Bundle {
                peer: peer.to_string(),
                device,
            }),
            |id| pep::fetch(id, &owner, &axolotl::bundle_node(device)),
            out,
        );
    }

    /// Sends what can be sent now; asks for what is missing.
    fn omemo_flush(&mut self, out: &mut Vec<Stanza>) {
        for (peer, device) in std::mem::take(&mut self.omemo.repairs) {
            let bundle = match self.omemo.bundles.get(&(peer.clone(), device)) {
                Some(b) => b.clone(),
                None => {
                    self.omemo_ask_bundle(&peer, device, out);
                    self.omemo.repairs.push((peer, device));
                    continue;
                }
            };
            let (Some(bundle), Ok(to)) = (bundle, BareJid::new(&peer)) else {
                continue;
            };
            self.omemo_key_transport(&to, device, Some(bundle), out);
        }
        self.omemo2_flush_repairs(out);
        let queue = std::mem::take(&mut self.omemo.queue);
        // Peers with a message still waiting: what comes after it waits too.
        let mut held: HashSet<BareJid> = HashSet::new();
        for mut q in queue {
            if let Some(m) = q.plain.take() {
                if held.contains(&q.to) {
                    q.plain = Some(m);
                    self.omemo.queue.push(q);
                } else {
                    out.push(m.into());
                }
                continue;
            }
            if let Some(q) = self.omemo_try_send(q, out) {
                held.insert(q.to.clone());
                self.omemo.queue.push(q);
            }
        }
    }

    /// One queued message: sent (or failed, said), or given back to wait.
    fn omemo_try_send(&mut self, q: Queued, out: &mut Vec<Stanza>) -> Option<Queued> {
        let account = self.own.to_string();
        let peer = q.to.to_string();
        let mut stale = false;
        for who in [&peer, &account] {
            // A list read long ago may miss a device added since (we follow lists
            // by notification only for contacts who share presence with us).
            let fresh = self
                .omemo
                .lists
                .get(who)
                .is_some_and(|t| t.elapsed() < LIST_FRESH);
            if !fresh {
                if self.omemo.lists_asked.insert(who.clone()) {
                    let owner = BareJid::new(who).ok()?;
                    self.iq(
                        IqPurpose::Omemo(OmemoIq::List { peer: who.clone() }),
                        |id| pep::fetch(id, &owner, axolotl::DEVICELIST_NODE),
                        out,
                    );
                }
                stale = true;
            }
            stale |= !self.omemo2_list_fresh(who, out);
        }
        if stale {
            return Some(q);
        }
        let known = self
            .store
            .omemo_devices(&account, &peer)
            .unwrap_or_default();
        let theirs: Vec<u32> = known
            .iter()
            .filter(|d| d.listed())
            .map(|d| d.device_id)
            .collect();
        // Devices listed for OMEMO 2 (ours and theirs) get OMEMO 2.
        let mut two: HashSet<(String, u32)> = known
            .iter()
            .filter(|d| d.v2)
            .map(|d| (peer.clone(), d.device_id))
            .collect();
        // And which are listed for 0.3 too (they get 0.3 when their OMEMO 2 bundle
        // is missing or unusable).
        let mut old: HashSet<(String, u32)> = known
            .iter()
            .filter(|d| d.active)
            .map(|d| (peer.clone(), d.device_id))
            .collect();
        if let Ok(own) = self.store.omemo_devices(&account, &account) {
            two.extend(
                own.iter()
                    .filter(|d| d.v2)
                    .map(|d| (account.clone(), d.device_id)),
            );
            old.extend(
                own.iter()
                    .filter(|d| d.active)
                    .map(|d| (account.clone(), d.device_id)),
            );
        }
        if theirs.is_empty() {
            if known.is_empty() && q.must {
                self.emit(Event::MessageFailed {
                    id: q.id,
                    error: format!(
                        "{peer} has no OMEMO device: this must go end-to-end encrypted, so it \
                         was not sent (an encrypted file's key, or the correction of an \
                         encrypted message)"
                    ),
                });
            } else if known.is_empty() {
                // Never an OMEMO user: the conversation was never encrypted.
                if let Err(e) = self.store.set_encryption(&account, &q.id, None) {
                    self.store_err(e);
                }
                let mut m = chat::outgoing(&q.to, &q.id, &q.body);
                m.payloads.extend(q.extra);
                out.push(m.into());
            } else {
                self.emit(Event::MessageFailed {
                    id: q.id,
                    error: format!(
                        "{peer} publishes no OMEMO device any more: not sent, since this \
                         conversation was encrypted"
                    ),
                });
            }
            return None;
        }
        let me = self.omemo.omemo.as_ref().map(Omemo::device_id)?;
        let mut targets: Vec<(String, u32)> = theirs.iter().map(|d| (peer.clone(), *d)).collect();
        targets.extend(
            self.own_devices()
                .into_iter()
                .filter(|d| *d != me)
                .map(|d| (account.clone(), d)),
        );
        targets.truncate(MAX_DEVICES_PER_MESSAGE);
        let mut waiting = false;
        let mut devices = Vec::new();
        let mut devices2 = Vec::new();
        for (who, dev) in targets {
            if two.contains(&(who.clone(), dev)) {
                match self.omemo2_ready(&who, dev, out) {
                    Ok(bundle) => {
                        devices2.push((who, dev, bundle));
                        continue;
                    }
                    Err(false) => {
                        waiting = true;
                        continue;
                    }
                    // No usable OMEMO 2 bundle: 0.3, if its list names it.
                    Err(true) if old.contains(&(who.clone(), dev)) => {}
                    Err(true) => continue,
                }
            }
            let has = self
                .omemo
                .omemo
                .as_mut()
                .is_some_and(|o| o.has_session(&self.store, &who, dev).unwrap_or(false));
            if has {
                devices.push((who, dev, None));
                continue;
            }
            match self.omemo.bundles.get(&(who.clone(), dev)) {
                Some(Some(b)) => devices.push((who, dev, Some(b.clone()))),
                Some(None) => {}
                None => {
                    waiting = true;
                    self.omemo_ask_bundle(&who, dev, out);
                }
            }
        }
        if waiting {
            return Some(q);
        }
        let o = self.omemo.omemo.as_mut()?;
        let encrypted = o
            .encrypt(&self.store, &devices, Some(&q.body))
            .and_then(|s| {
                let envelope =
                    crate::omemo::twomemo::envelope(&q.body, self.own.as_str(), peer.as_str());
                let s2 = match devices2.is_empty() {
                    true => None,
                    false => Some(o.encrypt2(&self.store, &devices2, Some(&envelope))?),
                };
                Ok((s, s2))
            });
        let (s, s2) = match encrypted {
            Ok(both) => both,
            Err(e) => {
                self.emit(Event::MessageFailed {
                    id: q.id,
                    error: format!("could not encrypt: {e}"),
                });
                return None;
            }
        };
        let mut left: Vec<String> = s
            .left_out
            .iter()
            .chain(s2.iter().flat_map(|s2| s2.left_out.iter()))
            .map(|(who, dev, t)| format!("{who}'s device {dev} ({})", t.as_str()))
            .collect();
        left.dedup();
        let left = left.join(", ");
        let reached = s.encrypted.keys.iter().any(|k| theirs.contains(&k.rid))
            || s2.as_ref().is_some_and(|s2| {
                s2.encrypted
                    .keys
                    .iter()
                    .any(|k| k.jid == peer && theirs.contains(&k.rid))
            });
        if !reached {
            self.emit(Event::MessageFailed {
                id: q.id,
                error: if left.is_empty() {
                    format!("none of {peer}'s OMEMO devices could be reached: not sent")
                } else {
                    format!("none of {peer}'s devices is trusted ({left}): not sent")
                },
            });
            return None;
        }
        if !left.is_empty() {
            self.emit(Event::Error {
                message: format!(
                    "not encrypted to {left}: untrusted or undecided; compare their \
                     fingerprints (banter omemo devices) and trust them"
                ),
            });
        }
        let e = (!s.encrypted.keys.is_empty()).then_some(&s.encrypted);
        let e2 = s2
            .as_ref()
            .map(|s2| &s2.encrypted)
            .filter(|e2| !e2.keys.is_empty());
        let mut m = pep::message_both(&q.to, &q.id, e, e2);
        m.payloads.extend(q.extra.iter().cloned());
        out.push(m.into());
        None
    }

    /// A message that may be OMEMO-encrypted, from `sender` (bare). Decrypts it unless
    /// it is a copy of one we have; a session the sender began is answered with an
    /// empty message so that it stops sending PreKey messages.
    pub(super) fn omemo_incoming(
        &mut self,
        m: &Message,
        sender: &BareJid,
        out: &mut Vec<Stanza>,
    ) -> Incoming {
        let (el, two) = match (pep::encrypted2_of(m), pep::encrypted_of(m)) {
            // Both: a device that speaks both finds its key in the newer one.
            (Some(el2), _) if self.omemo2_has_key_for_us(el2) => (el2, true),
            (_, Some(el)) => (el, false),
            (Some(el2), None) => (el2, true),
            (None, None) => return Incoming::Plain,
        };
        if let Some(stored) = history::to_stored(m, &self.own, None, None) {
            if self
                .store
                .has_message(self.own.as_str(), &stored)
                .unwrap_or(false)
            {
                return Incoming::Plain;
            }
        }
        let copy_key = m.id.as_ref().map(|id| (sender.to_string(), id.0.clone()));
        if let Some(k) = &copy_key {
            if self.omemo.seen.contains(k) {
                return Incoming::Nothing;
            }
            if self.omemo.seen.len() >= SEEN {
                self.omemo.seen.pop_front();
            }
            self.omemo.seen.push_back(k.clone());
        }
        if two {
            return self.omemo2_incoming(el, sender, out);
        }
        let Some(o) = self.omemo.omemo.as_mut() else {
            return Incoming::Plain;
        };
        let result = Encrypted::parse(el)
            .map_err(AccountError::from)
            .and_then(|e| o.decrypt(&self.store, sender.as_str(), &e).map(|d| (e, d)));
        match result {
            Ok((e, d)) => {
                if d.began_session {
                    // Possibly a device its list did not name when we read it.
                    self.omemo.lists.remove(sender.as_str());
                    self.emit(Event::OmemoSession {
                        jid: sender.to_string(),
                        device_id: e.sid,
                        fingerprint: d.fingerprint.clone(),
                    });
                    self.omemo_answer_session(sender, e.sid, out);
                }
                match d.body {
                    Some(b) => Incoming::Body(b, d.trust),
                    None => Incoming::Nothing,
                }
            }
            // Our own message from our own archive or a carbon not for this device.
            Err(AccountError::Omemo(OmemoError::NotForUs)) if *sender == self.own => {
                Incoming::Nothing
            }
            Err(e) => {
                self.emit(Event::Error {
                    message: format!("a message from {sender} could not be decrypted: {e}"),
                });
                // A replay says nothing of the session (and was shown once); anything
                // else may mean it is broken: begin a new one with that device.
                let parsed = Encrypted::parse(el).ok();
                if matches!(e, AccountError::Omemo(OmemoError::Duplicate)) {
                    return Incoming::Nothing;
                }
                // Another identity for a device we know: no new session with it.
                if matches!(e, AccountError::Omemo(OmemoError::UntrustedIdentity)) {
                    return Incoming::Unreadable;
                }
                if let Some(sid) = parsed.as_ref().map(|e| e.sid) {
                    self.omemo_repair(sender, sid, out);
                }
                // An empty (key-transport) one carried nothing to lose.
                let had_body = parsed.is_none_or(|e| e.payload.is_some());
                if had_body {
                    Incoming::Unreadable
                } else {
                    Incoming::Nothing
                }
            }
        }
    }

    /// An empty (key-transport) message to the device that began a session, and our
    /// bundle again (a prekey of it was used).
    fn omemo_answer_session(&mut self, to: &BareJid, device: u32, out: &mut Vec<Stanza>) {
        self.omemo_key_transport(to, device, None, out);
        let Some(o) = self.omemo.omemo.as_ref() else {
            return;
        };
        let (node, bundle) = (axolotl::bundle_node(o.device_id()), o.bundle());
        self.omemo_publish(&node, bundle, out);
        // One pool of prekeys for both versions: the OMEMO 2 bundle changed too.
        self.omemo2_publish_bundle(out);
    }

    /// An empty (key-transport) message to one device: in its session, or in a new
    /// one from `bundle`.
    fn omemo_key_transport(
        &mut self,
        to: &BareJid,
        device: u32,
        bundle: Option<Bundle>,
        out: &mut Vec<Stanza>,
    ) {
        let Some(o) = self.omemo.omemo.as_mut() else {
            return;
        };
        match o.encrypt(&self.store, &[(to.to_string(), device, bundle)], None) {
            Ok(e) => {
                let mut m = Message::new_with_type(MessageType::Chat, Some(Jid::from(to.clone())));
                m.id = Some(xmpp_parsers::message::Id(new_id()));
                m.payloads.push(e.encrypted.to_element());
                m.payloads
                    .push(Element::builder("store", "urn:xmpp:hints").build());
                out.push(m.into());
            }
            Err(e) => tracing::info!(%to, device, error = %e, "no empty message"),
        }
    }
}
