//! VP8 and VP9 encoders and decoders: libvpx (Debian libvpx-dev) through
//! csrc/banter_vpx.c, which keeps every libvpx struct on the C side. Real-time settings:
//! one pass, CBR, no look-ahead, keyframes only on request (a peer's PLI/FIR) or on
//! start. VP8 is what every peer takes; VP9 carries a shared screen where the peer
//! offers it (sharper text for the same bits).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::os::raw::c_int;

use super::I420;
use crate::error::MediaError;

#[repr(C)]
struct RawEnc {
    _private: [u8; 0],
}
#[repr(C)]
struct RawDec {
    _private: [u8; 0],
}

extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn bvpx_enc_new(
        vp9: c_int,
        w: c_int,
        h: c_int,
        fps: c_int,
        kbps: c_int,
        threads: c_int,
        cpu_used: c_int,
        screen: c_int,
    ) -> *mut RawEnc;
    fn bvpx_enc_set_bitrate(e: *mut RawEnc, kbps: c_int) -> c_int;
    #[allow(clippy::too_many_arguments)]
    fn bvpx_enc_encode(
        e: *mut RawEnc,
        y: *const u8,
        ys: c_int,
        u: *const u8,
        us: c_int,
        v: *const u8,
        vs: c_int,
        pts: i64,
        force_key: c_int,
        out: *mut u8,
        cap: c_int,
        is_key: *mut c_int,
    ) -> c_int;
    fn bvpx_enc_free(e: *mut RawEnc);
    fn bvpx_dec_new(vp9: c_int, threads: c_int) -> *mut RawDec;
    #[allow(clippy::too_many_arguments)]
    fn bvpx_dec_decode(
        d: *mut RawDec,
        data: *const u8,
        len: c_int,
        y: *mut *const u8,
        u: *mut *const u8,
        v: *mut *const u8,
        ys: *mut c_int,
        us: *mut c_int,
        vs: *mut c_int,
        w: *mut c_int,
        h: *mut c_int,
    ) -> c_int;
    fn bvpx_dec_free(d: *mut RawDec);
}

/// The video codecs Banter speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Vp8,
    Vp9,
}

impl Codec {
    /// For an atomic: 0 is "none yet".
    pub fn to_u8(self) -> u8 {
        match self {
            Codec::Vp8 => 1,
            Codec::Vp9 => 2,
        }
    }

    pub fn from_u8(v: u8) -> Option<Codec> {
        match v {
            1 => Some(Codec::Vp8),
            2 => Some(Codec::Vp9),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::Vp8 => "VP8",
            Codec::Vp9 => "VP9",
        }
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the encoder is tuned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// A camera or the pattern: motion, 30 fps.
    Camera,
    /// A shared screen: text kept sharp, frames dropped rather than detail.
    Screen { fps: u32 },
}

/// One encoded frame.
pub struct Encoded<'a> {
    pub data: &'a [u8],
    pub keyframe: bool,
}

pub struct Encoder {
    raw: *mut RawEnc,
    codec: Codec,
    content: Content,
    width: usize,
    height: usize,
    out: Vec<u8>,
}

// The libvpx context is used from one thread at a time (the video engine's).
unsafe impl Send for Encoder {}

impl Encoder {
    /// `cpu_used` -6 is libwebrtc's real-time speed for VP8 on small machines; one
    /// thread, as libwebrtc uses up to 640x480 (see the decoder on spinning workers).
    /// A screen is encoded faster (-10): at full HD the encoder is three quarters of
    /// the sharing side's CPU, and text keeps its sharpness (BENCHMARKS.md).
    /// VP9 is encoded at speed 9 (libvpx's fastest real-time speed, libwebrtc's for
    /// screens at this size) with its screen tools (BENCHMARKS.md).
    pub fn new(width: usize, height: usize, kbps: u32) -> Result<Encoder, MediaError> {
        Encoder::with_content(Codec::Vp8, width, height, kbps, Content::Camera)
    }

    pub fn with_content(
        codec: Codec,
        width: usize,
        height: usize,
        kbps: u32,
        content: Content,
    ) -> Result<Encoder, MediaError> {
        let (fps, screen) = match content {
            Content::Camera => (30, false),
            Content::Screen { fps } => (fps.max(1) as c_int, true),
        };
        let speed = match (codec, screen) {
            (Codec::Vp8, true) => -10,
            (Codec::Vp8, false) => -6,
            (Codec::Vp9, _) => 9,
        };
        // SAFETY: plain integers in; NULL on failure is checked.
        let raw = unsafe {
            bvpx_enc_new(
                (codec == Codec::Vp9) as c_int,
                width as c_int,
                height as c_int,
                fps,
                kbps as c_int,
                1,
                speed,
                screen as c_int,
            )
        };
        if raw.is_null() {
            return Err(MediaError::Codec(format!(
                "{codec} encoder for {width}x{height} could not start"
            )));
        }
        Ok(Encoder {
            raw,
            codec,
            content,
            width,
            height,
            out: vec![0; width * height * 3 / 2 + 4096],
        })
    }

    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    pub fn content(&self) -> Content {
        self.content
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    pub fn set_bitrate(&mut self, kbps: u32) {
        // SAFETY: raw is a live encoder.
        unsafe { bvpx_enc_set_bitrate(self.raw, kbps as c_int) };
    }

    /// Encodes `f` at `pts` (90 kHz); `None` when the encoder skipped the frame.
    pub fn encode(
        &mut self,
        f: &I420,
        pts: i64,
        keyframe: bool,
    ) -> Result<Option<Encoded<'_>>, MediaError> {
        if f.width != self.width || f.height != self.height {
            return Err(MediaError::Codec("frame size changed".into()));
        }
        let mut is_key: c_int = 0;
        let cw = f.chroma_width() as c_int;
        // SAFETY: the planes are as large as the sizes say; out has `cap` bytes.
        let n = unsafe {
            bvpx_enc_encode(
                self.raw,
                f.y.as_ptr(),
                f.width as c_int,
                f.u.as_ptr(),
                cw,
                f.v.as_ptr(),
                cw,
                pts,
                keyframe as c_int,
                self.out.as_mut_ptr(),
                self.out.len() as c_int,
                &mut is_key,
            )
        };
        match n {
            0 => Ok(None),
            n if n > 0 => Ok(self.out.get(..n as usize).map(|data| Encoded {
                data,
                keyframe: is_key != 0,
            })),
            _ => Err(MediaError::Codec(format!("{} encoding failed", self.codec))),
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: raw came from bvpx_enc_new and is freed once.
        unsafe { bvpx_enc_free(self.raw) };
    }
}

/// The largest picture decoded: 4K (3840x2160).
pub const MAX_PIXELS: usize = 3840 * 2160;

/// The size a keyframe declares, read before libvpx allocates it.
pub fn keyframe_size(codec: Codec, frame: &[u8]) -> Option<(usize, usize)> {
    match codec {
        Codec::Vp8 => vp8_keyframe_size(frame),
        Codec::Vp9 => super::vp9::keyframe_size(frame),
    }
}

/// The size a VP8 keyframe declares (RFC 6386 §9.1).
fn vp8_keyframe_size(frame: &[u8]) -> Option<(usize, usize)> {
    let [tag, _, _, 0x9d, 0x01, 0x2a, w0, w1, h0, h1, ..] = *frame else {
        return None;
    };
    if tag & 1 != 0 {
        return None;
    }
    let w = u16::from_le_bytes([w0, w1]) & 0x3fff;
    let h = u16::from_le_bytes([h0, h1]) & 0x3fff;
    Some((w as usize, h as usize))
}

pub struct Decoder {
    raw: *mut RawDec,
    codec: Codec,
}

unsafe impl Send for Decoder {}

impl Decoder {
    pub fn new(codec: Codec) -> Result<Decoder, MediaError> {
        // One thread: libvpx's VP8 worker threads spin while they wait for each other,
        // which on a 2-core machine with an encoder and decoder running starves them all
        // (measured: 9 fps instead of 30).
        // SAFETY: NULL on failure is checked.
        let raw = unsafe { bvpx_dec_new((codec == Codec::Vp9) as c_int, 1) };
        if raw.is_null() {
            return Err(MediaError::Codec(format!(
                "{codec} decoder could not start"
            )));
        }
        Ok(Decoder { raw, codec })
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Decodes one frame into `into` (resized as needed). `Ok(false)`: no picture yet;
    /// `Err`: the frame was corrupt (ask for a keyframe).
    pub fn decode(&mut self, data: &[u8], into: &mut I420) -> Result<bool, MediaError> {
        let declared = match self.codec {
            Codec::Vp8 => vp8_keyframe_size(data),
            Codec::Vp9 => super::vp9::largest_declared_size(data),
        };
        if let Some((w, h)) = declared {
            // A peer could declare up to 16383x16383 (VP9: 65536x65536, in any frame
            // of a superframe) and have us allocate gigabytes.
            if w.saturating_mul(h) > MAX_PIXELS {
                return Err(MediaError::Codec(format!(
                    "{} picture of {w}x{h} is larger than Banter accepts",
                    self.codec
                )));
            }
        }
        let (mut y, mut u, mut v) = (std::ptr::null(), std::ptr::null(), std::ptr::null());
        let (mut ys, mut us, mut vs, mut w, mut h) = (0, 0, 0, 0, 0);
        // SAFETY: out-pointers are valid locals; data is a live slice.
        let r = unsafe {
            bvpx_dec_decode(
                self.raw,
                data.as_ptr(),
                data.len() as c_int,
                &mut y,
                &mut u,
                &mut v,
                &mut ys,
                &mut us,
                &mut vs,
                &mut w,
                &mut h,
            )
        };
        match r {
            1 => {}
            0 => return Ok(false),
            _ => return Err(MediaError::Codec(format!("corrupt {} frame", self.codec))),
        }
        let (w, h) = (w.max(0) as usize, h.max(0) as usize);
        if w.saturating_mul(h) > MAX_PIXELS {
            return Err(MediaError::Codec(format!(
                "{} picture of {w}x{h} is larger than Banter accepts",
                self.codec
            )));
        }
        if into.width != w || into.height != h {
            *into = I420::new(w, h);
        }
        let cw = into.chroma_width();
        let copy = |dst: &mut [u8], src: *const u8, stride: c_int, width: usize, rows: usize| {
            for r in 0..rows {
                // SAFETY: libvpx's plane holds `rows` rows of `stride` bytes, valid until
                // the next decode call.
                let line =
                    unsafe { std::slice::from_raw_parts(src.add(r * stride as usize), width) };
                if let Some(d) = dst.get_mut(r * width..(r + 1) * width) {
                    d.copy_from_slice(line);
                }
            }
        };
        copy(&mut into.y, y, ys, w, h);
        copy(&mut into.u, u, us, cw, h.div_ceil(2));
        copy(&mut into.v, v, vs, cw, h.div_ceil(2));
        Ok(true)
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: raw came from bvpx_dec_new and is freed once.
        unsafe { bvpx_dec_free(self.raw) };
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::video::pattern;

    /// Two seconds of the 640x480 pattern through VP8 or VP9 and back: every frame
    /// decodes, its burned-in number reads back as sent, the first frame is a keyframe
    /// and a requested keyframe is one (seen by the RTP side's test too).
    fn pattern_survives(codec: Codec, content: Content) {
        let mut enc = Encoder::with_content(codec, 640, 480, 800, content).unwrap();
        let mut dec = Decoder::new(codec).unwrap();
        let mut frame = I420::new(640, 480);
        let mut out = I420::new(0, 0);
        let mut bytes = 0;
        for n in 0..60u32 {
            pattern::draw(n, &mut frame);
            let force = n == 45;
            let Some(e) = enc.encode(&frame, n as i64 * 3000, force).unwrap() else {
                panic!("{codec} frame {n} skipped");
            };
            let key = e.keyframe;
            assert_eq!(
                crate::video::rtp::is_keyframe(codec, e.data),
                key,
                "{codec} frame {n}"
            );
            if n == 0 || force {
                assert!(key, "{codec} frame {n} should be a keyframe");
            } else {
                assert!(!key, "{codec} frame {n} is an unrequested keyframe");
            }
            if key {
                assert_eq!(keyframe_size(codec, e.data), Some((640, 480)), "{codec}");
            }
            bytes += e.data.len();
            let data = e.data.to_vec();
            assert!(dec.decode(&data, &mut out).unwrap(), "frame {n} decoded");
            assert_eq!((out.width, out.height), (640, 480));
            assert_eq!(pattern::read(&out.y, out.width), n, "{codec}");
        }
        // Within reach of the 800 kb/s asked for (30 fps), keyframes included.
        let kbps = bytes as f64 * 8.0 / 2.0 / 1000.0;
        assert!(kbps < 1600.0, "{codec}: {kbps} kb/s");
    }

    #[test]
    fn pattern_survives_vp8_at_640x480() {
        pattern_survives(Codec::Vp8, Content::Camera);
    }

    #[test]
    fn pattern_survives_vp9_at_640x480() {
        pattern_survives(Codec::Vp9, Content::Camera);
        pattern_survives(Codec::Vp9, Content::Screen { fps: 30 });
    }

    /// A VP8 decoder fed VP9 (a peer switching codecs without our noticing) says the
    /// frame is corrupt; it does not crash or show garbage.
    #[test]
    fn the_wrong_decoder_refuses_the_frame() {
        let mut enc = Encoder::with_content(Codec::Vp9, 320, 240, 300, Content::Camera).unwrap();
        let mut pic = I420::new(320, 240);
        pattern::draw(3, &mut pic);
        let key = enc.encode(&pic, 0, true).unwrap().unwrap().data.to_vec();
        let mut out = I420::new(0, 0);
        assert!(Decoder::new(Codec::Vp8)
            .unwrap()
            .decode(&key, &mut out)
            .is_err());
        assert!(Decoder::new(Codec::Vp9)
            .unwrap()
            .decode(&key, &mut out)
            .unwrap());
    }

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        let mut dec = Decoder::new(Codec::Vp8).unwrap();
        let mut out = I420::new(0, 0);
        assert!(dec.decode(&[0xff; 100], &mut out).is_err());
        // Random frames, some dressed as keyframes: errors or pictures, never a crash.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for n in 0..500 {
            let mut f: Vec<u8> = (0..(n % 300 + 10))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            if n % 2 == 0 {
                f[0] &= !1;
                f[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
            }
            let _ = dec.decode(&f, &mut out);
            assert!(out.width * out.height <= MAX_PIXELS);
        }
    }

    /// A keyframe that declares 16000x16000 is refused before anything is allocated;
    /// a real keyframe's size is read right.
    #[test]
    fn huge_declared_pictures_are_refused() {
        let mut f = vec![0u8; 64];
        f[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        f[6..8].copy_from_slice(&16_000u16.to_le_bytes());
        f[8..10].copy_from_slice(&16_000u16.to_le_bytes());
        let mut dec = Decoder::new(Codec::Vp8).unwrap();
        let mut out = I420::new(0, 0);
        let e = dec.decode(&f, &mut out).unwrap_err();
        assert!(e.to_string().contains("16000x16000"), "{e}");
        assert_eq!(out.width, 0);

        let mut enc = Encoder::new(640, 480, 500).unwrap();
        let mut pic = I420::new(640, 480);
        pattern::draw(1, &mut pic);
        let key = enc.encode(&pic, 0, true).unwrap().unwrap();
        assert_eq!(keyframe_size(Codec::Vp8, key.data), Some((640, 480)));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod screen_tests {
    use super::*;

    /// Full HD screen content through the screen profile on a thread with the video
    /// engine's stack (2 MiB): it encodes and decodes back at full size.
    #[test]
    fn a_screen_picture_encodes_on_the_engines_stack() {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                for codec in [Codec::Vp8, Codec::Vp9] {
                    let (w, h) = (1920, 1080);
                    let mut f = I420::new(w, h);
                    for (i, p) in f.y.iter_mut().enumerate() {
                        *p = if (i / 3 + i / w) % 7 == 0 { 16 } else { 235 };
                    }
                    let mut enc =
                        Encoder::with_content(codec, w, h, 1200, Content::Screen { fps: 12 })
                            .unwrap();
                    let mut dec = Decoder::new(codec).unwrap();
                    let mut out = I420::new(0, 0);
                    let mut keys = Vec::new();
                    for n in 0..4 {
                        // The first picture, and one asked for (a peer's PLI).
                        if let Some(e) = enc.encode(&f, n * 7500, n == 0 || n == 3).unwrap() {
                            keys.push((n, e.keyframe));
                            let data = e.data.to_vec();
                            dec.decode(&data, &mut out).unwrap();
                        }
                    }
                    assert_eq!((out.width, out.height), (w, h));
                    assert_eq!(keys.first(), Some(&(0, true)), "{keys:?}");
                    assert_eq!(
                        keys.last(),
                        Some(&(3, true)),
                        "{codec}: a keyframe on request: {keys:?}"
                    );
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
