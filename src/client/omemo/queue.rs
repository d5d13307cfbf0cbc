//! What waits to go to a peer while OMEMO fetches their device lists and bundles:
//! messages to encrypt, and plain amends that must not overtake them.

use super::*;

/// A message waiting for device lists or bundles before it can be encrypted.
pub(super) struct Queued {
    pub(super) id: String,
    pub(super) to: BareJid,
    pub(super) body: String,
    /// Elements beside the encrypted body (a correction's `<replace>`, a reply's
    /// `<reply>` and its fallback marker): they say nothing secret.
    pub(super) extra: Vec<Element>,
    /// A retraction or reactions: sent as is once nothing before it to the peer waits.
    pub(super) plain: Option<Message>,
    /// Never in the clear (an encrypted file's key, a correction of an encrypted
    /// message): to a peer without OMEMO it fails instead.
    pub(super) must: bool,
}

impl State {
    /// Takes a message to send for encryption: `false` when OMEMO is off (it goes as
    /// it is). It waits for device lists and bundles, then goes encrypted — or, to a
    /// contact who has never published a device, as it is.
    pub(in crate::client) fn omemo_send(
        &mut self,
        id: &str,
        to: &BareJid,
        body: &str,
        extra: Vec<Element>,
        must: bool,
        out: &mut Vec<Stanza>,
    ) -> bool {
        if self.omemo.omemo.is_none() {
            return false;
        }
        self.omemo.queue.push(Queued {
            id: id.to_string(),
            to: to.clone(),
            body: body.to_string(),
            extra,
            plain: None,
            must,
        });
        self.omemo_flush(out);
        true
    }

    /// Sends `m` as is to `to`, after what waits to be encrypted to them (if anything).
    pub(in crate::client) fn send_in_order(
        &mut self,
        to: &BareJid,
        m: Message,
        out: &mut Vec<Stanza>,
    ) {
        let id = m.id.as_ref().map(|i| i.0.clone()).unwrap_or_default();
        // Sent again after a lost session: the copy still queued goes.
        self.omemo
            .queue
            .retain(|q| !(q.plain.is_some() && q.id == id));
        if !self.omemo.queue.iter().any(|q| q.to == *to) {
            return out.push(m.into());
        }
        self.omemo.queue.push(Queued {
            id,
            to: to.clone(),
            body: String::new(),
            extra: Vec::new(),
            plain: Some(m),
            must: false,
        });
    }
}
