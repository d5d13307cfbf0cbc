//! Video: I420 frames, the test pattern, the screen (X11, or the portal and PipeWire), VP8 and VP9 (libvpx through a C shim).

pub mod camera;
pub mod convert;
pub mod display;
pub(crate) mod engine;
pub mod io;
pub mod pattern;
pub mod pipewire;
pub mod portal;
mod receive;
pub mod rtp;
pub mod screen;
mod shared;
pub mod vp9;
pub mod vpx;
pub mod y4m;

pub use engine::{screen_fps, RateControl, RembEstimate, FPS, HEIGHT, SCREEN_START_KBPS, WIDTH};
pub use io::{RgbaFrame, VideoSinkSpec, VideoSourceSpec, VideoView};

/// A picture in I420 (YUV 4:2:0): full-size luma, quarter-size chroma planes.
#[derive(Clone, Debug, PartialEq)]
pub struct I420 {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl I420 {
    pub fn new(width: usize, height: usize) -> I420 {
        let c = width.div_ceil(2) * height.div_ceil(2);
        I420 {
            width,
            height,
            y: vec![16; width * height],
            u: vec![128; c],
            v: vec![128; c],
        }
    }

    pub fn chroma_width(&self) -> usize {
        self.width.div_ceil(2)
    }
}
