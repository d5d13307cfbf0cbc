//! SIGINT and SIGTERM as a request to stop cleanly (unavailable presence, calls hung
//! up, `</stream>`), for the headless commands and the window alike.

/// SIGINT or SIGTERM: a headless command stops cleanly (calls hung up, unavailable
/// presence, `</stream>`), so no ghost session stays on the server. The handlers are
/// installed once, when the command starts, so no signal falls between two waits.
pub struct StopSignals {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    pub fn new() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signals = signal(SignalKind::interrupt())
                .and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
                .ok();
            StopSignals { signals }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    pub async fn wait(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = self.signals.as_mut() {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl Default for StopSignals {
    fn default() -> StopSignals {
        StopSignals::new()
    }
}
