//! Screen capture on X11: a monitor or one window (found by display.rs), read through
//! MIT-SHM into a shared memory segment (no copy of the picture over the X socket),
//! with the pointer drawn in (XFixes), as I420 for the encoder. Nothing is read before a source is
//! opened, and a window that goes away ends the capture (`MediaError::ScreenGone`).
//!
//! Wayland sessions have no such access: there the desktop's portal grants a screen
//! (portal.rs) read through PipeWire (pipewire.rs); `open` refuses rather than capturing a
//! blank XWayland root.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use x11rb::connection::Connection;
use x11rb::protocol::composite::{ConnectionExt as _, Redirect};
use x11rb::protocol::shm::ConnectionExt as _;
use x11rb::protocol::xfixes::ConnectionExt as _;
use x11rb::protocol::xproto::{self, ConnectionExt as _, ImageFormat};
use x11rb::rust_connection::RustConnection;

use super::convert::{blend_argb, ScreenPictures};
use super::display::{connect, monitors, root_of, windows, x_err};
pub use super::display::{list, ScreenSource, ScreenSpec};
use super::I420;
use crate::error::MediaError;

/// The largest picture sent: full HD. A larger screen is halved until it fits.
pub const MAX_WIDTH: usize = super::convert::SCREEN_MAX.0;
pub const MAX_HEIGHT: usize = super::convert::SCREEN_MAX.1;

/// An open capture; `capture` reads the current picture.
pub struct ScreenCapture {
    conn: RustConnection,
    root: xproto::Window,
    /// What GetImage reads: the root window (a monitor's rectangle) or the window.
    drawable: xproto::Window,
    /// The window shared, watched for going away.
    window: Option<xproto::Window>,
    /// The window's contents as the X server keeps them off screen (Composite), read
    /// instead of the window: what covers the window is not sent, and a window
    /// partly off screen can still be read.
    pixmap: Option<xproto::Pixmap>,
    composite: bool,
    /// The window is hidden (minimized, another workspace): its last picture is
    /// sent again until it is back.
    paused: bool,
    x: i16,
    y: i16,
    width: u16,
    height: u16,
    shm: Shm,
    cursor: bool,
    /// The picture at full size, then (if larger than full HD) halved.
    pictures: ScreenPictures,
    /// The row pairs the pointer was drawn over last time (converted again).
    pointer_rows: std::ops::Range<usize>,
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

impl ScreenCapture {
    pub fn open(spec: &ScreenSpec) -> Result<ScreenCapture, MediaError> {
        if spec.is_portal() {
            // The portal's stream is read through PipeWire (pipewire.rs), not X.
            return Err(MediaError::Screen(
                "the desktop's portal has not granted a screen yet".into(),
            ));
        }
        let (conn, screen) = connect()?;
        let root = root_of(&conn, screen)?;
        let (drawable, window, (x, y, width, height)) = match spec {
            ScreenSpec::Monitor(n) => {
                let all = monitors(&conn, root)?;
                let m = all.get(n.unwrap_or(0)).copied().ok_or_else(|| {
                    MediaError::Screen(format!(
                        "there is no {} (monitors are numbered from 0; this screen has {})",
                        spec.key(),
                        all.len()
                    ))
                })?;
                (root, None, m)
            }
            ScreenSpec::Window(_) | ScreenSpec::WindowId(_) | ScreenSpec::Portal(_) => {
                let all = windows(&conn, root)?;
                let found = match spec {
                    ScreenSpec::Window(name) => all
                        .iter()
                        .find(|(_, t)| t == name)
                        .or_else(|| all.iter().find(|(_, t)| t.contains(name.as_str()))),
                    _ => all.iter().find(|(w, _)| ScreenSpec::WindowId(*w) == *spec),
                };
                let Some(&(w, _)) = found else {
                    return Err(MediaError::Screen(match spec {
                        ScreenSpec::Window(name) => format!("no open window is called \"{name}\""),
                        _ => "the window picked is no longer open".into(),
                    }));
                };
                let g = conn
                    .get_geometry(w)
                    .map_err(x_err)?
                    .reply()
                    .map_err(x_err)?;
                // Told when it goes, moves, is resized or hidden, rather than learning
                // it from a failed read.
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
        // A window is read from what Composite keeps of it (automatic redirection:
        // the server still draws it on screen as before, a compositor or not).
        let composite = window.is_some_and(|w| {
            conn.composite_query_version(0, 4)
                .ok()
                .and_then(|c| c.reply().ok())
                .is_some()
                && conn
                    .composite_redirect_window(w, Redirect::AUTOMATIC)
                    .ok()
                    .and_then(|c| c.check().ok())
                    .is_some()
        });
        tracing::info!(?spec, width, height, composite, "sharing the screen");
        let mut capture = ScreenCapture {
            conn,
            root,
            drawable,
            window,
            pixmap: None,
            composite,
            paused: false,
            x,
            y,
            width,
            height,
            shm,
            cursor,
            pictures: ScreenPictures::new(usize::from(width), usize::from(height)),
            pointer_rows: 0..0,
        };
        capture.name_pixmap();
        Ok(capture)
    }

    /// Names the window's off-screen contents again (a new pixmap after each resize
    /// or mapping), to be read instead of the window.
    fn name_pixmap(&mut self) {
        let Some(w) = self.window.filter(|_| self.composite) else {
            return;
        };
        if let Some(old) = self.pixmap.take() {
            let _ = self.conn.free_pixmap(old);
        }
        self.drawable = w;
        let Ok(p) = self.conn.generate_id() else {
            return;
        };
        let named = self.conn.composite_name_window_pixmap(w, p);
        if named.ok().and_then(|c| c.check().ok()).is_some() {
            self.pixmap = Some(p);
            self.drawable = p;
        }
    }

    /// The shared window's new size: new buffers (the pictures change size too).
    fn resized(&mut self, width: u16, height: u16) -> Result<(), MediaError> {
        if width < 16 || height < 16 {
            self.paused = true;
            return Ok(());
        }
        self.shm = attach(&self.conn, usize::from(width) * usize::from(height) * 4)?;
        self.pictures = ScreenPictures::new(usize::from(width), usize::from(height));
        (self.width, self.height) = (width, height);
        self.name_pixmap();
        tracing::debug!(width, height, "the shared window was resized");
        Ok(())
    }

    /// The size of the pictures `capture` gives.
    pub fn size(&self) -> (usize, usize) {
        let sent = self.pictures.last();
        (sent.width, sent.height)
    }

    /// Reads the current picture (with the pointer drawn in).
    pub fn capture(&mut self) -> Result<&I420, MediaError> {
        self.check_window()?;
        if self.paused {
            return Ok(self.last());
        }
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
            // The window changed between two pictures (its events say how, next
            // time): the last picture once more.
            Err(e) if self.window.is_some() => {
                tracing::debug!(error = %e, "the shared window could not be read this time");
                return Ok(self.last());
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
        self.pictures
            .update(pixels, stride, self.pointer_rows.clone());
        if self.cursor {
            self.draw_cursor();
        }
        Ok(self.pictures.finish())
    }

    /// The picture sent last (while the window is hidden).
    fn last(&self) -> &I420 {
        self.pictures.last()
    }

    /// What happened to the shared window since the last picture (its events, read
    /// without waiting): closed ends the capture; hidden pauses it; shown again or
    /// resized reads it anew. Moved, or partly off screen, changes nothing.
    fn check_window(&mut self) -> Result<(), MediaError> {
        let Some(w) = self.window else {
            return Ok(());
        };
        while let Some(ev) = self.conn.poll_for_event().map_err(x_err)? {
            use x11rb::protocol::Event;
            match ev {
                Event::DestroyNotify(d) if d.window == w => {
                    tracing::info!("the shared window was closed");
                    return Err(MediaError::ScreenGone);
                }
                Event::UnmapNotify(u) if u.window == w => self.paused = true,
                Event::MapNotify(m) if m.window == w => {
                    self.paused = false;
                    self.name_pixmap();
                }
                Event::ConfigureNotify(c)
                    if c.window == w && (c.width, c.height) != (self.width, self.height) =>
                {
                    self.resized(c.width, c.height)?;
                }
                _ => {}
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
            &mut self.pictures.full,
            &c.cursor_image,
            usize::from(c.width),
            usize::from(c.height),
            x0,
            y0,
        );
    }
}

/// Makes `spec` ready to share without blocking the runtime: on Wayland (or for
/// `Portal(None)`) the desktop's dialog picks, whatever was asked for; on X11 the source
/// is opened once, so one that cannot be read is said before anything switches.
pub async fn prepare(spec: ScreenSpec) -> Result<ScreenSpec, MediaError> {
    use super::portal;
    if spec == ScreenSpec::Portal(None) || (portal::wayland_session() && !spec.is_portal()) {
        // Generous: a person may read the dialog, or step away from it.
        let within = std::time::Duration::from_secs(600);
        return match tokio::time::timeout(within, portal::ask()).await {
            Ok(granted) => granted.map(|s| ScreenSpec::Portal(Some(s))),
            Err(_) => Err(MediaError::Screen(
                "the desktop's dialog was not answered within 10 minutes".into(),
            )),
        };
    }
    if spec.is_portal() {
        return Ok(spec);
    }
    tokio::task::spawn_blocking(move || ScreenCapture::open(&spec).map(|_| spec))
        .await
        .map_err(|_| MediaError::Internal("screen check"))?
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
    let no_shm = || MediaError::Screen("the X server has no MIT-SHM extension".into());
    conn.shm_query_version()
        .map_err(|_| no_shm())?
        .reply()
        .map_err(|_| no_shm())?;
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
