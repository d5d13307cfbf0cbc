//! Audio: 48 kHz mono, 20 ms frames everywhere inside the engine.

pub mod analysis;
pub mod codec;
pub mod echo;
pub mod jitter;
pub mod sink;
pub mod source;
pub mod wav;

/// The engine's sample rate.
pub const RATE: u32 = 48_000;
/// Samples per 20 ms frame.
pub const FRAME: usize = 960;

/// RMS level of a frame in dBFS (−100 for silence).
pub fn level_dbfs(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return -100.0;
    }
    let sum: f64 = frame.iter().map(|&s| (s as f64) * (s as f64)).sum();
    let rms = (sum / frame.len() as f64).sqrt() / 32768.0;
    if rms <= 1e-5 {
        -100.0
    } else {
        (20.0 * rms.log10()) as f32
    }
}
