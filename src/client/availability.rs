//! Presence: coalesced per device, and the features (caps) of the devices we care
//! about.

use super::*;

impl State {
    pub(super) fn on_presence(&mut self, p: Presence, out: &mut Vec<Stanza>) {
        let Some(from) = p.from.clone() else { return };
        match p.type_ {
            // Asking again and again (or from many JIDs) is not worth more questions.
            PresenceType::Subscribe
                if self
                    .subscribe_limit
                    .allow(&from.to_bare(), std::time::Instant::now()) =>
            {
                self.emit(Event::SubscriptionRequest {
                    from: from.to_bare().to_string(),
                })
            }
            PresenceType::None | PresenceType::Unavailable => {
                let now = std::time::Instant::now();
                if let Some(p) = self.presences.offer(&from.to_bare(), from, p, now) {
                    self.on_availability(p, out);
                }
            }
            _ => {}
        }
    }

    /// An available or unavailable presence, let through by the coalescer.
    pub(super) fn on_availability(&mut self, p: Presence, out: &mut Vec<Stanza>) {
        let Some(from) = p.from.clone() else { return };
        let show = presence::show_of(&p);
        self.emit(Event::Presence {
            from: from.to_string(),
            show,
            status: presence::status_of(&p),
        });
        if show == Show::Unavailable {
            self.features.remove(&from.to_string());
            self.clients.remove(&from.to_string());
            return;
        }
        self.on_vcard_photo(&p, out);
        if self.wants_features_of(&from) {
            self.learn_caps(&p, from, out);
        }
    }

    pub(super) fn learned_features(
        &mut self,
        jid: Jid,
        features: Vec<String>,
        out: &mut Vec<Stanza>,
    ) {
        tracing::debug!(%jid, count = features.len(), "features learned");
        let key = jid.to_string();
        if self.features.len() >= MAX_FEATURE_ENTRIES && !self.features.contains_key(&key) {
            tracing::info!(%jid, "too many devices' features kept; not keeping these");
        } else {
            self.features.insert(key, features.clone());
        }
        self.features_arrived(&jid, out);
        self.emit(Event::Features {
            jid: jid.to_string(),
            features,
        });
    }

    /// Looks up a contact's features: from the caps cache, or by asking once per ver.
    pub(super) fn learn_caps(&mut self, p: &Presence, from: Jid, out: &mut Vec<Stanza>) {
        let Some((node, ver)) = presence::caps_of(p) else {
            return;
        };
        if self.clients.len() < MAX_FEATURE_ENTRIES || self.clients.contains_key(from.as_str()) {
            self.clients
                .insert(from.to_string(), node.chars().take(100).collect());
        }
        match self.store.caps(&ver) {
            Ok(Some(features)) => self.learned_features(from, features, out),
            Ok(None) => {
                // Asked once per ver; every device showing it gets the answer.
                if let Some((_, waiting)) = self.caps_asked.get_mut(&ver) {
                    if !waiting.contains(&from) && waiting.len() < MAX_CAPS_WAITING {
                        waiting.push(from);
                    }
                    return;
                }
                // Anyone can show new vers: the questions in flight are bounded, and one
                // left unanswered is given up after a while.
                self.caps_asked
                    .retain(|_, (at, _)| at.elapsed() < CAPS_ANSWER_WAIT);
                // Their questions are given up too: pending IQs stay bounded.
                let asked = &self.caps_asked;
                self.pending_iqs.retain(|_, (purpose, _)| match purpose {
                    IqPurpose::Disco { ver: Some(v), .. } => asked.contains_key(v),
                    _ => true,
                });
                if self.caps_asked.len() >= MAX_CAPS_IN_FLIGHT {
                    tracing::info!(%from, "too many caps queries in flight; not asking");
                    return;
                }
                self.caps_asked
                    .insert(ver.clone(), (std::time::Instant::now(), vec![from.clone()]));
                let node = format!("{node}#{ver}");
                let to = from.clone();
                self.iq(
                    IqPurpose::Disco {
                        jid: from,
                        ver: Some(ver),
                    },
                    |id| disco::info_query(id, to, Some(&node)),
                    out,
                );
            }
            Err(e) => self.store_err(e),
        }
    }
}
