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

/// Announces a room message that names the user, or a private one ("`who` in
/// `room`"); it expires as the notification service decides.
pub fn mention(who: &str, room: &str, text: &str) {
    let summary = format!("{who} in {room}");
    let body: String = text.chars().take(200).collect();
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
