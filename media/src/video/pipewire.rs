//! Reading a screen the portal granted (portal.rs): a PipeWire stream on the remote the
//! portal opened, connected to the picked node. PipeWire calls back on a thread of its
//! own (its main loop); each picture is copied there into a shared slot, and `capture`
//! converts the newest one to I420 on the video engine's thread, like the X11 capture.
//! The desktop sends pictures when the screen changes; between them the last is sent.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ::pipewire as pw;
use pw::spa;
use pw::spa::param::video::VideoFormat;

use super::convert::ScreenPictures;
use super::portal::PortalStream;
use super::I420;
use crate::error::MediaError;

/// How long the desktop may take to send the first picture.
const FIRST_PICTURE: Duration = Duration::from_secs(10);

/// The newest picture from PipeWire, as BGRX rows of `width * 4` bytes.
#[derive(Default)]
struct Latest {
    pixels: Vec<u8>,
    width: usize,
    height: usize,
    /// By row pair: changed since `capture` last converted the picture. Compared while
    /// copying, so that the picture is read once (a full-HD screen is 8 MB, fifteen
    /// times a second) and nothing keeps a second copy to compare with.
    changed: Vec<bool>,
    /// Counts pictures, so `capture` converts each once.
    seq: u64,
    /// The stream ended (`None` inside: the desktop stopped it, not a failure).
    ended: Option<Option<String>>,
}

/// An open PipeWire capture of a portal's stream.
pub struct PipewireCapture {
    latest: Arc<Mutex<Latest>>,
    stream: PortalStream,
    quit: pw::channel::Sender<()>,
    thread: Option<JoinHandle<()>>,
    seen: u64,
    pictures: Option<ScreenPictures>,
    opened: Instant,
}

impl PipewireCapture {
    /// Connects to the portal's PipeWire remote and to the picked node, on a thread of
    /// its own: returns at once (on the video engine's or a tokio thread, which must not
    /// wait); a failure to connect ends the capture at its first `capture`.
    pub fn open(stream: &PortalStream) -> Result<PipewireCapture, MediaError> {
        let remote = stream.remote()?;
        let node = stream.node();
        let latest = Arc::new(Mutex::new(Latest::default()));
        let (quit, quit_rx) = pw::channel::channel::<()>();
        let shared = latest.clone();
        let thread = std::thread::Builder::new()
            .name("banter-pipewire".into())
            .spawn(move || {
                if let Err(e) = run(remote, node, shared.clone(), quit_rx) {
                    tracing::warn!(error = %e, "PipeWire");
                    if let Ok(mut l) = shared.lock() {
                        l.ended.get_or_insert(Some(e.to_string()));
                    }
                }
            })
            .map_err(|e| MediaError::Screen(format!("cannot start the PipeWire thread: {e}")))?;
        Ok(PipewireCapture {
            latest,
            stream: stream.clone(),
            quit,
            thread: Some(thread),
            seen: 0,
            pictures: None,
            opened: Instant::now(),
        })
    }

    /// The size of the pictures `capture` gives (0x0 before the first).
    pub fn size(&self) -> (usize, usize) {
        self.pictures
            .as_ref()
            .map(|p| (p.last().width, p.last().height))
            .unwrap_or((0, 0))
    }

    /// The newest picture (the last one again when nothing changed); `None` until the
    /// first arrives. The end of the stream, or of the portal's session, ends the
    /// capture.
    pub fn capture(&mut self) -> Result<Option<&I420>, MediaError> {
        let stopped = || MediaError::Screen("the desktop stopped the sharing".into());
        if self.stream.closed() {
            return Err(stopped());
        }
        let mut latest = self
            .latest
            .lock()
            .map_err(|_| MediaError::Internal("PipeWire capture"))?;
        match &latest.ended {
            Some(None) => return Err(stopped()),
            Some(Some(why)) => return Err(MediaError::Screen(why.clone())),
            None => {}
        }
        if latest.seq == self.seen {
            if self.pictures.is_none() && self.opened.elapsed() > FIRST_PICTURE {
                return Err(MediaError::Screen(format!(
                    "the desktop sent no picture within {} s",
                    FIRST_PICTURE.as_secs()
                )));
            }
            return Ok(self.pictures.as_ref().map(ScreenPictures::last));
        }
        self.seen = latest.seq;
        let (w, h) = (latest.width, latest.height);
        let pictures = match &mut self.pictures {
            Some(p) if (p.full.width, p.full.height) == (w & !1, h & !1) => p,
            slot => slot.insert(ScreenPictures::new(w, h)),
        };
        let Latest {
            pixels, changed, ..
        } = &mut *latest;
        pictures.update_changed(pixels, w * 4, changed);
        changed.fill(false);
        drop(latest);
        Ok(self.pictures.as_mut().map(ScreenPictures::finish))
    }
}

impl Drop for PipewireCapture {
    fn drop(&mut self) {
        let _ = self.quit.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the stream's callbacks keep between calls.
#[derive(Default)]
struct Negotiated {
    format: Option<VideoFormat>,
    width: usize,
    height: usize,
}

/// The PipeWire thread: connects, then runs the main loop until told to quit or the
/// connection fails.
fn run(
    remote: std::os::fd::OwnedFd,
    node: u32,
    latest: Arc<Mutex<Latest>>,
    quit: pw::channel::Receiver<()>,
) -> Result<(), MediaError> {
    let pw_err = |what: &str, e: pw::Error| MediaError::Screen(format!("PipeWire {what}: {e}"));
    pw::init();
    let main_loop = pw::main_loop::MainLoopRc::new(None).map_err(|e| pw_err("main loop", e))?;
    let context =
        pw::context::ContextRc::new(&main_loop, None).map_err(|e| pw_err("context", e))?;
    let core = context
        .connect_fd_rc(remote, None)
        .map_err(|e| pw_err("connection to the portal's remote", e))?;
    let ml = main_loop.clone();
    let _quit = quit.attach(main_loop.loop_(), move |()| ml.quit());
    let on_error = latest.clone();
    let ml = main_loop.clone();
    let _core_listener = core
        .add_listener_local()
        .error(move |id, _seq, res, message| {
            tracing::warn!(id, res, message, "PipeWire error");
            if id == pw::core::PW_ID_CORE {
                if let Ok(mut l) = on_error.lock() {
                    l.ended = Some(Some(format!("PipeWire: {message}")));
                }
                ml.quit();
            }
        })
        .register();
    let stream = pw::stream::StreamBox::new(
        &core,
        "banter-screen",
        pw::properties::properties! {
            *pw::keys::MEDIA_TYPE => "Video",
            *pw::keys::MEDIA_CATEGORY => "Capture",
            *pw::keys::MEDIA_ROLE => "Screen",
        },
    )
    .map_err(|e| pw_err("stream", e))?;
    let on_state = latest.clone();
    let on_picture = latest;
    let _listener = stream
        .add_local_listener_with_user_data(Negotiated::default())
        .state_changed(move |_, _, old, new| {
            tracing::debug!(?old, ?new, "PipeWire stream");
            let end = match new {
                pw::stream::StreamState::Error(why) => Some(Some(format!("PipeWire: {why}"))),
                // The node went away (the desktop stopped the sharing).
                pw::stream::StreamState::Unconnected => Some(None),
                _ => None,
            };
            if let (Some(end), Ok(mut l)) = (end, on_state.lock()) {
                l.ended.get_or_insert(end);
            }
        })
        .param_changed(|stream, negotiated, id, param| {
            let Some(param) = param else { return };
            if id != spa::param::ParamType::Format.as_raw() {
                return;
            }
            let mut info = spa::param::video::VideoInfoRaw::default();
            if info.parse(param).is_ok() {
                negotiated.format = Some(info.format());
                negotiated.width = info.size().width as usize;
                negotiated.height = info.size().height as usize;
                tracing::info!(format = ?info.format(), width = negotiated.width, height = negotiated.height, "the shared screen's format");
                // Buffers in memory this process can map (not GPU memory), and where
                // in them the picture is.
                match (buffers_param(negotiated.width, negotiated.height), crop_param()) {
                    (Ok(buffers), Ok(crop)) => {
                        let pods = [&buffers, &crop].map(|b| spa::pod::Pod::from_bytes(b));
                        if let [Some(b), Some(c)] = pods {
                            let _ = stream.update_params(&mut [b, c]);
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => tracing::warn!(error = ?e, "PipeWire buffers"),
                }
            }
        })
        .process(move |stream, negotiated| {
            let Some(mut buffer) = Dequeued::next(stream) else {
                return;
            };
            let Some(format) = negotiated.format else { return };
            let (w, h) = (negotiated.width, negotiated.height);
            // A window's stream may be larger than the window: the crop says where it is.
            let area = match buffer.crop() {
                Some((x, y, cw, ch)) if x < w && y < h => (x, y, cw.min(w - x), ch.min(h - y)),
                _ => (0, 0, w, h),
            };
            let Some(data) = buffer.first_data() else {
                return;
            };
            if data.type_() == spa::buffer::DataType::DmaBuf {
                // Asked for mappable memory only; a desktop that sends GPU memory anyway
                // cannot be read here.
                if let Ok(mut l) = on_picture.lock() {
                    l.ended.get_or_insert(Some(
                        "the desktop sends the screen only in GPU memory (DMA-BUF), which Banter cannot read yet".into(),
                    ));
                }
                return;
            }
            let chunk = data.chunk();
            let (offset, size) = (chunk.offset() as usize, chunk.size() as usize);
            let stride = match chunk.stride() {
                s if s > 0 => s as usize,
                _ => w * 4,
            };
            if size == 0 || stride < w * 4 {
                return;
            }
            let Some(bytes) = data.data().and_then(|d| d.get(offset..offset.saturating_add(size)))
            else {
                return;
            };
            if let Ok(mut l) = on_picture.lock() {
                copy_bgrx(bytes, stride, area, format, &mut l);
            }
        })
        .register()
        .map_err(|e| pw_err("listener", e))?;
    let format = format_param().map_err(|e| MediaError::Screen(format!("PipeWire format: {e}")))?;
    let mut params =
        [spa::pod::Pod::from_bytes(&format).ok_or(MediaError::Internal("PipeWire format"))?];
    stream
        .connect(
            spa::utils::Direction::Input,
            Some(node),
            // Never relinked to another video source when the picked one goes.
            pw::stream::StreamFlags::AUTOCONNECT
                | pw::stream::StreamFlags::MAP_BUFFERS
                | pw::stream::StreamFlags::DONT_RECONNECT,
            &mut params,
        )
        .map_err(|e| pw_err("stream connection", e))?;
    main_loop.run();
    let _ = stream.disconnect();
    Ok(())
}

/// A buffer taken from the stream, given back when dropped. Read through its raw form:
/// the bindings' safe buffer does not show its metadata (the crop).
struct Dequeued<'s> {
    stream: &'s pw::stream::Stream,
    raw: *mut pw::sys::pw_buffer,
}

impl<'s> Dequeued<'s> {
    fn next(stream: &'s pw::stream::Stream) -> Option<Dequeued<'s>> {
        // SAFETY: called from the stream's process callback, on its loop's thread.
        let raw = unsafe { stream.dequeue_raw_buffer() };
        (!raw.is_null()).then_some(Dequeued { stream, raw })
    }

    fn spa(&self) -> Option<&spa::sys::spa_buffer> {
        // SAFETY: `raw` is a dequeued pw_buffer, ours until queued back in drop.
        unsafe { (*self.raw).buffer.as_ref() }
    }

    /// The VideoCrop metadata: (x, y, width, height) of the picture in the buffer.
    fn crop(&self) -> Option<(usize, usize, usize, usize)> {
        let b = self.spa()?;
        if b.metas.is_null() {
            return None;
        }
        // SAFETY: `metas` holds `n_metas` entries while the buffer is dequeued.
        let metas = unsafe { std::slice::from_raw_parts(b.metas, b.n_metas as usize) };
        let meta = metas.iter().find(|m| {
            m.type_ == spa::sys::SPA_META_VideoCrop
                && m.size as usize >= std::mem::size_of::<spa::sys::spa_meta_region>()
                && !m.data.is_null()
        })?;
        // SAFETY: the entry's data is at least one spa_meta_region (checked above).
        let r = unsafe { std::ptr::read_unaligned(meta.data.cast::<spa::sys::spa_meta_region>()) }
            .region;
        let (x, y) = (
            usize::try_from(r.position.x).ok()?,
            usize::try_from(r.position.y).ok()?,
        );
        let (w, h) = (r.size.width as usize, r.size.height as usize);
        (w > 0 && h > 0).then_some((x, y, w, h))
    }

    fn first_data(&mut self) -> Option<&mut spa::buffer::Data> {
        let b = self.spa()?;
        if b.n_datas == 0 || b.datas.is_null() {
            return None;
        }
        // SAFETY: Data is a transparent spa_data; the first of `n_datas`, ours while
        // the buffer is dequeued (as the bindings' own `datas_mut` reads it).
        Some(unsafe { &mut *b.datas.cast::<spa::buffer::Data>() })
    }
}

impl Drop for Dequeued<'_> {
    fn drop(&mut self) {
        // SAFETY: dequeued from this stream and not queued back yet.
        unsafe { self.stream.queue_raw_buffer(self.raw) };
    }
}

/// Copies the `area` (x, y, width, height) of one picture into `latest` as BGRX rows
/// (RGB orders swapped to it), marking the row pairs that changed.
fn copy_bgrx(
    bytes: &[u8],
    stride: usize,
    (x, y, w, h): (usize, usize, usize, usize),
    format: VideoFormat,
    l: &mut Latest,
) {
    let row = w * 4;
    if (l.width, l.height) != (w, h) || l.pixels.len() != row * h {
        l.pixels.clear();
        l.pixels.resize(row * h, 0);
        l.changed.clear();
        l.changed.resize(h.div_ceil(2), true);
    }
    let swap = format == VideoFormat::RGBx || format == VideoFormat::RGBA;
    let rows = bytes.chunks(stride).skip(y);
    for (n, (src, dst)) in rows.zip(l.pixels.chunks_exact_mut(row)).enumerate() {
        let Some(src) = src.get(x * 4..x * 4 + row) else {
            break;
        };
        let changed = if swap {
            let mut changed = false;
            for (s, d) in src.chunks_exact(4).zip(dst.chunks_exact_mut(4)) {
                if let (&[r, g, b, a], [db, dg, dr, da]) = (s, d) {
                    changed |= (*db, *dg, *dr) != (b, g, r);
                    (*db, *dg, *dr, *da) = (b, g, r, a);
                }
            }
            changed
        } else if dst != src {
            dst.copy_from_slice(src);
            true
        } else {
            false
        };
        if changed {
            if let Some(c) = l.changed.get_mut(n / 2) {
                *c = true;
            }
        }
    }
    (l.width, l.height) = (w, h);
    l.seq += 1;
}

/// The metadata asked for: where in each buffer the picture is (VideoCrop), which
/// desktops send for a window smaller than its stream.
fn crop_param() -> Result<Vec<u8>, spa::pod::serialize::GenError> {
    use spa::pod::{Object, Property, Value};
    let size = std::mem::size_of::<spa::sys::spa_meta_region>() as i32;
    let obj = Object {
        type_: spa::sys::SPA_TYPE_OBJECT_ParamMeta,
        id: spa::sys::SPA_PARAM_Meta,
        properties: vec![
            Property::new(
                spa::sys::SPA_PARAM_META_type,
                Value::Id(spa::utils::Id(spa::sys::SPA_META_VideoCrop)),
            ),
            Property::new(spa::sys::SPA_PARAM_META_size, Value::Int(size)),
        ],
    };
    pod_bytes(obj)
}

/// A param object as the bytes a Pod is read from.
fn pod_bytes(obj: spa::pod::Object) -> Result<Vec<u8>, spa::pod::serialize::GenError> {
    let value = spa::pod::Value::Object(obj);
    let (out, _) =
        spa::pod::serialize::PodSerializer::serialize(std::io::Cursor::new(Vec::new()), &value)?;
    Ok(out.into_inner())
}

/// The buffers asked for: 2 to 16, in memory the stream maps for us (a memfd or plain
/// memory, not GPU memory), one picture of `width` x `height` each. The stride and size
/// are at least a packed picture's; a producer's padded rows are read as such. (Some
/// producers deliver nothing when the size is left out.)
fn buffers_param(width: usize, height: usize) -> Result<Vec<u8>, spa::pod::serialize::GenError> {
    use spa::pod::{ChoiceValue, Object, Property, Value};
    use spa::utils::{Choice, ChoiceEnum, ChoiceFlags};
    let range = |default: i32, min: i32, max: i32| {
        Value::Choice(ChoiceValue::Int(Choice(
            ChoiceFlags::empty(),
            ChoiceEnum::Range { default, min, max },
        )))
    };
    let int = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    let (stride, size) = (int(width * 4), int(width * height * 4));
    let memory = (1 << spa::sys::SPA_DATA_MemFd) | (1 << spa::sys::SPA_DATA_MemPtr);
    let obj = Object {
        type_: spa::sys::SPA_TYPE_OBJECT_ParamBuffers,
        id: spa::sys::SPA_PARAM_Buffers,
        properties: vec![
            Property::new(spa::sys::SPA_PARAM_BUFFERS_buffers, range(8, 2, 16)),
            Property::new(spa::sys::SPA_PARAM_BUFFERS_blocks, Value::Int(1)),
            Property::new(
                spa::sys::SPA_PARAM_BUFFERS_size,
                range(size, size, i32::MAX),
            ),
            Property::new(
                spa::sys::SPA_PARAM_BUFFERS_stride,
                range(stride, stride, i32::MAX),
            ),
            Property::new(spa::sys::SPA_PARAM_BUFFERS_dataType, Value::Int(memory)),
        ],
    };
    pod_bytes(obj)
}

/// The formats asked for: raw video in a 32-bit RGB order (which desktops offer in
/// memory they can share without a GPU copy), any size, up to 30 pictures a second.
fn format_param() -> Result<Vec<u8>, spa::pod::serialize::GenError> {
    use spa::param::format::{FormatProperties, MediaSubtype, MediaType};
    let obj = spa::pod::object!(
        spa::utils::SpaTypes::ObjectParamFormat,
        spa::param::ParamType::EnumFormat,
        spa::pod::property!(FormatProperties::MediaType, Id, MediaType::Video),
        spa::pod::property!(FormatProperties::MediaSubtype, Id, MediaSubtype::Raw),
        spa::pod::property!(
            FormatProperties::VideoFormat,
            Choice,
            Enum,
            Id,
            VideoFormat::BGRx,
            VideoFormat::BGRx,
            VideoFormat::BGRA,
            VideoFormat::RGBx,
            VideoFormat::RGBA
        ),
        spa::pod::property!(
            FormatProperties::VideoSize,
            Choice,
            Range,
            Rectangle,
            spa::utils::Rectangle {
                width: 1920,
                height: 1080
            },
            spa::utils::Rectangle {
                width: 16,
                height: 16
            },
            spa::utils::Rectangle {
                width: 8192,
                height: 8192
            }
        ),
        spa::pod::property!(
            FormatProperties::VideoFramerate,
            Choice,
            Range,
            Fraction,
            spa::utils::Fraction { num: 15, denom: 1 },
            spa::utils::Fraction { num: 0, denom: 1 },
            spa::utils::Fraction { num: 30, denom: 1 }
        ),
    );
    pod_bytes(obj)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn rgb_orders_are_copied_as_bgrx_and_padding_is_dropped() {
        // Two pixels a row, a stride of 12 (4 bytes of padding), two rows.
        let src = [
            1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, //
            9, 10, 11, 12, 13, 14, 15, 16, 0, 0, 0, 0,
        ];
        let mut l = Latest::default();
        copy_bgrx(&src, 12, (0, 0, 2, 2), VideoFormat::BGRx, &mut l);
        assert_eq!(
            l.pixels,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
        );
        assert_eq!((l.width, l.height, l.seq), (2, 2, 1));
        copy_bgrx(&src, 12, (0, 0, 2, 2), VideoFormat::RGBA, &mut l);
        assert_eq!(
            l.pixels,
            [3, 2, 1, 4, 7, 6, 5, 8, 11, 10, 9, 12, 15, 14, 13, 16]
        );
        assert_eq!(l.seq, 2);
    }

    /// Only the row pairs that differ from the picture before are marked; a new size
    /// marks all; the marks stay until taken.
    #[test]
    fn changed_rows_are_marked_while_copying() {
        // 1 pixel wide, 6 rows: three row pairs.
        let mut src: Vec<u8> = (0..6u8).flat_map(|i| [i; 4]).collect();
        let mut l = Latest::default();
        copy_bgrx(&src, 4, (0, 0, 1, 6), VideoFormat::BGRx, &mut l);
        assert_eq!(l.changed, [true, true, true], "a first picture");
        l.changed.fill(false);
        copy_bgrx(&src, 4, (0, 0, 1, 6), VideoFormat::BGRx, &mut l);
        assert_eq!(l.changed, [false, false, false], "the same again");
        src[4 * 3] = 99; // row 3: the second pair
        copy_bgrx(&src, 4, (0, 0, 1, 6), VideoFormat::BGRx, &mut l);
        assert_eq!(l.changed, [false, true, false]);
        l.changed.fill(false);
        // Now in RGBA order: rows whose red and blue differ read differently (row 3,
        // and row 5 changed in its red).
        src[4 * 5 + 2] = 98;
        copy_bgrx(&src, 4, (0, 0, 1, 6), VideoFormat::RGBA, &mut l);
        assert_eq!(l.changed, [false, true, true]);
        copy_bgrx(&src, 4, (0, 0, 1, 6), VideoFormat::RGBA, &mut l);
        l.changed.fill(false);
        copy_bgrx(&src, 4, (0, 0, 1, 6), VideoFormat::RGBA, &mut l);
        assert_eq!(l.changed, [false, false, false]);
        copy_bgrx(&src, 4, (0, 0, 1, 4), VideoFormat::BGRx, &mut l);
        assert_eq!(l.changed, [true, true], "a new size");
    }

    #[test]
    fn a_short_buffer_leaves_the_rest_of_the_picture() {
        let mut l = Latest::default();
        copy_bgrx(&[9; 8], 8, (0, 0, 2, 2), VideoFormat::BGRx, &mut l);
        assert_eq!(l.pixels, [9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn only_the_cropped_area_is_copied() {
        // A 3x3 picture, each pixel's bytes its index; the crop is its bottom-right 2x2.
        let src: Vec<u8> = (0..9u8).flat_map(|i| [i; 4]).collect();
        let mut l = Latest::default();
        copy_bgrx(&src, 12, (1, 1, 2, 2), VideoFormat::BGRx, &mut l);
        let firsts: Vec<u8> = l.pixels.chunks(4).map(|p| p[0]).collect();
        assert_eq!(firsts, [4, 5, 7, 8]);
        assert_eq!((l.width, l.height), (2, 2));
    }

    #[test]
    fn the_params_asked_for_serialize() {
        for bytes in [format_param(), buffers_param(1280, 720), crop_param()] {
            assert!(spa::pod::Pod::from_bytes(&bytes.unwrap()).is_some());
        }
    }
}
