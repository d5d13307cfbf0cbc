//! Where sent audio comes from: a microphone (cpal), a WAV file, a tone, or silence.
//! Every source hands out 20 ms frames of 48 kHz mono when the engine's clock asks.

// Local sources (microphone, WAV file, tone); not network input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::HeapRb;

use super::{FRAME, RATE};
use crate::error::MediaError;

/// What `--audio-in` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// The default microphone, or the one whose name contains the string.
    Mic(Option<String>),
    Wav(PathBuf),
    Tone(f32),
    Silence,
    /// What is received, sent back after this many milliseconds (an echo test
    /// service: Banter's "Try it locally" contact, or `--audio-in echo:1000`).
    Echo(u32),
}

impl SourceSpec {
    pub fn parse(s: &str) -> Result<Self, MediaError> {
        let bad = || MediaError::BadSpec(s.to_string());
        Ok(match s {
            "mic" => SourceSpec::Mic(None),
            "silence" => SourceSpec::Silence,
            _ if s.starts_with("mic:") => SourceSpec::Mic(Some(s[4..].to_string())),
            _ if s.starts_with("echo:") => {
                let ms: u32 = s[5..].parse().map_err(|_| bad())?;
                if !(20..=10_000).contains(&ms) {
                    return Err(bad());
                }
                SourceSpec::Echo(ms)
            }
            _ if s.starts_with("tone:") => {
                let hz: f32 = s[5..].parse().map_err(|_| bad())?;
                if !(1.0..=20_000.0).contains(&hz) {
                    return Err(bad());
                }
                SourceSpec::Tone(hz)
            }
            _ if s.to_ascii_lowercase().ends_with(".wav") => SourceSpec::Wav(PathBuf::from(s)),
            _ => return Err(bad()),
        })
    }

    /// Opens the source. Device sources hold a cpal stream, which must stay on the
    /// thread that created it; open it on the engine thread.
    pub fn open(&self) -> Result<Box<dyn Source>, MediaError> {
        Ok(match self {
            SourceSpec::Tone(hz) => Box::new(Tone::new(*hz, 0.3)),
            // The engine feeds an echo from what it plays.
            SourceSpec::Silence | SourceSpec::Echo(_) => Box::new(Silence),
            SourceSpec::Wav(path) => Box::new(WavLoop::new(super::wav::read_48k_mono(path)?)),
            SourceSpec::Mic(name) => Box::new(DeviceSource::open(name.as_deref())?),
        })
    }
}

/// A source of 20 ms frames.
pub trait Source {
    /// Fills `frame` (960 samples). An error means the device is gone; the engine
    /// reports it once and goes on with silence.
    fn read(&mut self, frame: &mut [i16]) -> Result<(), MediaError>;
}

pub struct Silence;

impl Source for Silence {
    fn read(&mut self, frame: &mut [i16]) -> Result<(), MediaError> {
        frame.fill(0);
        Ok(())
    }
}

/// A sine tone, continuous across frames.
pub struct Tone {
    step: f64,
    phase: f64,
    amplitude: f64,
}

impl Tone {
    pub fn new(hz: f32, amplitude: f32) -> Self {
        Tone {
            step: std::f64::consts::TAU * hz as f64 / RATE as f64,
            phase: 0.0,
            amplitude: amplitude as f64 * 32767.0,
        }
    }
}

impl Source for Tone {
    fn read(&mut self, frame: &mut [i16]) -> Result<(), MediaError> {
        for s in frame.iter_mut() {
            *s = (self.phase.sin() * self.amplitude) as i16;
            self.phase = (self.phase + self.step) % std::f64::consts::TAU;
        }
        Ok(())
    }
}

/// A decoded WAV file, played in a loop.
pub struct WavLoop {
    pcm: Vec<i16>,
    pos: usize,
}

impl WavLoop {
    pub fn new(pcm: Vec<i16>) -> Self {
        WavLoop { pcm, pos: 0 }
    }
}

impl Source for WavLoop {
    fn read(&mut self, frame: &mut [i16]) -> Result<(), MediaError> {
        if self.pcm.is_empty() {
            frame.fill(0);
            return Ok(());
        }
        for s in frame.iter_mut() {
            *s = self.pcm[self.pos];
            self.pos = (self.pos + 1) % self.pcm.len();
        }
        Ok(())
    }
}

/// Shared between a device callback and the engine: set when the device fails.
#[derive(Default)]
pub(crate) struct DeviceFault {
    failed: AtomicBool,
    message: Mutex<Option<String>>,
}

impl DeviceFault {
    /// Called from cpal's error callback (not the data callback). Only errors that
    /// end the stream count (device gone, host gone, stream invalid); xruns and
    /// transient backend errors are logged and the stream goes on.
    pub(crate) fn report(&self, e: cpal::Error) {
        use cpal::ErrorKind as K;
        match e.kind() {
            K::DeviceNotAvailable
            | K::HostUnavailable
            | K::StreamInvalidated
            | K::PermissionDenied => self.set(e.to_string()),
            _ => tracing::debug!(error = %e, "transient audio device error"),
        }
    }

    pub(crate) fn set(&self, msg: String) {
        if let Ok(mut m) = self.message.lock() {
            m.get_or_insert(msg);
        }
        self.failed.store(true, Ordering::Release);
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        if self.failed.load(Ordering::Acquire) {
            let msg = self
                .message
                .lock()
                .ok()
                .and_then(|m| m.clone())
                .unwrap_or_else(|| "device failed".into());
            return Err(msg);
        }
        Ok(())
    }
}

/// Finds a device whose name contains `name` (case-insensitive), or the default.
pub(crate) fn pick_device(
    devices: impl Iterator<Item = cpal::Device>,
    default: Option<cpal::Device>,
    name: Option<&str>,
) -> Option<cpal::Device> {
    match name {
        None => default,
        Some(n) => {
            let n = n.to_lowercase();
            devices
                .into_iter()
                .find(|d| d.to_string().to_lowercase().contains(&n))
        }
    }
}

/// A microphone through cpal. The data callback only converts and pushes samples into
/// a lock-free ring; no allocation, lock or logging happens there.
pub struct DeviceSource {
    _stream: cpal::Stream,
    ring: ringbuf::HeapCons<i16>,
    fault: Arc<DeviceFault>,
}

impl DeviceSource {
    pub fn open(name: Option<&str>) -> Result<Self, MediaError> {
        let host = cpal::default_host();
        let which = || name.map(|n| format!(" matching '{n}'")).unwrap_or_default();
        let devices = host
            .input_devices()
            .map_err(|e| MediaError::Device(e.to_string()))?;
        let device = pick_device(devices, host.default_input_device(), name)
            .ok_or_else(|| MediaError::NoInputDevice(which()))?;
        let default = device
            .default_input_config()
            .map_err(|e| MediaError::NoInputDevice(format!(" ({e})")))?;
        let channels = default.channels().max(1);
        let config = cpal::StreamConfig {
            channels,
            sample_rate: RATE,
            buffer_size: cpal::BufferSize::Default,
        };
        let (mut prod, cons) = HeapRb::<i16>::new(RATE as usize).split();
        let fault = Arc::new(DeviceFault::default());
        let fault_cb = fault.clone();
        let ch = channels as usize;
        let stream = device
            .build_input_stream(
                config,
                move |data: &[f32], _| {
                    for frame in data.chunks(ch) {
                        let mut sum = 0.0f32;
                        for &s in frame {
                            sum += s;
                        }
                        let v = (sum / ch as f32 * 32767.0).clamp(-32768.0, 32767.0) as i16;
                        let _ = prod.try_push(v);
                    }
                },
                move |e| fault_cb.report(e),
                None,
            )
            .map_err(|e| MediaError::Device(format!("cannot open microphone: {e}")))?;
        stream
            .play()
            .map_err(|e| MediaError::Device(format!("cannot start microphone: {e}")))?;
        Ok(DeviceSource {
            _stream: stream,
            ring: cons,
            fault,
        })
    }
}

impl Source for DeviceSource {
    fn read(&mut self, frame: &mut [i16]) -> Result<(), MediaError> {
        self.fault.check().map_err(MediaError::Device)?;
        // Keep the capture latency bounded: drop what piled up beyond three frames
        // (the device clock running ahead of ours).
        let excess = self.ring.occupied_len().saturating_sub(3 * FRAME);
        if excess > 0 {
            self.ring.skip(excess);
        }
        let n = self.ring.pop_slice(frame);
        frame[n..].fill(0);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(
            SourceSpec::parse("tone:440").unwrap(),
            SourceSpec::Tone(440.0)
        );
        assert_eq!(SourceSpec::parse("mic").unwrap(), SourceSpec::Mic(None));
        assert_eq!(
            SourceSpec::parse("mic:USB").unwrap(),
            SourceSpec::Mic(Some("USB".into()))
        );
        assert_eq!(
            SourceSpec::parse("a/b.WAV").unwrap(),
            SourceSpec::Wav("a/b.WAV".into())
        );
        assert!(SourceSpec::parse("tone:x").is_err());
        assert_eq!(
            SourceSpec::parse("echo:1000").unwrap(),
            SourceSpec::Echo(1000)
        );
        assert!(SourceSpec::parse("echo:5").is_err());
        assert!(SourceSpec::parse("bogus").is_err());
    }

    #[test]
    fn tone_is_continuous() {
        let mut t = Tone::new(440.0, 0.5);
        let mut a = vec![0i16; FRAME * 50];
        for f in a.chunks_mut(FRAME) {
            t.read(f).unwrap();
        }
        let f = crate::audio::analysis::dominant_frequency(&a, RATE);
        assert!((f - 440.0).abs() < 1.0);
        assert!(crate::audio::analysis::longest_gap_ms(&a, RATE, 100) < 2.0);
    }
}
