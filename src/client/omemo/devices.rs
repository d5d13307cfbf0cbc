//! What the user sees and decides of OMEMO devices: a contact's devices with our
//! trust in each, verifying or refusing one by its fingerprint, and our keys kept
//! unlockable when the account's password changes.

use super::*;

impl State {
    /// The account's password changed: our OMEMO keys' data key is wrapped with the
    /// new one, or the next sign-in could not unlock them (a new identity).
    pub(in crate::client) fn omemo_rewrap(&mut self, password: &str) {
        if let Some(Err(e)) = self
            .omemo
            .omemo
            .as_ref()
            .map(|o| o.rewrap(&self.store, password))
        {
            tracing::warn!(error = %e, "OMEMO keys not rewrapped");
        }
    }

    /// A contact's devices and our trust in each, from the store.
    pub(in crate::client) fn omemo_devices(&mut self, jid: &BareJid) {
        let account = self.own.to_string();
        let devices = match self.store.omemo_devices(&account, jid.as_str()) {
            Ok(d) => d,
            Err(e) => return self.store_err(e),
        };
        let own = self.omemo.omemo.as_ref();
        let own_id = own.map(|o| o.device_id());
        self.emit(Event::OmemoDeviceList {
            jid: jid.to_string(),
            own_fingerprint: own.map(|o| o.fingerprint()),
            devices: devices
                .into_iter()
                .filter(|d| !(*jid == self.own && Some(d.device_id) == own_id))
                .map(|d| super::events::OmemoDeviceInfo {
                    device_id: d.device_id,
                    fingerprint: d.identity.as_deref().map(crate::omemo::keys::hex),
                    active: d.listed(),
                    trust: d.trust,
                })
                .collect(),
        });
    }

    /// The user verified or refused a contact's device (by its identity key).
    pub(in crate::client) fn omemo_trust(
        &mut self,
        jid: &BareJid,
        fingerprint: &str,
        verified: bool,
    ) {
        let Some(key) = crate::omemo::account::parse_fingerprint(fingerprint) else {
            return self.emit(Event::Error {
                message: format!("'{fingerprint}' is not a fingerprint: 64 hexadecimal digits"),
            });
        };
        let trust = if verified {
            Trust::Verified
        } else {
            Trust::Untrusted
        };
        match self
            .store
            .set_omemo_trust(self.own.as_str(), jid.as_str(), &key, trust.as_str())
        {
            Ok(true) => {}
            Ok(false) => self.emit(Event::Error {
                message: format!("{jid} has no device with that fingerprint"),
            }),
            Err(e) => self.store_err(e),
        }
        self.omemo_devices(jid);
    }
}
