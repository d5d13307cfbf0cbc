//! A known screen for the screen-sharing tests: a page of small text in black on
//! white, a few colour blocks, and the frame number as the row of 32 blocks that
//! `pattern::read` reads, drawn by an X client into a window covering Xvfb's screen.
//! The pictures are a function of the frame number, so a test can compare what the
//! far end recorded with what was on the screen.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::wrapper::ConnectionExt as _;

use super::Xvfb;

pub const W: usize = 1280;
pub const H: usize = 720;
/// Where the frame number's blocks are (as `pattern::draw` puts them).
const BLOCK: usize = 16;
const NUMBER_TOP: usize = 16;

/// Frame `n` of the screen as 32-bit BGRX rows.
pub fn picture(n: u32) -> Vec<u8> {
    picture_sized(n, W, H, 0)
}

/// Frame `n` of a `w`x`h` screen whose page is scrolled up by `scroll` lines of text.
pub fn picture_sized(n: u32, w: usize, h: usize, scroll: usize) -> Vec<u8> {
    let mut p = vec![255u8; w * h * 4];
    let mut set = |x: usize, y: usize, rgb: [u8; 3]| {
        let i = (y * w + x) * 4;
        p[i..i + 3].copy_from_slice(&[rgb[2], rgb[1], rgb[0]]);
    };
    // The page: lines of digits (a fixed pseudo-random text), 8 px a character, 14 px
    // a line, with a margin, and a blank space bottom right where the pointer rests.
    let mut seed = 0x2545_f491u32;
    let (lines, cols) = ((h - 64) / 14, (w - 80) / 8);
    for _ in 0..scroll * cols {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
    }
    for line in 0..lines {
        let y0 = 64 + line * 14;
        for col in 0..cols {
            let x0 = 40 + col * 8;
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            // Word breaks: one character in six is a space; a blank corner for the
            // pointer.
            let corner = x0 > w * 7 / 10 && y0 > h * 7 / 10;
            if seed.is_multiple_of(6) || corner || y0 + 10 > h {
                continue;
            }
            // The pattern's digits, at twice their size: text of the size people read.
            let glyph = banter_media::video::pattern::GLYPHS[(seed >> 8) as usize % 10];
            for (gy, bits) in glyph.iter().enumerate() {
                for gx in 0..3 {
                    if bits >> (2 - gx) & 1 == 1 {
                        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                            set(x0 + gx * 2 + dx, y0 + gy * 2 + dy, [0, 0, 0]);
                        }
                    }
                }
            }
        }
    }
    // Colour blocks in the heading, right of the number.
    for (i, rgb) in [[200, 30, 40], [20, 160, 90], [30, 60, 220]]
        .iter()
        .enumerate()
    {
        for y in 12..44 {
            for x in 600 + i * 60..640 + i * 60 {
                set(x, y, *rgb);
            }
        }
    }
    for bit in 0..32 {
        let on = n >> (31 - bit) & 1 == 1;
        let v = if on { 255 } else { 0 };
        for y in NUMBER_TOP..NUMBER_TOP + BLOCK {
            for x in bit * BLOCK..(bit + 1) * BLOCK {
                set(x, y, [v, v, v]);
            }
        }
    }
    p
}

/// Draws rows `rows` of picture `p` (`w` wide) into the window, in strips that fit
/// a request.
fn put(
    conn: &impl Connection,
    (win, gc): (xproto::Window, xproto::Gcontext),
    w: usize,
    p: &[u8],
    rows: std::ops::Range<usize>,
) {
    let strip = 48 * 1280 / w;
    for y0 in rows.clone().step_by(strip) {
        let y1 = (y0 + strip).min(rows.end);
        conn.put_image(
            xproto::ImageFormat::Z_PIXMAP,
            win,
            gc,
            w as u16,
            (y1 - y0) as u16,
            0,
            y0 as i16,
            0,
            24,
            &p[y0 * w * 4..y1 * w * 4],
        )
        .unwrap();
    }
    conn.sync().unwrap();
}

/// How the page changes from one frame to the next.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    /// Only the frame number (a document being read).
    Still,
    /// The page scrolls by a line of text each frame, all of it redrawn.
    Scrolling,
}

/// What a test does to the page's window while it is shown.
enum Action {
    /// Close it, as its user would.
    Close,
    /// Move it (partly off screen, say).
    Move(i16, i16),
    /// Put another window over part of it, filled with one colour.
    Cover(xproto::Rectangle, u32),
}

/// The window showing the screen, redrawn with the next frame number at `fps`.
pub struct TestScreen {
    stop: Arc<AtomicBool>,
    /// The number on the screen now.
    pub shown: Arc<AtomicU32>,
    thread: Option<std::thread::JoinHandle<()>>,
    actions: std::sync::mpsc::Sender<Action>,
}

impl TestScreen {
    /// Opens a window titled `title` over the whole of `x`'s screen (which must be
    /// `W`x`H`), with the pointer resting at `pointer` on a blank part of it.
    pub fn show(x: &Xvfb, title: &str, fps: u32, pointer: (i16, i16)) -> TestScreen {
        TestScreen::show_sized(x, title, fps, pointer, (W, H), Motion::Still)
    }

    /// The same at another size, still or scrolling.
    pub fn show_sized(
        x: &Xvfb,
        title: &str,
        fps: u32,
        pointer: (i16, i16),
        (w, h): (usize, usize),
        motion: Motion,
    ) -> TestScreen {
        let (conn, screen) = x11rb::connect(Some(&x.display)).expect("Xvfb");
        let root = conn.setup().roots[screen].root;
        let win = conn.generate_id().unwrap();
        let aux = xproto::CreateWindowAux::new()
            .override_redirect(1)
            .background_pixel(0xffffff)
            .event_mask(xproto::EventMask::EXPOSURE);
        conn.create_window(
            24,
            win,
            root,
            0,
            0,
            w as u16,
            h as u16,
            0,
            xproto::WindowClass::INPUT_OUTPUT,
            0,
            &aux,
        )
        .unwrap();
        conn.change_property8(
            xproto::PropMode::REPLACE,
            win,
            xproto::AtomEnum::WM_NAME,
            xproto::AtomEnum::STRING,
            title.as_bytes(),
        )
        .unwrap();
        let gc = conn.generate_id().unwrap();
        conn.create_gc(gc, win, &xproto::CreateGCAux::new())
            .unwrap();
        conn.map_window(win).unwrap();
        conn.warp_pointer(x11rb::NONE, root, 0, 0, 0, 0, pointer.0, pointer.1)
            .unwrap();
        conn.sync().unwrap();
        // The whole page once.
        put(&conn, (win, gc), w, &picture_sized(0, w, h, 0), 0..h);
        let (stop, shown) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU32::new(0)),
        );
        let (actions, todo) = std::sync::mpsc::channel();
        let thread = {
            let (stop, shown) = (stop.clone(), shown.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                'shown: while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_secs(1) / fps);
                    // Drawn again where the server asks (as any program does).
                    let mut exposed = false;
                    while let Ok(Some(ev)) = conn.poll_for_event() {
                        exposed |= matches!(ev, x11rb::protocol::Event::Expose(_));
                    }
                    if exposed {
                        put(&conn, (win, gc), w, &picture_sized(n, w, h, 0), 0..h);
                    }
                    while let Ok(action) = todo.try_recv() {
                        match action {
                            Action::Close => {
                                conn.destroy_window(win).unwrap();
                                conn.sync().unwrap();
                                break 'shown;
                            }
                            Action::Move(x, y) => {
                                let to = xproto::ConfigureWindowAux::new()
                                    .x(i32::from(x))
                                    .y(i32::from(y));
                                conn.configure_window(win, &to).unwrap();
                            }
                            Action::Cover(r, rgb) => {
                                let cover = conn.generate_id().unwrap();
                                let aux = xproto::CreateWindowAux::new()
                                    .override_redirect(1)
                                    .background_pixel(rgb);
                                conn.create_window(
                                    24,
                                    cover,
                                    root,
                                    r.x,
                                    r.y,
                                    r.width,
                                    r.height,
                                    0,
                                    xproto::WindowClass::INPUT_OUTPUT,
                                    0,
                                    &aux,
                                )
                                .unwrap();
                                conn.map_window(cover).unwrap();
                            }
                        }
                        conn.sync().unwrap();
                    }
                    n += 1;
                    match motion {
                        // Only the number changes: the rest of the page is still.
                        Motion::Still => put(
                            &conn,
                            (win, gc),
                            w,
                            &picture_sized(n, w, h, 0),
                            NUMBER_TOP..NUMBER_TOP + BLOCK,
                        ),
                        Motion::Scrolling => put(
                            &conn,
                            (win, gc),
                            w,
                            &picture_sized(n, w, h, n as usize),
                            0..h,
                        ),
                    }
                    shown.store(n, Ordering::Relaxed);
                }
                // Kept open (the connection alive) until the test ends.
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        TestScreen {
            stop,
            shown,
            thread: Some(thread),
            actions,
        }
    }

    /// Closes the window (as its user would).
    pub fn close(&self) {
        let _ = self.actions.send(Action::Close);
    }

    /// Moves the window to (`x`, `y`).
    pub fn move_to(&self, x: i16, y: i16) {
        let _ = self.actions.send(Action::Move(x, y));
    }

    /// Opens another window over `area` of the screen, all in colour `rgb`.
    pub fn cover(&self, (x, y, width, height): (i16, i16, u16, u16), rgb: u32) {
        let area = xproto::Rectangle {
            x,
            y,
            width,
            height,
        };
        let _ = self.actions.send(Action::Cover(area, rgb));
    }
}

impl Drop for TestScreen {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The PSNR of luma `got` against `want` (both `W` wide), in dB, leaving out the
/// pixels `skip` says.
pub fn psnr(got: &[u8], want: &[u8], skip: impl Fn(usize, usize) -> bool) -> f64 {
    let (mut sum, mut n) = (0f64, 0u64);
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        if skip(i % W, i / W) {
            continue;
        }
        let d = f64::from(*a) - f64::from(*b);
        sum += d * d;
        n += 1;
    }
    let mse = sum / n.max(1) as f64;
    if mse == 0.0 {
        return 99.0;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}
