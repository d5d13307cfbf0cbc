//! Events of one account on their way to the window. The window takes them every
//! frame; but a window that is not drawn (hidden, on Wayland) takes none, and the
//! network keeps sending. Once `MAX_QUEUED` wait, what can be had again is not queued:
//! messages become one "reload this conversation" per contact (they are in the store),
//! presences and features keep only the latest per JID (released when the window takes
//! events again), and typing, call figures and errors are dropped. Calls, receipts and
//! everything else always pass. Pure: the forwarding task feeds it.

use std::collections::{HashMap, HashSet};

use banter::client::Event;

/// Events waiting for the window before the backlog starts saving.
pub const MAX_QUEUED: usize = 10_000;

/// What goes to the window.
#[derive(Debug)]
// Events go by one at a time: their size costs nothing worth a box per event.
#[allow(clippy::large_enum_variant)]
pub enum Queued {
    Event(Event),
    /// Reload the conversation with this contact from the store.
    Reload(String),
}

#[derive(Debug, Default)]
pub struct Backlog {
    reloads: HashSet<String>,
    held: HashMap<(u8, String), Event>,
}

impl Backlog {
    /// An event from the client, with `queued` events waiting for the window.
    pub fn admit(&mut self, ev: Event, queued: usize) -> Vec<Queued> {
        let mut out = self.release(queued);
        if queued + out.len() < MAX_QUEUED {
            out.push(Queued::Event(ev));
            return out;
        }
        match ev {
            Event::Message { message } => {
                if self.reloads.insert(message.peer.clone()) {
                    out.push(Queued::Reload(message.peer));
                }
            }
            Event::Presence { ref from, .. } => {
                self.held.insert((0, from.clone()), ev);
            }
            Event::Features { ref jid, .. } => {
                self.held.insert((1, jid.clone()), ev);
            }
            Event::ChatState { .. } | Event::CallStats { .. } | Event::Error { .. } => {}
            other => out.push(Queued::Event(other)),
        }
        out
    }

    /// What was held, once the window takes events again.
    pub fn release(&mut self, queued: usize) -> Vec<Queued> {
        if queued >= MAX_QUEUED / 2 || (self.held.is_empty() && self.reloads.is_empty()) {
            return Vec::new();
        }
        self.reloads.clear();
        self.held.drain().map(|(_, ev)| Queued::Event(ev)).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use banter::client::Show;
    use banter::client::{Direction, MessageState, StoredMessage};

    fn msg(peer: &str) -> Event {
        Event::Message {
            message: StoredMessage {
                seq: 1,
                peer: peer.into(),
                direction: Direction::In,
                from: peer.into(),
                to: "me@x".into(),
                body: "hi".into(),
                id: "1".into(),
                origin_id: None,
                stanza_id: None,
                ts_ms: 0,
                state: MessageState::Received,
                encryption: None,
                trust: None,
                meta: Default::default(),
            },
        }
    }

    fn presence(from: &str, status: &str) -> Event {
        Event::Presence {
            from: from.into(),
            show: Show::Available,
            status: Some(status.into()),
        }
    }

    /// A window that takes nothing: a million messages and presences from two
    /// contacts queue two reloads and hold two presences; the latest presence comes
    /// out once the window takes events again, and calls always pass.
    #[test]
    fn a_window_that_takes_nothing_costs_bounded_memory() {
        let mut b = Backlog::default();
        assert!(matches!(b.admit(msg("bob@x"), 0)[..], [Queued::Event(_)]));
        let mut queued = MAX_QUEUED;
        let mut out = Vec::new();
        for i in 0..500_000 {
            out.extend(b.admit(msg(if i % 2 == 0 { "bob@x" } else { "eve@x" }), queued));
            out.extend(b.admit(presence("bob@x/pc", &i.to_string()), queued));
            queued += out.len();
        }
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(matches!(&out[0], Queued::Reload(p) if p == "bob@x"));
        assert_eq!(b.held.len(), 1);
        let call = Event::CallInfo {
            id: "c".into(),
            info: banter::client::CallInfo::Hold,
        };
        assert!(matches!(
            b.admit(call, queued)[..],
            [Queued::Event(Event::CallInfo { .. })]
        ));
        // The window caught up.
        let back = b.release(0);
        assert!(
            matches!(&back[..], [Queued::Event(Event::Presence { status: Some(s), .. })] if s == "499999")
        );
        assert!(b.release(0).is_empty());
    }
}
