//! Screen capture on X11: a monitor (RandR) or one window, read through MIT-SHM into a
//! shared memory segment (no copy of the picture over the X socket), with the pointer
//! drawn in (XFixes), as I420 for the encoder. Nothing is read before a source is
//! opened, and a window that goes away ends the capture (`MediaError::ScreenGone`).
//!
//! Wayland sessions have no such access: there the xdg-desktop-portal ScreenCast path is
//! needed (not built yet); `open` says so rather than capturing a blank XWayland root.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use x11rb::connection::Connection;
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::shm::ConnectionExt as _;
use x11rb::protocol::xfixes::ConnectionExt as _;
use x11rb::protocol::xproto::{self, ConnectionExt as _, ImageFormat};
use x11rb::rust_connection::RustConnection;

use super::convert::{bgrx_rows_to_i420, blend_argb};
use super::I420;
use crate::error::MediaError;

/// The largest picture sent: full HD. A larger screen is halved until it fits.
pub const MAX_WIDTH: usize = 1920;
pub const MAX_HEIGHT: usize = 1080;

/// Which part of the screen is shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenSpec {
    /// A monitor by its index in RandR's list (`None`: the primary one, else the first).
    Monitor(Option<usize>),
    /// The first top-level window whose title contains this text.
    Window(String),
}

impl ScreenSpec {
    /// `screen`, `screen:monitor`, `screen:monitor:N`, `screen:window:NAME`.
    pub fn parse(s: &str) -> Option<ScreenSpec> {
        let rest = s.strip_prefix("screen")?;
        if rest.is_empty() || rest == ":monitor" {
            return Some(ScreenSpec::Monitor(None));
        }
        if let Some(n) = rest.strip_prefix(":monitor:") {
            return n.parse().ok().map(|n| ScreenSpec::Monitor(Some(n)));
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
        }
    }
}

/// An open capture; `capture` reads the current picture.
pub struct ScreenCapture {
    conn: RustConnection,
    root: xproto::Window,
    /// What GetImage reads: the root window (a monitor's rectangle) or the window.
    drawable: xproto::Window,
    /// The window shared, watched for going away.
    window: Option<xproto::Window>,
    x: i16,
    y: i16,
    width: u16,
    height: u16,
    shm: Shm,
    cursor: bool,
    /// The picture at full size, then (if larger than full HD) halved.
    full: I420,
    /// The previous picture as read (BGRX), to convert only the rows that changed.
    previous: Vec<u8>,
    /// The row pairs the pointer was drawn over last time (converted again).
    pointer_rows: std::ops::Range<usize>,
    /// A screen larger than full HD: each halving of `full` in turn, the last sent.
    halved: Vec<I420>,
}

/// The shared memory segment the server writes pictures into.
struct Shm {
    seg: u32,
    ptr: *mut u8,
    len: usize,
}

// The mapping is only touched by the thread that owns the capture.
unsafe impl Send for Shm {}

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: ptr/len come from a successful mmap and are unmapped once.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

fn x_err(e: impl std::fmt::Display) -> MediaError {
    MediaError::Screen(e.to_string())
}

/// Connects to the X server of `$DISPLAY`, refusing a Wayland session (whose XWayland
/// root shows no native window).
fn connect() -> Result<(RustConnection, usize), MediaError> {
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
            "this is a Wayland session: sharing the screen there goes through the desktop portal, which Banter does not use yet",
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
            spec: ScreenSpec::Window(title.clone()),
            title: Some(title),
            width: g.width,
            height: g.height,
        });
    }
    Ok(out)
}

fn root_of(conn: &RustConnection, screen: usize) -> Result<xproto::Window, MediaError> {
    conn.setup()
        .roots
        .get(screen)
        .map(|s| s.root)
        .ok_or_else(|| MediaError::Screen("the X server has no such screen".into()))
}

/// The monitors' rectangles (x, y, width, height), the primary first; the whole root
/// when RandR knows none.
fn monitors(
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
fn windows(
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

impl ScreenCapture {
    pub fn open(spec: &ScreenSpec) -> Result<ScreenCapture, MediaError> {
        let (conn, screen) = connect()?;
        let root = root_of(&conn, screen)?;
        let (drawable, window, (x, y, width, height)) = match spec {
            ScreenSpec::Monitor(n) => {
                let all = monitors(&conn, root)?;
                let m = all.get(n.unwrap_or(0)).copied().ok_or_else(|| {
                    MediaError::Screen(format!(
                        "there is no monitor {} (this screen has {})",
                        n.unwrap_or(0) + 1,
                        all.len()
                    ))
                })?;
                (root, None, m)
            }
            ScreenSpec::Window(name) => {
                let (w, _) = windows(&conn, root)?
                    .into_iter()
                    .find(|(_, t)| t.contains(name.as_str()))
                    .ok_or_else(|| {
                        MediaError::Screen(format!("no open window is called \"{name}\""))
                    })?;
                let g = conn
                    .get_geometry(w)
                    .map_err(x_err)?
                    .reply()
                    .map_err(x_err)?;
                // Told when it goes, rather than learning it from a failed read.
                let events = xproto::ChangeWindowAttributesAux::new()
                    .event_mask(xproto::EventMask::STRUCTURE_NOTIFY);
                conn.change_window_attributes(w, &events).map_err(x_err)?;
                (w, Some(w), (0, 0, g.width, g.height))
            }
        };
        if width < 16 || height < 16 {
            return Err(MediaError::Screen(format!(
                "the area to share is too small ({width}x{height})"
            )));
        }
        let shm = attach(&conn, usize::from(width) * usize::from(height) * 4)?;
        let cursor = conn
            .xfixes_query_version(4, 0)
            .ok()
            .and_then(|c| c.reply().ok())
            .is_some();
        let (w, h) = (usize::from(width) & !1, usize::from(height) & !1);
        let mut halved = Vec::new();
        let (mut sw, mut sh) = (w, h);
        while sw > MAX_WIDTH || sh > MAX_HEIGHT {
            sw /= 2;
            sh /= 2;
            halved.push(I420::new(sw, sh));
        }
        tracing::info!(
            ?spec,
            width,
            height,
            halvings = halved.len(),
            "sharing the screen"
        );
        Ok(ScreenCapture {
            conn,
            root,
            drawable,
            window,
            x,
            y,
            width,
            height,
            shm,
            cursor,
            full: I420::new(w, h),
            previous: Vec::new(),
            pointer_rows: 0..0,
            halved,
        })
    }

    /// The size of the pictures `capture` gives.
    pub fn size(&self) -> (usize, usize) {
        let sent = self.halved.last().unwrap_or(&self.full);
        (sent.width, sent.height)
    }

    /// Reads the current picture (with the pointer drawn in).
    pub fn capture(&mut self) -> Result<&I420, MediaError> {
        self.check_window()?;
        let reply = self
            .conn
            .shm_get_image(
                self.drawable,
                self.x,
                self.y,
                self.width,
                self.height,
                !0,
                ImageFormat::Z_PIXMAP.into(),
                self.shm.seg,
                0,
            )
            .map_err(x_err)?
            .reply();
        let reply = match reply {
            Ok(r) => r,
            // The window went (or was unmapped) between two pictures.
            Err(e) if self.window.is_some() => {
                tracing::info!(error = %e, "the shared window can no longer be read");
                return Err(MediaError::ScreenGone);
            }
            Err(e) => return Err(x_err(e)),
        };
        if reply.depth != 24 && reply.depth != 32 {
            return Err(MediaError::Screen(format!(
                "a {}-bit screen cannot be shared (24 or 32 bits only)",
                reply.depth
            )));
        }
        // SAFETY: the segment is `len` bytes, mapped for as long as `self.shm` lives, and
        // the server finished writing it (the reply came).
        let pixels = unsafe { std::slice::from_raw_parts(self.shm.ptr, self.shm.len) };
        let stride = usize::from(self.width) * 4;
        // Only the row pairs that changed since the last picture (and those the
        // pointer was drawn over) are converted: most of a screen stays still.
        let (previous, pointer) = (&mut self.previous, self.pointer_rows.clone());
        let first = previous.len() != pixels.len();
        if first {
            previous.clear();
            previous.extend_from_slice(pixels);
        }
        bgrx_rows_to_i420(pixels, stride, &mut self.full, |pair| {
            let rows = pair * 2 * stride..((pair + 1) * 2 * stride).min(pixels.len());
            match (pixels.get(rows.clone()), previous.get_mut(rows)) {
                _ if first || pointer.contains(&pair) => true,
                (Some(now), Some(before)) if now != before => {
                    before.copy_from_slice(now);
                    true
                }
                _ => false,
            }
        });
        if self.cursor {
            self.draw_cursor();
        }
        // Halved until it fits, each step from the one before (`full` itself kept: the
        // next picture converts into it row by row).
        let mut from = &self.full;
        for dst in self.halved.iter_mut() {
            super::convert::halve(from, dst);
            from = dst;
        }
        Ok(from)
    }

    /// Whether the shared window was destroyed or unmapped (its events, read without
    /// waiting).
    fn check_window(&mut self) -> Result<(), MediaError> {
        if self.window.is_none() {
            return Ok(());
        }
        while let Some(ev) = self.conn.poll_for_event().map_err(x_err)? {
            use x11rb::protocol::Event;
            if matches!(ev, Event::DestroyNotify(_) | Event::UnmapNotify(_)) {
                tracing::info!("the shared window was closed");
                return Err(MediaError::ScreenGone);
            }
        }
        Ok(())
    }

    /// The pointer's image blended into the picture where it is (if over the area).
    fn draw_cursor(&mut self) {
        let Ok(Ok(c)) = self.conn.xfixes_get_cursor_image().map(|c| c.reply()) else {
            return;
        };
        // The area's top-left corner on the root window.
        let (ox, oy) = match self.window {
            None => (i32::from(self.x), i32::from(self.y)),
            Some(w) => match self
                .conn
                .translate_coordinates(w, self.root, 0, 0)
                .ok()
                .and_then(|c| c.reply().ok())
            {
                Some(t) => (i32::from(t.dst_x), i32::from(t.dst_y)),
                None => return,
            },
        };
        let x0 = i32::from(c.x) - i32::from(c.xhot) - ox;
        let y0 = i32::from(c.y) - i32::from(c.yhot) - oy;
        // Converted afresh next time, so the pointer leaves no trail.
        let top = y0.max(0) as usize / 2;
        let bottom = (y0 + i32::from(c.height)).max(0) as usize / 2 + 1;
        self.pointer_rows = top..bottom;
        blend_argb(
            &mut self.full,
            &c.cursor_image,
            usize::from(c.width),
            usize::from(c.height),
            x0,
            y0,
        );
    }
}

/// A small picture of `spec` for a picker, at most `max_width` wide (every n-th
/// pixel): the screen is read once, when the picker opens, and let go.
pub fn thumbnail(spec: &ScreenSpec, max_width: usize) -> Result<super::RgbaFrame, MediaError> {
    let mut capture = ScreenCapture::open(spec)?;
    let picture = capture.capture()?;
    let scale = picture.width.div_ceil(max_width.max(1)).max(1);
    let mut out = super::RgbaFrame {
        width: 0,
        height: 0,
        pixels: Vec::new(),
    };
    super::convert::i420_to_rgba(picture, scale, &mut out);
    Ok(out)
}

/// A shared memory segment of `len` bytes (a memfd), attached to the server.
fn attach(conn: &RustConnection, len: usize) -> Result<Shm, MediaError> {
    conn.shm_query_version()
        .map_err(x_err)?
        .reply()
        .map_err(|_| MediaError::Screen("the X server has no MIT-SHM extension".into()))?;
    // SAFETY: memfd_create with a NUL-terminated name; the result is checked.
    let fd = unsafe { libc::memfd_create(c"banter-screen".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(x_err(std::io::Error::last_os_error()));
    }
    // SAFETY: fd is a new descriptor owned from here on.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain calls on our own descriptor; results checked.
    let ptr = unsafe {
        if libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) != 0 {
            return Err(x_err(std::io::Error::last_os_error()));
        }
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(x_err(std::io::Error::last_os_error()));
    }
    // Owned (unmapped on every way out) before the server is asked to attach it.
    let mut shm = Shm {
        seg: 0,
        ptr: ptr.cast(),
        len,
    };
    let seg = conn.generate_id().map_err(x_err)?;
    conn.shm_attach_fd(seg, fd, false)
        .map_err(x_err)?
        .check()
        .map_err(x_err)?;
    shm.seg = seg;
    Ok(shm)
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
