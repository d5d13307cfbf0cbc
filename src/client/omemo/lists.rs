//! OMEMO device lists and bundles as the server answers for them: kept, ours fixed to
//! name this device, and an answer that is an error told apart from "there is none".

use super::*;

impl State {
    /// The answer to one of our OMEMO questions (`Err`: an error answer, its condition).
    ///
    /// A device list the server could not give (any error but item-not-found, which
    /// says there is none) is not an empty list: what we knew of it is kept, and our
    /// own is not republished, since that would drop our other devices from it.
    pub(in crate::client) fn omemo_answer(
        &mut self,
        q: OmemoIq,
        answer: Result<Option<Element>, DefinedCondition>,
        out: &mut Vec<Stanza>,
    ) {
        let refused = answer.is_err();
        let unknown = match &answer {
            Err(DefinedCondition::ItemNotFound) | Ok(_) => None,
            Err(c) => Some(c.clone()),
        };
        let payload = answer.ok().flatten();
        if let Some(condition) = unknown {
            match q {
                OmemoIq::OwnList | OmemoIq::OwnList2 => {
                    return self.omemo_own_list_unknown(condition);
                }
                OmemoIq::List { peer } => {
                    self.omemo_list_unknown(peer, condition, false);
                    return self.omemo_flush(out);
                }
                OmemoIq::List2 { peer } => {
                    self.omemo_list_unknown(peer, condition, true);
                    return self.omemo_flush(out);
                }
                _ => {}
            }
        }
        let list = |p: &Option<Element>| {
            p.as_ref()
                .and_then(pep::fetched)
                .and_then(|l| axolotl::parse_device_list(l).ok())
                .unwrap_or_default()
        };
        let account = self.own.to_string();
        match q {
            OmemoIq::OwnList => {
                let ids = list(&payload);
                if let Err(e) = self.store.set_omemo_device_list(&account, &account, &ids) {
                    self.store_err(e);
                }
                self.omemo.lists.insert(account, std::time::Instant::now());
                self.publish_own_list(ids, out);
                self.omemo.own_list_read = true;
                self.omemo_maybe_ready();
            }
            OmemoIq::Publish => {
                self.omemo.publishing = self.omemo.publishing.saturating_sub(1);
                self.omemo_maybe_ready();
                if refused {
                    self.emit(Event::Error {
                        message: "the server did not take our OMEMO keys (PEP): contacts cannot \
                                  encrypt to this device"
                            .into(),
                    });
                }
            }
            OmemoIq::List { peer } => {
                let ids = list(&payload);
                if let Err(e) = self.store.set_omemo_device_list(&account, &peer, &ids) {
                    self.store_err(e);
                }
                self.omemo.lists_asked.remove(&peer);
                self.omemo.lists.insert(peer, std::time::Instant::now());
            }
            OmemoIq::Bundle { peer, device } => {
                let bundle = payload
                    .as_ref()
                    .and_then(pep::fetched)
                    .and_then(|b| axolotl::parse_bundle(b).ok());
                if bundle.is_none() {
                    tracing::info!(%peer, device, "no usable OMEMO bundle");
                }
                self.omemo.bundles_asked.remove(&(peer.clone(), device));
                self.omemo.bundles.insert((peer.clone(), device), bundle);
                self.omemo_call_keys(&peer, device, out);
            }
            q @ (OmemoIq::OwnList2 | OmemoIq::List2 { .. } | OmemoIq::Bundle2 { .. }) => {
                self.omemo2_answer(q, payload, out)
            }
        }
        self.omemo_flush(out);
    }

    /// Our own device list could not be read: left as it is on the server (said once
    /// per connection); this device is not announced as ready.
    fn omemo_own_list_unknown(&mut self, condition: DefinedCondition) {
        tracing::warn!(?condition, "our OMEMO device list could not be read");
        if std::mem::replace(&mut self.omemo.own_list_failed, true) {
            return;
        }
        self.emit(Event::Error {
            message: format!(
                "the server could not give our OMEMO device list ({}): it was left as it is, \
                 so contacts may not encrypt to this device until the next sign-in",
                words(&condition)
            ),
        });
    }

    /// A contact's device list could not be read: the devices we knew are written
    /// to (the messages waiting for it go).
    fn omemo_list_unknown(&mut self, peer: String, condition: DefinedCondition, two: bool) {
        tracing::info!(%peer, ?condition, two, "device list could not be read: the known one is used");
        let (asked, lists) = if two {
            (&mut self.omemo.lists2_asked, &mut self.omemo.lists2)
        } else {
            (&mut self.omemo.lists_asked, &mut self.omemo.lists)
        };
        asked.remove(&peer);
        lists.insert(peer, std::time::Instant::now());
    }

    /// A device list notification (PEP): kept; ours missing this device is fixed.
    pub(in crate::client) fn omemo_list_changed(
        &mut self,
        owner: BareJid,
        ids: Vec<u32>,
        version: pep::Version,
        out: &mut Vec<Stanza>,
    ) {
        let account = self.own.to_string();
        let kept = match version {
            pep::Version::Axolotl => {
                self.store
                    .set_omemo_device_list(&account, owner.as_str(), &ids)
            }
            pep::Version::Two => self
                .store
                .set_omemo2_device_list(&account, owner.as_str(), &ids),
        };
        if let Err(e) = kept {
            self.store_err(e);
        }
        let lists = match version {
            pep::Version::Axolotl => &mut self.omemo.lists,
            pep::Version::Two => &mut self.omemo.lists2,
        };
        lists.insert(owner.to_string(), std::time::Instant::now());
        if owner == self.own {
            match version {
                pep::Version::Axolotl => self.publish_own_list(ids, out),
                pep::Version::Two => self.publish_own_list2(ids, out),
            }
        }
        self.omemo_flush(out);
    }
}

/// An error condition as words ("internal server error").
fn words(condition: &DefinedCondition) -> String {
    let name = format!("{condition:?}");
    let mut w = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_uppercase() && !w.is_empty() {
            w.push(' ');
        }
        w.extend(c.to_lowercase());
    }
    w
}
