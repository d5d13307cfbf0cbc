//! Desktop notifications (freedesktop, over D-Bus): an incoming call is announced even
//! when the window is hidden, and so is a room message that names the user. Without a
//! notification service the call still rings in the window; nothing fails.

use std::sync::mpsc;

use banter_ui::t;

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
    /// block: it is shown and watched from a thread of its own, which ends when the
    /// notification is withdrawn.
    pub fn show(
        who: &str,
        address: &str,
        video: bool,
        mut act: impl FnMut(CallAction) + Send + 'static,
    ) -> CallNotification {
        let (tx, rx) = mpsc::channel::<()>();
        let summary = t!("call-incoming", who = who);
        let body = address.to_string();
        // Every word made here, in the window's language, not on the thread.
        let show = t!("call-notification-show");
        let accept = t!("call-accept");
        let accept_video = t!("call-accept-video");
        let decline = t!("call-decline");
        on_a_thread(move || {
            let mut actions = vec!["default", show.as_str(), "accept", accept.as_str()];
            if video {
                actions.extend(["accept-video", accept_video.as_str()]);
            }
            actions.extend(["decline", decline.as_str()]);
            let shown = Shown {
                summary: &summary,
                body: &body,
                category: "call.incoming",
                critical: true,
                actions: &actions,
            };
            let done = shown.watch(&rx, None, |key| {
                if let Some(a) = CallAction::from_key(key) {
                    act(a);
                }
            });
            if let Err(e) = done {
                tracing::info!(error = %e, "no desktop notification");
            }
        });
        CallNotification { close: Some(tx) }
    }
}

/// "Missed call from `who`" with Call back; it stays until the user looks (watched
/// for half a day at most).
pub fn missed_call(who: &str, address: &str, call_back: impl FnOnce() + Send + 'static) {
    let summary = t!("call-missed-from", who = who);
    let body = address.to_string();
    let call_back_label = t!("call-call-back");
    on_a_thread(move || {
        let (_keep, rx) = mpsc::channel::<()>();
        let shown = Shown {
            summary: &summary,
            body: &body,
            category: "call.unanswered",
            critical: false,
            actions: &["call-back", call_back_label.as_str()],
        };
        let mut call_back = Some(call_back);
        let limit = std::time::Duration::from_secs(12 * 3600);
        let done = shown.watch(&rx, Some(limit), |key| {
            if let (true, Some(f)) = (key == "call-back", call_back.take()) {
                f();
            }
        });
        if let Err(e) = done {
            tracing::info!(error = %e, "no desktop notification");
        }
    });
}

const NAME: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// A notification with actions, on plain D-Bus: the match for its signals is in
/// place before it is shown (no action or close can be missed), and the wait for
/// them also watches for the request to withdraw it.
struct Shown<'a> {
    summary: &'a str,
    body: &'a str,
    category: &'a str,
    critical: bool,
    /// Key, label, key, label, …
    actions: &'a [&'a str],
}

impl Shown<'_> {
    /// Shows it, hands each invoked action's key to `on_action`, and returns when it
    /// is closed, when `withdraw` says so (or its sender is gone: it is withdrawn
    /// then), or after `limit`.
    fn watch(
        &self,
        withdraw: &mpsc::Receiver<()>,
        limit: Option<std::time::Duration>,
        mut on_action: impl FnMut(&str),
    ) -> Result<(), dbus::Error> {
        use dbus::arg::{PropMap, RefArg, Variant};
        use dbus::message::MessageType;
        use std::time::{Duration, Instant};
        let c = dbus::blocking::Connection::new_session()?;
        for member in ["ActionInvoked", "NotificationClosed"] {
            c.add_match_no_cb(&format!(
                "type='signal',interface='{NAME}',path='{PATH}',member='{member}'"
            ))?;
        }
        let proxy = c.with_proxy(NAME, PATH, Duration::from_secs(5));
        let mut hints = PropMap::new();
        hints.insert(
            "category".into(),
            Variant(Box::new(self.category.to_string()) as Box<dyn RefArg>),
        );
        let urgency: u8 = if self.critical { 2 } else { 1 };
        hints.insert(
            "urgency".into(),
            Variant(Box::new(urgency) as Box<dyn RefArg>),
        );
        let actions: Vec<String> = self.actions.iter().map(|a| a.to_string()).collect();
        // Never expires by itself when critical (a ringing call); the server's
        // default otherwise.
        let timeout: i32 = if self.critical { 0 } else { -1 };
        let (id,): (u32,) = proxy.method_call(
            NAME,
            "Notify",
            (
                "Banter",
                0u32,
                "im.banter.Banter",
                self.summary,
                self.body,
                actions,
                hints,
                timeout,
            ),
        )?;
        // Only the notification server may say what the user clicked: any other
        // program on the bus can send these signals too.
        let (server,): (String,) = c
            .with_proxy(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                Duration::from_secs(5),
            )
            .method_call("org.freedesktop.DBus", "GetNameOwner", (NAME,))?;
        let end = limit.map(|l| Instant::now() + l);
        loop {
            if !matches!(withdraw.try_recv(), Err(mpsc::TryRecvError::Empty)) {
                let _: Result<(), _> = proxy.method_call(NAME, "CloseNotification", (id,));
                return Ok(());
            }
            if end.is_some_and(|e| Instant::now() >= e) {
                return Ok(());
            }
            if c.channel()
                .read_write(Some(Duration::from_millis(250)))
                .is_err()
            {
                return Err(dbus::Error::new_failed("the session bus went away"));
            }
            while let Some(msg) = c.channel().pop_message() {
                if msg.msg_type() != MessageType::Signal
                    || msg.sender().as_deref() != Some(server.as_str())
                {
                    continue;
                }
                match msg.member().as_deref() {
                    Some("ActionInvoked") => {
                        if let Ok((nid, key)) = msg.read2::<u32, String>() {
                            if nid == id {
                                on_action(&key);
                            }
                        }
                    }
                    Some("NotificationClosed") if msg.read1::<u32>().is_ok_and(|nid| nid == id) => {
                        return Ok(());
                    }
                    _ => {}
                }
            }
        }
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
    let summary = t!("desktop-mention-summary", who = who, room = room);
    let mut body: String = text.chars().take(200).collect();
    if more > 0 {
        body.push_str(&format!("\n{}", t!("desktop-mention-more", count = more)));
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
