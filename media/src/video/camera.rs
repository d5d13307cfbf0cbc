//! V4L2 cameras through the C shim in csrc/banter_v4l2.c: listing by name, and YUYV or
//! MJPEG capture converted to I420.

// Reads the local camera (V4L2), not the network; its frame sizes are checked
// against the format the driver reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::ffi::{c_char, c_int, CStr, CString};

use super::I420;
use crate::error::MediaError;

#[repr(C)]
struct RawCam {
    _p: [u8; 0],
}

extern "C" {
    fn bv4l_card(path: *const c_char, name: *mut c_char, cap: c_int) -> c_int;
    fn bv4l_open(
        path: *const c_char,
        w: *mut c_int,
        h: *mut c_int,
        fps: *mut c_int,
        fourcc: *mut u32,
        stride: *mut c_int,
        err: *mut c_int,
    ) -> *mut RawCam;
    fn bv4l_next(d: *mut RawCam, timeout_ms: c_int, data: *mut *const u8) -> c_int;
    fn bv4l_close(d: *mut RawCam);
}

const YUYV: u32 = u32::from_le_bytes(*b"YUYV");
const MJPG: u32 = u32::from_le_bytes(*b"MJPG");

/// A capture device: its node and the name it reports (the name users pick by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    pub path: String,
    pub name: String,
}

/// The video capture devices (`/dev/video*` nodes that stream pictures; UVC cameras
/// also have metadata-only nodes, which are left out).
pub fn list() -> Vec<CameraInfo> {
    let mut nodes: Vec<String> = std::fs::read_dir("/dev")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("video"))
                .map(|n| format!("/dev/{n}"))
                .collect()
        })
        .unwrap_or_default();
    nodes.sort_by_key(|n| n[10..].parse::<u32>().unwrap_or(u32::MAX));
    nodes
        .into_iter()
        .filter_map(|path| {
            let c = CString::new(path.clone()).ok()?;
            let mut name = [0 as c_char; 64];
            // SAFETY: c is a valid C string; name has the capacity passed.
            let r = unsafe { bv4l_card(c.as_ptr(), name.as_mut_ptr(), name.len() as c_int) };
            if r != 0 {
                return None;
            }
            // SAFETY: the shim NUL-terminates within the buffer.
            let name = unsafe { CStr::from_ptr(name.as_ptr()) }
                .to_string_lossy()
                .into_owned();
            Some(CameraInfo { path, name })
        })
        .collect()
}

pub struct Camera {
    raw: *mut RawCam,
    pub name: String,
    /// Pictures a second the driver agreed to.
    pub fps: u32,
    /// Bytes per YUYV line (drivers may pad lines beyond width x 2).
    stride: usize,
    /// YUYV, or MJPG for cameras that offer no YUYV at this size.
    fourcc: u32,
    mjpeg: Mjpeg,
    frame: I420,
}

// The capture handle is used by one thread at a time (the video engine's).
unsafe impl Send for Camera {}

impl Camera {
    /// Opens the first camera whose name contains `name` (or the first camera) at about
    /// `width`x`height`, `fps`.
    pub fn open(
        name: Option<&str>,
        width: usize,
        height: usize,
        fps: u32,
    ) -> Result<Camera, MediaError> {
        let cams = list();
        let info = match name {
            Some(n) => cams
                .iter()
                .find(|c| c.name.contains(n) || c.path == n)
                .ok_or_else(|| {
                    let names: Vec<&str> = cams.iter().map(|c| c.name.as_str()).collect();
                    MediaError::NoCamera(format!(
                        " named '{n}' (cameras: {})",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ))
                })?,
            None => cams
                .first()
                .ok_or_else(|| MediaError::NoCamera(String::new()))?,
        };
        let path = CString::new(info.path.clone())
            .map_err(|_| MediaError::Camera("bad device path".into()))?;
        let (mut w, mut h, mut rate, mut fourcc) =
            (width as c_int, height as c_int, fps as c_int, 0u32);
        let (mut stride, mut err) = (0 as c_int, 0 as c_int);
        // SAFETY: valid C string and out-pointers to locals.
        let raw = unsafe {
            bv4l_open(
                path.as_ptr(),
                &mut w,
                &mut h,
                &mut rate,
                &mut fourcc,
                &mut stride,
                &mut err,
            )
        };
        if raw.is_null() {
            return Err(open_error(&info.name, err));
        }
        let cam = Camera {
            raw,
            name: info.name.clone(),
            fps: rate.max(1) as u32,
            stride: (stride.max(0) as usize).max(w.max(0) as usize * 2),
            fourcc,
            mjpeg: Mjpeg::default(),
            frame: I420::new(w.max(0) as usize, h.max(0) as usize),
        };
        if fourcc != YUYV && fourcc != MJPG {
            return Err(MediaError::Camera(format!(
                "{} offers neither YUYV nor MJPEG pictures (only {}), which Banter cannot read",
                info.name,
                String::from_utf8_lossy(&fourcc.to_le_bytes())
            )));
        }
        tracing::info!(camera = %cam.name, width = w, height = h, fps = cam.fps, "camera open");
        Ok(cam)
    }

    /// The picture size the driver chose.
    pub fn size(&self) -> (usize, usize) {
        (self.frame.width, self.frame.height)
    }

    /// The next picture, waiting up to `timeout_ms`; `Ok(None)` on timeout.
    pub fn next(&mut self, timeout_ms: u32) -> Result<Option<&I420>, MediaError> {
        let mut data: *const u8 = std::ptr::null();
        // SAFETY: raw is open; data is written by the shim.
        let n = unsafe { bv4l_next(self.raw, timeout_ms as c_int, &mut data) };
        if n < 0 {
            return Err(MediaError::Camera(format!(
                "{} stopped delivering pictures (unplugged?)",
                self.name
            )));
        }
        if n == 0 {
            return Ok(None);
        }
        // SAFETY: the shim returned a mapped buffer of n bytes, valid until the next call.
        let bytes = unsafe { std::slice::from_raw_parts(data, n as usize) };
        if self.fourcc == MJPG {
            // A damaged picture (USB hiccup) is skipped, not an error.
            return Ok(self
                .mjpeg
                .to_i420(bytes, &mut self.frame)
                .then_some(&self.frame));
        }
        let (w, h) = (self.frame.width, self.frame.height);
        if bytes.len() < self.stride * (h.max(1) - 1) + w * 2 {
            return Ok(None);
        }
        yuyv_to_i420(bytes, self.stride, &mut self.frame);
        Ok(Some(&self.frame))
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        // SAFETY: raw came from bv4l_open and is closed once.
        unsafe { bv4l_close(self.raw) };
    }
}

/// MJPEG pictures (what many cameras send above 640x480, and some at every size) to
/// I420, with buffers kept from one picture to the next.
#[derive(Default)]
pub struct Mjpeg {
    with_tables: Vec<u8>,
    ycc: Vec<u8>,
}

/// An APP0 "AVI1" segment: it tells the decoder to use the standard Huffman tables
/// (JPEG Annex K.3), which MJPEG cameras leave out of their pictures.
const AVI1_APP0: [u8; 18] = [
    0xff, 0xe0, 0x00, 0x10, b'A', b'V', b'I', b'1', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

impl Mjpeg {
    /// Decodes one picture of `f`'s size into `f`; false if it is damaged or of
    /// another size.
    pub fn to_i420(&mut self, jpeg: &[u8], f: &mut I420) -> bool {
        use zune_jpeg::zune_core::bytestream::ZCursor;
        use zune_jpeg::zune_core::colorspace::ColorSpace;
        use zune_jpeg::zune_core::options::DecoderOptions;
        // A picture cut short (a USB hiccup) lacks its end marker; some cameras pad
        // after it with zeros. The decoder would show the missing part grey.
        let end = jpeg.iter().rposition(|&b| b != 0).unwrap_or(0);
        if jpeg.len() < 4 || !jpeg[..=end].ends_with(&[0xff, 0xd9]) {
            return false;
        }
        let data = if !has_huffman_tables(jpeg) {
            self.with_tables.clear();
            self.with_tables.extend_from_slice(&jpeg[..2]);
            self.with_tables.extend_from_slice(&AVI1_APP0);
            self.with_tables.extend_from_slice(&jpeg[2..]);
            &self.with_tables[..]
        } else {
            jpeg
        };
        let options = DecoderOptions::default()
            .jpeg_set_out_colorspace(ColorSpace::YCbCr)
            .set_max_width(4096)
            .set_max_height(4096);
        let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), options);
        if dec.decode_headers().is_err() {
            return false;
        }
        let (Some(info), Some(size)) = (dec.info(), dec.output_buffer_size()) else {
            return false;
        };
        let (w, h) = (f.width, f.height);
        if (info.width as usize, info.height as usize) != (w, h) || size != w * h * 3 {
            return false;
        }
        self.ycc.resize(size, 0);
        if dec.decode_into(&mut self.ycc).is_err() {
            return false;
        }
        ycc444_to_i420(&self.ycc, f);
        true
    }
}

/// Whether a JPEG defines its Huffman tables (a DHT segment before the scan).
fn has_huffman_tables(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xff {
        match jpeg[i + 1] {
            0xc4 => return true,
            0xda => return false,
            0xff => i += 1, // fill byte
            _ => i += 2 + u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize,
        }
    }
    false
}

/// Interleaved Y Cb Cr, full resolution, to I420: chroma averaged over 2x2 blocks.
fn ycc444_to_i420(src: &[u8], f: &mut I420) {
    let (w, h) = (f.width, f.height);
    let cw = f.chroma_width();
    for (px, ycc) in f.y.iter_mut().zip(src.chunks_exact(3)) {
        *px = ycc[0];
    }
    for cy in 0..h.div_ceil(2) {
        let (r0, r1) = (cy * 2, (cy * 2 + 1).min(h - 1));
        for cx in 0..cw {
            let (x0, x1) = (cx * 2, (cx * 2 + 1).min(w - 1));
            let at = |r: usize, x: usize, k: usize| src[(r * w + x) * 3 + k] as u16;
            let avg =
                |k| ((at(r0, x0, k) + at(r0, x1, k) + at(r1, x0, k) + at(r1, x1, k) + 2) / 4) as u8;
            f.u[cy * cw + cx] = avg(1);
            f.v[cy * cw + cx] = avg(2);
        }
    }
}

/// Why a camera did not open, from the errno of the step that failed.
fn open_error(name: &str, errno: c_int) -> MediaError {
    MediaError::Camera(match errno {
        libc_errno::EBUSY => format!("{name} is in use by another program"),
        libc_errno::EACCES | libc_errno::EPERM => format!(
            "{name} may not be opened by this user (permission denied; \
             is the user in the 'video' group?)"
        ),
        libc_errno::ENOENT | libc_errno::ENODEV | libc_errno::ENXIO => {
            format!("{name} has gone (unplugged?)")
        }
        e => format!(
            "{name} could not be opened: {}",
            std::io::Error::from_raw_os_error(e)
        ),
    })
}

/// The errno values `open_error` tells apart (Linux numbering).
mod libc_errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const ENXIO: i32 = 6;
    pub const EACCES: i32 = 13;
    pub const EBUSY: i32 = 16;
    pub const ENODEV: i32 = 19;
}

/// Packed 4:2:2 (Y0 U Y1 V, `stride` bytes a line) to planar 4:2:0: chroma averaged
/// over each pair of rows.
pub fn yuyv_to_i420(src: &[u8], stride: usize, f: &mut I420) {
    let (w, h) = (f.width, f.height);
    let cw = f.chroma_width();
    for row in 0..h {
        let line = &src[row * stride..row * stride + w * 2];
        for (x, px) in f.y[row * w..(row + 1) * w].iter_mut().enumerate() {
            *px = line[x * 2];
        }
        if row % 2 == 1 || row + 1 == h {
            let prev = &src[(row - row % 2) * stride..];
            let c = row / 2;
            for x in 0..w / 2 {
                let i = x * 4;
                f.u[c * cw + x] = ((prev[i + 1] as u16 + line[i + 1] as u16) / 2) as u8;
                f.v[c * cw + x] = ((prev[i + 3] as u16 + line[i + 3] as u16) / 2) as u8;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_converts_to_i420() {
        // 4x2: luma 10..17, chroma U 100/110 and V 200/210 in the two rows.
        let src = [
            10, 100, 11, 200, 12, 100, 13, 200, //
            14, 110, 15, 210, 16, 110, 17, 210,
        ];
        let mut f = I420::new(4, 2);
        yuyv_to_i420(&src, 8, &mut f);
        assert_eq!(f.y, [10, 11, 12, 13, 14, 15, 16, 17]);
        assert_eq!(f.u, [105, 105]);
        assert_eq!(f.v, [205, 205]);
    }

    #[test]
    fn padded_lines_are_skipped() {
        // 2x2 with 4 bytes of padding after each line.
        let src = [
            10, 100, 11, 200, 9, 9, 9, 9, //
            12, 110, 13, 210, 9, 9, 9, 9,
        ];
        let mut f = I420::new(2, 2);
        yuyv_to_i420(&src, 8, &mut f);
        assert_eq!(f.y, [10, 11, 12, 13]);
        assert_eq!((f.u[0], f.v[0]), (105, 205));
    }

    #[test]
    fn open_errors_say_what_to_do() {
        assert_eq!(
            open_error("C920", 16).to_string(),
            "camera: C920 is in use by another program"
        );
        assert!(open_error("C920", 13).to_string().contains("'video' group"));
        assert!(open_error("C920", 19).to_string().contains("unplugged"));
    }

    /// A 4:2:2 MJPEG picture as cameras send it (no Huffman tables), and the same with
    /// its tables: both decode to the colours that were encoded.
    #[test]
    fn mjpeg_pictures_decode_with_and_without_their_tables() {
        // Eight vertical bars of known Y, Cb, Cr.
        let bars: [(u8, u8, u8); 8] = [
            (180, 128, 128),
            (162, 44, 142),
            (131, 156, 44),
            (112, 72, 58),
            (84, 184, 198),
            (65, 100, 212),
            (35, 212, 114),
            (16, 128, 128),
        ];
        let (w, h) = (640usize, 480usize);
        let mut ycc = Vec::with_capacity(w * h * 3);
        for _ in 0..h {
            for x in 0..w {
                let (y, cb, cr) = bars[x * 8 / w];
                ycc.extend_from_slice(&[y, cb, cr]);
            }
        }
        let mut jpeg = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 90);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_2);
        enc.encode(&ycc, w as u16, h as u16, jpeg_encoder::ColorType::Ycbcr)
            .unwrap();
        assert!(has_huffman_tables(&jpeg));
        let stripped = strip_huffman_tables(&jpeg);
        assert!(!has_huffman_tables(&stripped));
        for (what, data) in [("with tables", &jpeg), ("without tables", &stripped)] {
            let mut f = I420::new(w, h);
            assert!(Mjpeg::default().to_i420(data, &mut f), "{what}");
            for (i, &(y, u, v)) in bars.iter().enumerate() {
                let x = i * w / 8 + w / 16;
                let got = (
                    f.y[300 * w + x],
                    f.u[150 * w / 2 + x / 2],
                    f.v[150 * w / 2 + x / 2],
                );
                let near = |a: u8, b: u8| (a as i16 - b as i16).abs() <= 4;
                assert!(
                    near(got.0, y) && near(got.1, u) && near(got.2, v),
                    "{what}, bar {i}: {got:?} for {:?}",
                    (y, u, v)
                );
            }
        }
        // Damaged, or another size: skipped.
        let mut f = I420::new(w, h);
        assert!(!Mjpeg::default().to_i420(&jpeg[..jpeg.len() / 3], &mut f));
        let mut small = I420::new(320, 240);
        assert!(!Mjpeg::default().to_i420(&jpeg, &mut small));
    }

    /// The JPEG without its DHT segments, as UVC cameras send MJPEG.
    fn strip_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        let mut i = 2;
        while jpeg[i] == 0xff && jpeg[i + 1] != 0xda {
            let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
            if jpeg[i + 1] != 0xc4 {
                out.extend_from_slice(&jpeg[i..i + 2 + len]);
            }
            i += 2 + len;
        }
        out.extend_from_slice(&jpeg[i..]);
        out
    }

    /// This machine has no camera: asking for one is an error that says so.
    #[test]
    fn missing_camera_is_a_clear_error() {
        if !list().is_empty() {
            return; // a machine with a camera: nothing to check here
        }
        let e = Camera::open(None, 640, 480, 30).err().unwrap();
        assert_eq!(e.to_string(), "no camera found");
        let e = Camera::open(Some("Logitech"), 640, 480, 30).err().unwrap();
        assert!(e.to_string().contains("Logitech"), "{e}");
    }
}
