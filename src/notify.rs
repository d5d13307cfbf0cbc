//! Desktop notifications (freedesktop, over D-Bus): an incoming call is announced even
//! when the window is hidden. Without a notification service the call still rings in
//! the window; nothing fails.

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
        let spawned = std::thread::Builder::new()
            .name("banter-notify".into())
            .spawn(move || {
                let shown = notify_rust::Notification::new()
                    .appname("Banter")
                    .summary(&summary)
                    .body(&body)
                    .icon("im.banter.Banter")
                    .hint(notify_rust::Hint::Category("call.incoming".into()))
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
        if let Err(e) = spawned {
            tracing::info!(error = %e, "no desktop notification");
        }
        CallNotification { close: Some(tx) }
    }
}

impl Drop for CallNotification {
    fn drop(&mut self) {
        if let Some(tx) = self.close.take() {
            let _ = tx.send(());
        }
    }
}
