//! Desktop notifications (freedesktop, over D-Bus): an incoming call is announced even
//! when the window is hidden, and so is a room message that names the user. Without a
//! notification service the call still rings in the window; nothing fails.

use std::sync::mpsc;

/// The notification of one incoming call; withdrawn when dropped.
pub struct CallNotification {
    close: Option<mpsc::Sender<()>>,
}

impl CallNotification {
    /// Shows "`who` is calling" (D-Bus calls block: done on a thread of its own).
    pub fn show(who: &str, address: &str) -> CallNotification {
        let (tx, rx) = mpsc::channel::<()>();
        let summary = format!("{who} is calling");
        let body = format!("{address} — open Banter to answer");
        on_a_thread(move || {
            let shown = notification(&summary, &body, "call.incoming")
                .urgency(notify_rust::Urgency::Critical)
                .timeout(notify_rust::Timeout::Never)
                .show();
            match shown {
                Ok(handle) => {
                    // Until the call is answered, declined or gone.
                    let _ = rx.recv();
                    handle.close();
                }
                Err(e) => tracing::info!(error = %e, "no desktop notification"),
            }
        });
        CallNotification { close: Some(tx) }
    }
}

/// How often one room may announce a mention: a busy (or hostile) room naming the
/// user again and again makes one notification, not a storm of them.
pub const MENTION_GAP: std::time::Duration = std::time::Duration::from_secs(10);

/// Which mentions are announced: per room, one in `MENTION_GAP`; those held back
/// meanwhile are counted in the next one.
#[derive(Default)]
pub struct MentionGate {
    rooms: std::collections::HashMap<String, (std::time::Instant, u32)>,
}

impl MentionGate {
    /// Whether to announce a mention in `room` now: `Some(n)`, with `n` mentions
    /// held back since the last one; `None`: held back.
    pub fn admit(&mut self, room: &str, now: std::time::Instant) -> Option<u32> {
        if let Some((at, held)) = self.rooms.get_mut(room) {
            if now.duration_since(*at) < MENTION_GAP {
                *held = held.saturating_add(1);
                return None;
            }
            let n = *held;
            *at = now;
            *held = 0;
            return Some(n);
        }
        if self.rooms.len() >= 1_000 {
            self.rooms.clear();
        }
        self.rooms.insert(room.to_string(), (now, 0));
        Some(0)
    }
}

/// Announces a room message that names the user, or a private one ("`who` in
/// `room`"), with how many more came since the last announcement; it expires as
/// the notification service decides.
pub fn mention(who: &str, room: &str, text: &str, more: u32) {
    let summary = format!("{who} in {room}");
    let mut body: String = text.chars().take(200).collect();
    if more > 0 {
        body.push_str(&format!("\n(and {more} more since)"));
    }
    on_a_thread(move || {
        if let Err(e) = notification(&summary, &body, "im.received").show() {
            tracing::info!(error = %e, "no desktop notification");
        }
    });
}

fn notification(summary: &str, body: &str, category: &str) -> notify_rust::Notification {
    let mut n = notify_rust::Notification::new();
    n.appname("Banter")
        .summary(summary)
        .body(body)
        .icon("im.banter.Banter")
        .hint(notify_rust::Hint::Category(category.into()));
    n
}

/// D-Bus calls block: each notification is shown from a thread of its own.
fn on_a_thread(f: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new()
        .name("banter-notify".into())
        .spawn(f)
    {
        tracing::info!(error = %e, "no desktop notification");
    }
}

impl Drop for CallNotification {
    fn drop(&mut self) {
        if let Some(tx) = self.close.take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_room_announces_one_mention_in_ten_seconds_and_counts_the_rest() {
        let mut g = MentionGate::default();
        let t = Instant::now();
        assert_eq!(g.admit("a@muc", t), Some(0));
        for i in 1..=500 {
            assert_eq!(g.admit("a@muc", t + Duration::from_millis(i)), None);
        }
        // Another room is not held back by the first.
        assert_eq!(g.admit("b@muc", t), Some(0));
        assert_eq!(g.admit("a@muc", t + MENTION_GAP), Some(500));
        assert_eq!(g.admit("a@muc", t + MENTION_GAP * 2), Some(0));
    }
}
