//! Echo cancellation, noise suppression and gain control on the capture path, with the
//! playout as reference: speexdsp's MDF echo canceller followed by its preprocessor
//! (which also removes the residual echo). Debian's libspeexdsp builds offline, unlike
//! webrtc-audio-processing 2.x (see ARCHITECTURE.md).

use std::os::raw::{c_int, c_void};

use super::{FRAME, RATE};
use crate::error::MediaError;

#[repr(C)]
struct SpeexEchoState {
    _p: [u8; 0],
}
#[repr(C)]
struct SpeexPreprocessState {
    _p: [u8; 0],
}

extern "C" {
    fn speex_echo_state_init(frame_size: c_int, filter_length: c_int) -> *mut SpeexEchoState;
    fn speex_echo_state_destroy(st: *mut SpeexEchoState);
    fn speex_echo_cancellation(
        st: *mut SpeexEchoState,
        rec: *const i16,
        play: *const i16,
        out: *mut i16,
    );
    fn speex_echo_ctl(st: *mut SpeexEchoState, request: c_int, ptr: *mut c_void) -> c_int;
    fn speex_preprocess_state_init(frame_size: c_int, rate: c_int) -> *mut SpeexPreprocessState;
    fn speex_preprocess_state_destroy(st: *mut SpeexPreprocessState);
    fn speex_preprocess_run(st: *mut SpeexPreprocessState, x: *mut i16) -> c_int;
    fn speex_preprocess_ctl(
        st: *mut SpeexPreprocessState,
        request: c_int,
        ptr: *mut c_void,
    ) -> c_int;
}

const ECHO_SET_SAMPLING_RATE: c_int = 24;
const PP_SET_DENOISE: c_int = 0;
const PP_SET_AGC: c_int = 2;
const PP_SET_NOISE_SUPPRESS: c_int = 18;
const PP_SET_ECHO_SUPPRESS: c_int = 20;
const PP_SET_ECHO_SUPPRESS_ACTIVE: c_int = 22;
const PP_SET_ECHO_STATE: c_int = 24;
const PP_SET_AGC_TARGET: c_int = 46;

/// Echo tail the canceller models: room reverb plus device and OS buffering.
pub const TAIL_MS: u32 = 250;

/// Which parts of the capture processing run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Processing {
    pub echo_cancel: bool,
    pub noise_suppress: bool,
    pub gain_control: bool,
}

impl Default for Processing {
    fn default() -> Self {
        Processing {
            echo_cancel: true,
            noise_suppress: true,
            gain_control: true,
        }
    }
}

impl Processing {
    pub fn off() -> Self {
        Processing {
            echo_cancel: false,
            noise_suppress: false,
            gain_control: false,
        }
    }
}

pub struct CapturePipeline {
    echo: *mut SpeexEchoState,
    pre: *mut SpeexPreprocessState,
    settings: Processing,
    scratch: [i16; FRAME],
}

// The speex states are plain heap objects owned by this value and used from one thread
// at a time.
unsafe impl Send for CapturePipeline {}

impl CapturePipeline {
    pub fn new(settings: Processing) -> Result<Self, MediaError> {
        let tail = (RATE * TAIL_MS / 1000) as c_int;
        // SAFETY: plain constructors; null is checked below.
        let echo = unsafe { speex_echo_state_init(FRAME as c_int, tail) };
        let pre = unsafe { speex_preprocess_state_init(FRAME as c_int, RATE as c_int) };
        if echo.is_null() || pre.is_null() {
            return Err(MediaError::Echo("cannot create speexdsp state".into()));
        }
        let mut p = CapturePipeline {
            echo,
            pre,
            settings,
            scratch: [0; FRAME],
        };
        let mut rate = RATE as c_int;
        // SAFETY: valid states and pointers to live ints, as the speexdsp API expects.
        unsafe {
            speex_echo_ctl(
                echo,
                ECHO_SET_SAMPLING_RATE,
                &mut rate as *mut _ as *mut c_void,
            );
            speex_preprocess_ctl(pre, PP_SET_ECHO_STATE, echo as *mut c_void);
        }
        p.set(settings);
        Ok(p)
    }

    fn ctl(&mut self, request: c_int, mut value: c_int) {
        // SAFETY: valid state, pointer to a live int.
        unsafe {
            speex_preprocess_ctl(self.pre, request, &mut value as *mut _ as *mut c_void);
        }
    }

    /// Switches parts on or off (live, between frames).
    pub fn set(&mut self, settings: Processing) {
        self.settings = settings;
        self.ctl(PP_SET_DENOISE, settings.noise_suppress as c_int);
        self.ctl(PP_SET_NOISE_SUPPRESS, -25);
        self.ctl(PP_SET_AGC, settings.gain_control as c_int);
        self.ctl(PP_SET_AGC_TARGET, 12_000);
        self.ctl(PP_SET_ECHO_SUPPRESS, -40);
        self.ctl(PP_SET_ECHO_SUPPRESS_ACTIVE, -15);
        if !settings.echo_cancel {
            // SAFETY: detaching the echo state is allowed with a null pointer.
            unsafe {
                speex_preprocess_ctl(self.pre, PP_SET_ECHO_STATE, std::ptr::null_mut());
            }
        } else {
            // SAFETY: valid states.
            unsafe {
                speex_preprocess_ctl(self.pre, PP_SET_ECHO_STATE, self.echo as *mut c_void);
            }
        }
    }

    pub fn settings(&self) -> Processing {
        self.settings
    }

    /// Processes one captured frame in place; `played` is the frame sent to the speaker
    /// during the same 20 ms. No allocation. Whole frames by type: speex reads and
    /// writes exactly FRAME samples through raw pointers.
    pub fn process(&mut self, captured: &mut [i16; FRAME], played: &[i16; FRAME]) {
        if self.settings.echo_cancel {
            // SAFETY: three distinct buffers of FRAME samples.
            unsafe {
                speex_echo_cancellation(
                    self.echo,
                    captured.as_ptr(),
                    played.as_ptr(),
                    self.scratch.as_mut_ptr(),
                );
            }
            captured.copy_from_slice(&self.scratch);
        }
        if self.settings.echo_cancel || self.settings.noise_suppress || self.settings.gain_control {
            // SAFETY: FRAME samples, as configured.
            unsafe {
                speex_preprocess_run(self.pre, captured.as_mut_ptr());
            }
        }
    }
}

impl Drop for CapturePipeline {
    fn drop(&mut self) {
        // SAFETY: states created in `new`, destroyed once.
        unsafe {
            speex_preprocess_state_destroy(self.pre);
            speex_echo_state_destroy(self.echo);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::audio::analysis::energy_ratio_db;

    /// A speech-like test signal: voiced syllables (harmonics of a gliding pitch,
    /// 4 Hz syllable envelope) with some noise, deterministic.
    fn speechlike(seconds: f32, pitch: f32, seed: u32) -> Vec<i16> {
        let n = (seconds * RATE as f32) as usize;
        let mut state = seed;
        let mut phase = 0.0f32;
        (0..n)
            .map(|i| {
                let t = i as f32 / RATE as f32;
                let f0 = pitch * (1.0 + 0.15 * (t * 1.3).sin());
                phase += std::f32::consts::TAU * f0 / RATE as f32;
                let voiced: f32 = (1..=8).map(|h| (phase * h as f32).sin() / h as f32).sum();
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                let env = (0.5 + 0.5 * (t * 4.0 * std::f32::consts::TAU).sin()).powi(2);
                ((voiced * 0.6 + noise * 0.3) * env * 9000.0) as i16
            })
            .collect()
    }

    /// Room + device: 60 ms delay, −10 dB, and an exponentially decaying reverb tail.
    fn echo_path(far: &[i16]) -> Vec<f32> {
        let delay = (RATE as usize * 60) / 1000;
        let gain = 10f32.powf(-10.0 / 20.0);
        let taps: Vec<(usize, f32)> = (0..12)
            .map(|k| (delay + k * 240, gain * 0.55f32.powi(k as i32)))
            .collect();
        (0..far.len())
            .map(|i| {
                taps.iter()
                    .filter(|(d, _)| i >= *d)
                    .map(|(d, g)| far[i - d] as f32 * g)
                    .sum()
            })
            .collect()
    }

    #[test]
    fn erle_at_least_20_db_and_near_end_passes() {
        let far = speechlike(12.0, 130.0, 1);
        let near = speechlike(12.0, 210.0, 7);
        let echo = echo_path(&far);
        // The canceller plus the preprocessor's residual-echo suppression. Gain control
        // is left out here: it rescales everything and would hide what the canceller did
        // (it has its own test below).
        let mut p = CapturePipeline::new(Processing {
            echo_cancel: true,
            noise_suppress: true,
            gain_control: false,
        })
        .unwrap();
        let frames = far.len() / FRAME;
        let double_talk_from = frames * 3 / 4; // last quarter: both talk
        let mut out_echo_only = Vec::new();
        let mut in_echo_only = Vec::new();
        let mut out_dt = Vec::new();
        let mut near_dt = Vec::new();
        for f in 0..frames {
            let r = f * FRAME..(f + 1) * FRAME;
            let mut cap = [0i16; FRAME];
            for (k, i) in r.clone().enumerate() {
                let nearv = if f >= double_talk_from {
                    near[i] as f32
                } else {
                    0.0
                };
                cap[k] = (echo[i] + nearv).clamp(-32768.0, 32767.0) as i16;
            }
            let captured = cap;
            p.process(&mut cap, far[r.clone()].try_into().unwrap());
            // Measure after 4 s of convergence, before double talk.
            if f >= frames / 3 && f < double_talk_from {
                in_echo_only.extend(captured.iter().map(|&s| s as f32));
                out_echo_only.extend(cap.iter().map(|&s| s as f32));
            }
            if f >= double_talk_from + 10 {
                out_dt.extend(cap.iter().map(|&s| s as f32));
                near_dt.extend(near[r].iter().map(|&s| s as f32));
            }
        }
        let erle = energy_ratio_db(&in_echo_only, &out_echo_only);
        assert!(erle >= 20.0, "ERLE {erle:.1} dB");
        // Near-end speech during double talk keeps most of its energy.
        let kept = energy_ratio_db(&out_dt, &near_dt);
        assert!(kept > -6.0, "near-end attenuated by {:.1} dB", -kept);
        println!("ERLE {erle:.1} dB, near-end level change {kept:.1} dB");
    }

    #[test]
    fn gain_control_raises_quiet_speech() {
        let quiet: Vec<i16> = speechlike(6.0, 150.0, 3).iter().map(|&s| s / 16).collect();
        let mut p = CapturePipeline::new(Processing::default()).unwrap();
        let silence = [0i16; FRAME];
        let mut out = Vec::new();
        for (f, chunk) in quiet.chunks_exact(FRAME).enumerate() {
            let mut frame = [0i16; FRAME];
            frame.copy_from_slice(chunk);
            p.process(&mut frame, &silence);
            if f > 150 {
                out.extend(frame.iter().map(|&s| s as f32));
            }
        }
        let input: Vec<f32> = quiet[151 * FRAME..].iter().map(|&s| s as f32).collect();
        let gain = energy_ratio_db(&out, &input[..out.len()]);
        assert!(gain > 6.0, "AGC gain {gain:.1} dB");
    }
}
