//! The X display: connecting to it (refusing a Wayland session, whose XWayland root
//! shows no native window), and what it has to share: its monitors (RandR) and its
//! titled top-level windows. Screen capture (screen.rs) opens what is picked here.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use x11rb::connection::Connection;
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::rust_connection::RustConnection;

use crate::error::MediaError;

/// Which part of the screen is shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenSpec {
    /// A monitor by its index in RandR's list (`None`: the primary one, else the first).
    Monitor(Option<usize>),
    /// A top-level window by its title: the one with exactly this title, else the
    /// first whose title contains it (the command line's way).
    Window(String),
    /// A window by its X id (the picker's way: a title can change, or be shared by
    /// two windows, between seeing it offered and picking it).
    WindowId(u32),
    /// What the desktop's portal grants (Wayland): `None` until its dialog was
    /// answered (`--share-screen portal` asks it), then the stream picked there.
    Portal(Option<super::portal::PortalStream>),
}

impl ScreenSpec {
    /// `screen`, `screen:monitor`, `screen:monitor:N`, `screen:window:NAME`,
    /// `screen:portal`.
    pub fn parse(s: &str) -> Option<ScreenSpec> {
        let rest = s.strip_prefix("screen")?;
        if rest.is_empty() || rest == ":monitor" {
            return Some(ScreenSpec::Monitor(None));
        }
        if rest == ":portal" {
            return Some(ScreenSpec::Portal(None));
        }
        if let Some(n) = rest.strip_prefix(":monitor:") {
            return n.parse().ok().map(|n| ScreenSpec::Monitor(Some(n)));
        }
        if let Some(id) = rest.strip_prefix(":window-id:") {
            return id.parse().ok().map(ScreenSpec::WindowId);
        }
        match rest.strip_prefix(":window:") {
            Some(name) if !name.is_empty() => Some(ScreenSpec::Window(name.to_string())),
            _ => None,
        }
    }
}

/// Something on the screen that can be shared, for a picker (which words it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenSource {
    pub spec: ScreenSpec,
    /// The window's title (`None` for a monitor).
    pub title: Option<String>,
    pub width: u16,
    pub height: u16,
}

impl ScreenSpec {
    /// The spec as `--share-screen` takes it (`monitor:N`, `window:NAME`).
    pub fn key(&self) -> String {
        match self {
            ScreenSpec::Monitor(None) => "monitor".into(),
            ScreenSpec::Monitor(Some(n)) => format!("monitor:{n}"),
            ScreenSpec::Window(name) => format!("window:{name}"),
            ScreenSpec::WindowId(id) => format!("window-id:{id}"),
            ScreenSpec::Portal(_) => "portal".into(),
        }
    }

    /// Whether the desktop's portal picks (and not Banter's own X11 capture).
    pub fn is_portal(&self) -> bool {
        matches!(self, ScreenSpec::Portal(_))
    }
}

pub(super) fn x_err(e: impl std::fmt::Display) -> MediaError {
    MediaError::Screen(e.to_string())
}

/// Connects to the X server of `$DISPLAY`, refusing a Wayland session (whose XWayland
/// root shows no native window).
pub(super) fn connect() -> Result<(RustConnection, usize), MediaError> {
    let env = |k| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if let Some(why) = no_x11(env("DISPLAY"), env("WAYLAND_DISPLAY")) {
        return Err(MediaError::Screen(why.into()));
    }
    RustConnection::connect(None).map_err(x_err)
}

/// Why the screen cannot be read here, from whether `$DISPLAY` and `$WAYLAND_DISPLAY`
/// are set. A Wayland session with XWayland has both: its X root shows only X windows,
/// so it is refused too.
fn no_x11(display: bool, wayland: bool) -> Option<&'static str> {
    match (display, wayland) {
        (_, true) => Some(
            "this is a Wayland session: there the screen is shared through the desktop's own dialog (the portal), not picked here",
        ),
        (false, false) => Some("no X display ($DISPLAY is not set)"),
        (true, false) => None,
    }
}

/// The monitors and top-level windows that can be shared.
pub fn list() -> Result<Vec<ScreenSource>, MediaError> {
    let (conn, screen) = connect()?;
    let root = root_of(&conn, screen)?;
    let mut out: Vec<ScreenSource> = monitors(&conn, root)?
        .iter()
        .enumerate()
        .map(|(i, m)| ScreenSource {
            spec: ScreenSpec::Monitor(Some(i)),
            title: None,
            width: m.2,
            height: m.3,
        })
        .collect();
    for (w, title) in windows(&conn, root)? {
        let Some(g) = conn.get_geometry(w).ok().and_then(|c| c.reply().ok()) else {
            continue;
        };
        out.push(ScreenSource {
            spec: ScreenSpec::WindowId(w),
            title: Some(title),
            width: g.width,
            height: g.height,
        });
    }
    Ok(out)
}

pub(super) fn root_of(conn: &RustConnection, screen: usize) -> Result<xproto::Window, MediaError> {
    conn.setup()
        .roots
        .get(screen)
        .map(|s| s.root)
        .ok_or_else(|| MediaError::Screen("the X server has no such screen".into()))
}

/// The monitors' rectangles (x, y, width, height), the primary first; the whole root
/// when RandR knows none.
pub(super) fn monitors(
    conn: &RustConnection,
    root: xproto::Window,
) -> Result<Vec<(i16, i16, u16, u16)>, MediaError> {
    let listed = conn
        .randr_get_monitors(root, true)
        .ok()
        .and_then(|c| c.reply().ok())
        .map(|r| {
            let mut m = r.monitors;
            m.sort_by_key(|m| !m.primary);
            m.into_iter()
                .map(|m| (m.x, m.y, m.width, m.height))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if !listed.is_empty() {
        return Ok(listed);
    }
    let g = conn
        .get_geometry(root)
        .map_err(x_err)?
        .reply()
        .map_err(x_err)?;
    Ok(vec![(0, 0, g.width, g.height)])
}

/// Viewable top-level windows with a title: the root's children, and their children
/// (a window manager's frames hold the clients).
pub(super) fn windows(
    conn: &RustConnection,
    root: xproto::Window,
) -> Result<Vec<(xproto::Window, String)>, MediaError> {
    let net_wm_name = atom(conn, b"_NET_WM_NAME")?;
    let utf8 = atom(conn, b"UTF8_STRING")?;
    let mut out = Vec::new();
    let top = conn
        .query_tree(root)
        .map_err(x_err)?
        .reply()
        .map_err(x_err)?;
    for w in top.children {
        let viewable = conn
            .get_window_attributes(w)
            .ok()
            .and_then(|c| c.reply().ok())
            .is_some_and(|a| a.map_state == xproto::MapState::VIEWABLE);
        if !viewable {
            continue;
        }
        let mut candidates = vec![w];
        if let Ok(Ok(t)) = conn.query_tree(w).map(|c| c.reply()) {
            candidates.extend(t.children);
        }
        if let Some(found) = candidates
            .into_iter()
            .find_map(|c| title(conn, c, net_wm_name, utf8).map(|t| (c, t)))
        {
            out.push(found);
        }
    }
    Ok(out)
}

fn atom(conn: &RustConnection, name: &[u8]) -> Result<xproto::Atom, MediaError> {
    Ok(conn
        .intern_atom(false, name)
        .map_err(x_err)?
        .reply()
        .map_err(x_err)?
        .atom)
}

/// `_NET_WM_NAME`, else `WM_NAME`; `None` for an untitled window.
fn title(
    conn: &RustConnection,
    w: xproto::Window,
    net_wm_name: xproto::Atom,
    utf8: xproto::Atom,
) -> Option<String> {
    for (prop, kind) in [
        (net_wm_name, utf8),
        (
            xproto::AtomEnum::WM_NAME.into(),
            xproto::AtomEnum::STRING.into(),
        ),
    ] {
        let value = conn
            .get_property(false, w, prop, kind, 0, 1024)
            .ok()?
            .reply()
            .ok()?
            .value;
        if !value.is_empty() {
            return Some(String::from_utf8_lossy(&value).into_owned());
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(ScreenSpec::parse("screen"), Some(ScreenSpec::Monitor(None)));
        assert_eq!(
            ScreenSpec::parse("screen:monitor"),
            Some(ScreenSpec::Monitor(None))
        );
        assert_eq!(
            ScreenSpec::parse("screen:monitor:1"),
            Some(ScreenSpec::Monitor(Some(1)))
        );
        assert_eq!(
            ScreenSpec::parse("screen:window:Firefox — page"),
            Some(ScreenSpec::Window("Firefox — page".into()))
        );
        for bad in ["screen:window:", "screen:monitor:x", "screens", "camera"] {
            assert_eq!(ScreenSpec::parse(bad), None, "{bad}");
        }
    }

    /// The conversion agrees with what the window shows: white, black and grey round
    /// trip through `i420_to_rgba` within 2 levels, colours within 6.
    #[test]
    fn keys_parse_back() {
        for spec in [
            ScreenSpec::Monitor(None),
            ScreenSpec::Monitor(Some(2)),
            ScreenSpec::Window("Notes: plan".into()),
        ] {
            assert_eq!(
                ScreenSpec::parse(&format!("screen:{}", spec.key())),
                Some(spec)
            );
        }
    }

    #[test]
    fn only_an_x11_session_is_read() {
        assert_eq!(no_x11(true, false), None);
        assert!(no_x11(true, true).unwrap().contains("Wayland"));
        assert!(no_x11(false, true).unwrap().contains("portal"));
        assert!(no_x11(false, false).unwrap().contains("$DISPLAY"));
    }
}
