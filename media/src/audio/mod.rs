//! Audio: 48 kHz mono, 20 ms frames everywhere inside the engine.

pub mod analysis;
pub mod codec;
pub mod echo;
pub mod engine;
pub mod jitter;
pub mod red;
pub mod ring;
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

/// Names of the audio devices cpal sees: (inputs, outputs). Empty lists on a machine
/// without sound hardware or server.
pub fn list_devices() -> (Vec<String>, Vec<String>) {
    use cpal::traits::HostTrait;
    let host = cpal::default_host();
    let names = |d: Result<Vec<cpal::Device>, String>| -> Vec<String> {
        d.map(|v| v.iter().map(|d| d.to_string()).collect())
            .unwrap_or_default()
    };
    let inputs = names(
        host.input_devices()
            .map(|d| d.collect())
            .map_err(|e| e.to_string()),
    );
    let outputs = names(
        host.output_devices()
            .map(|d| d.collect())
            .map_err(|e| e.to_string()),
    );
    (inputs, outputs)
}
