//! Screen sharing on Wayland: the xdg-desktop-portal ScreenCast exchange. The desktop's
//! own dialog picks a monitor or a window (a Wayland program may not look at other
//! windows itself); the portal answers with a PipeWire remote and the node of the picked
//! stream, which pipewire.rs reads. Nothing is captured before the person picks.

use std::fmt;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ashpd::desktop::screencast::{CursorMode, Screencast, SourceType};
use ashpd::desktop::{PersistMode, ResponseError, Session};
use ashpd::zbus;
use futures::StreamExt;

use crate::error::MediaError;

/// A screen the person picked in the portal's dialog: the PipeWire remote to read it
/// from and the stream's node there. The portal session stays open while a clone of
/// this lives; the last one dropped closes it (the desktop's "sharing" indicator goes).
#[derive(Clone)]
pub struct PortalStream {
    grant: Arc<Grant>,
}

struct Grant {
    node: u32,
    size: Option<(i32, i32)>,
    remote: OwnedFd,
    /// Set when the portal closed the session (the desktop's own "stop sharing").
    closed: Arc<AtomicBool>,
    /// Closes the session when the grant goes.
    _session: Closer,
}

/// Closes a portal session when dropped, on whatever way out: a grant let go, an
/// error half-way, or the request itself dropped (Stop while the dialog is open: the
/// dialog goes too). Also ends the watch for the desktop closing it.
struct Closer {
    session: Option<(
        Session<'static, Screencast<'static>>,
        tokio::runtime::Handle,
    )>,
    watch: Option<tokio::task::AbortHandle>,
}

impl Drop for Closer {
    fn drop(&mut self) {
        if let Some(w) = self.watch.take() {
            w.abort();
        }
        if let Some((session, rt)) = self.session.take() {
            rt.spawn(async move {
                if let Err(e) = session.close().await {
                    tracing::debug!(error = %e, "closing the portal session");
                }
            });
        }
    }
}

impl PortalStream {
    /// The stream's PipeWire node.
    pub fn node(&self) -> u32 {
        self.grant.node
    }

    /// The size the portal announced (the stream's format says for sure).
    pub fn size(&self) -> Option<(i32, i32)> {
        self.grant.size
    }

    /// A new descriptor of the portal's PipeWire connection. It is one connection: one
    /// reader at a time (a new one starts it afresh).
    pub fn remote(&self) -> Result<OwnedFd, MediaError> {
        self.grant
            .remote
            .try_clone()
            .map_err(|e| MediaError::Screen(format!("the portal's PipeWire remote: {e}")))
    }

    /// Whether the desktop ended the sharing (its own Stop, or the session closed).
    pub fn closed(&self) -> bool {
        self.grant.closed.load(Ordering::Relaxed)
    }
}

impl PartialEq for PortalStream {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.grant, &other.grant)
    }
}

impl Eq for PortalStream {}

impl fmt::Debug for PortalStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortalStream")
            .field("node", &self.grant.node)
            .field("size", &self.grant.size)
            .finish()
    }
}

/// Whether this is a Wayland session, where the screen is only shared through the portal.
pub fn wayland_session() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
}

/// Asks the desktop's portal for a screen: its dialog lets the person pick one monitor or
/// one window (with the pointer drawn in where the desktop can). Waits as long as the
/// dialog is open; dropping the future closes the session and so the dialog. Must run
/// inside a tokio runtime (the session is closed on it).
pub async fn ask() -> Result<PortalStream, MediaError> {
    let portal = Screencast::new().await.map_err(failed)?;
    // Version 1 portals have no such property; monitors are what they offer then.
    let types = portal
        .available_source_types()
        .await
        .unwrap_or(SourceType::Monitor.into());
    let wanted = types & (SourceType::Monitor | SourceType::Window);
    if wanted.is_empty() {
        return Err(MediaError::Screen(
            "the desktop's portal offers neither monitors nor windows to share".into(),
        ));
    }
    let cursor = match portal.available_cursor_modes().await {
        Ok(m) if m.contains(CursorMode::Embedded) => CursorMode::Embedded,
        _ => CursorMode::Hidden,
    };
    let session = portal.create_session().await.map_err(failed)?;
    let closed = Arc::new(AtomicBool::new(false));
    // Watched from the start, so a Stop of the desktop's is never missed.
    let watch = match watch_closed(&session).await {
        Ok(mut ended) => {
            let flag = closed.clone();
            let task = tokio::spawn(async move {
                if ended.next().await.is_some() {
                    tracing::info!("the desktop ended the screen sharing");
                    flag.store(true, Ordering::Relaxed);
                }
            });
            Some(task.abort_handle())
        }
        Err(e) => {
            tracing::warn!(error = %e, "the portal session's end cannot be watched");
            None
        }
    };
    let closer = Closer {
        session: Some((session, tokio::runtime::Handle::current())),
        watch,
    };
    let Some((session, _)) = closer.session.as_ref() else {
        return Err(MediaError::Internal("portal session"));
    };
    portal
        .select_sources(session, cursor, wanted, false, None, PersistMode::DoNot)
        .await
        .map_err(failed)?
        .response()
        .map_err(failed)?;
    let streams = portal
        .start(session, None)
        .await
        .map_err(failed)?
        .response()
        .map_err(failed)?;
    let Some(stream) = streams.streams().first() else {
        return Err(MediaError::Screen(
            "the desktop's portal gave no stream".into(),
        ));
    };
    let (node, size) = (stream.pipe_wire_node_id(), stream.size());
    let remote = portal
        .open_pipe_wire_remote(session)
        .await
        .map_err(failed)?;
    tracing::info!(node, ?size, ?cursor, "the portal granted a screen");
    Ok(PortalStream {
        grant: Arc::new(Grant {
            node,
            size,
            remote,
            closed,
            _session: closer,
        }),
    })
}

/// The session's Closed signal. Not ashpd's `receive_closed`: it reads the signal's
/// body as empty, but portals send a dictionary (`a{sv}`), so it never fires.
async fn watch_closed(
    session: &Session<'_, Screencast<'_>>,
) -> Result<zbus::proxy::SignalStream<'static>, zbus::Error> {
    use zbus::zvariant::{serialized::Context, to_bytes, LE};
    // The session's object path, from how it is sent over D-Bus (a length, the path).
    let bytes = to_bytes(Context::new_dbus(LE, 0), session)?;
    let path = bytes
        .get(..4)
        .and_then(|n| n.try_into().ok())
        .map(|n| u32::from_le_bytes(n) as usize)
        .and_then(|n| bytes.get(4..4 + n))
        .and_then(|p| std::str::from_utf8(p).ok())
        .ok_or_else(|| zbus::Error::Failure("the portal session's path".into()))?
        .to_string();
    let conn = zbus::Connection::session().await?;
    let proxy = zbus::Proxy::new_owned(
        conn,
        "org.freedesktop.portal.Desktop",
        path,
        "org.freedesktop.portal.Session",
    )
    .await?;
    proxy.receive_signal("Closed").await
}

fn no_portal(e: ashpd::Error) -> MediaError {
    MediaError::Screen(format!(
        "the desktop offers no screen-sharing portal (xdg-desktop-portal with the backend of this desktop is needed): {e}"
    ))
}

fn failed(e: ashpd::Error) -> MediaError {
    match e {
        ashpd::Error::Response(ResponseError::Cancelled) => MediaError::ScreenCancelled,
        ashpd::Error::PortalNotFound(_) => no_portal(e),
        // zbus proxies connect lazily: a portal that is not there shows at the first call.
        other if no_service(&other.to_string()) => no_portal(other),
        other => MediaError::Screen(format!("the desktop's portal refused: {other}")),
    }
}

/// Whether a D-Bus error says nobody provides the portal (ServiceUnknown; zbus may
/// give only the bus's wording of it).
fn no_service(error: &str) -> bool {
    error.contains("ServiceUnknown") || error.contains("was not provided by any .service files")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_portal_is_told_apart_from_a_refusal() {
        assert!(no_service("Portal request failed: org.freedesktop.zbus.Error: The name org.freedesktop.portal.Desktop was not provided by any .service files"));
        assert!(no_service("org.freedesktop.DBus.Error.ServiceUnknown: no"));
        assert!(!no_service(
            "org.freedesktop.portal.Error.NotAllowed: screen casting is disabled"
        ));
        let cancelled = failed(ashpd::Error::Response(ResponseError::Cancelled));
        assert!(matches!(cancelled, MediaError::ScreenCancelled));
    }
}
