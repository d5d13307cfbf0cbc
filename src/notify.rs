//! Desktop notifications (freedesktop, over D-Bus): an incoming call is announced even
//! when the window is hidden, and so is a room message that names the user. Without a
//! notification service the call still rings in the window; nothing fails.

use std::sync::mpsc;

/// What the user did with a call's notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallAction {
    Accept,
    AcceptWithVideo,
    Decline,
    /// Clicked the notification itself: show the window.
    Show,
}

impl CallAction {
    fn from_key(key: &str) -> Option<CallAction> {
        match key {
            "accept" => Some(CallAction::Accept),
            "accept-video" => Some(CallAction::AcceptWithVideo),
            "decline" => Some(CallAction::Decline),
            "default" => Some(CallAction::Show),
            _ => None,
        }
    }
}

/// The notification of one incoming call, with Accept (with video, when the call
/// offers it) and Decline; withdrawn when dropped (the call answered here or
/// elsewhere, or given up).
pub struct CallNotification {
    close: Option<mpsc::Sender<()>>,
}

impl CallNotification {
    /// Shows "`who` is calling"; `act` gets the action the user picks. D-Bus calls
    /// block: it is shown and watched from threads of their own.
    pub fn show(
        who: &str,
        address: &str,
        video: bool,
        act: impl FnOnce(CallAction) + Send + 'static,
    ) -> CallNotification {
        let (tx, rx) = mpsc::channel::<()>();
        let summary = format!("{who} is calling");
        let body = address.to_string();
        on_a_thread(move || {
            let mut n = notification(&summary, &body, "call.incoming");
            n.urgency(notify_rust::Urgency::Critical)
                .timeout(notify_rust::Timeout::Never)
                .action("default", "Show")
                .action("accept", "Accept");
            if video {
                n.action("accept-video", "Accept with video");
            }
            n.action("decline", "Decline");
            let handle = match n.show() {
                Ok(h) => h,
                Err(e) => {
                    tracing::info!(error = %e, "no desktop notification");
                    return;
                }
            };
            let id = handle.id();
            // Until the call is answered, declined or gone: then withdrawn, which
            // also ends the wait for an action below.
            on_a_thread(move || {
                let _ = rx.recv();
                close(id);
            });
            handle.wait_for_action(|key| {
                if let Some(a) = CallAction::from_key(key) {
                    act(a);
                }
            });
        });
        CallNotification { close: Some(tx) }
    }
}

/// "Missed call from `who`" with Call back; it stays until the user looks.
pub fn missed_call(who: &str, address: &str, call_back: impl FnOnce() + Send + 'static) {
    let summary = format!("Missed call from {who}");
    let body = address.to_string();
    on_a_thread(move || {
        let mut n = notification(&summary, &body, "call.unanswered");
        n.action("call-back", "Call back");
        match n.show() {
            Ok(handle) => handle.wait_for_action(|key| {
                if key == "call-back" {
                    call_back();
                }
            }),
            Err(e) => tracing::info!(error = %e, "no desktop notification"),
        }
    });
}

/// Withdraws notification `id` (org.freedesktop.Notifications.CloseNotification).
fn close(id: u32) {
    let done = dbus::blocking::Connection::new_session().and_then(|c| {
        c.with_proxy(
            "org.freedesktop.Notifications",
            "/org/freedesktop/Notifications",
            std::time::Duration::from_secs(5),
        )
        .method_call::<(), _, _, _>(
            "org.freedesktop.Notifications",
            "CloseNotification",
            (id,),
        )
    });
    if let Err(e) = done {
        tracing::info!(error = %e, "the call's notification was not withdrawn");
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
