//! The audio engine thread of a call, beside the video engine (video/engine.rs): what
//! it shares with the session's tasks, and its 20 ms loop.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::audio::codec::{Decoder, Encoder, MAX_PACKET};
use crate::audio::echo::{CapturePipeline, Processing};
use crate::audio::jitter::{JitterBuffer, Playout};
use crate::audio::sink::{NullSink, SinkSpec};
use crate::audio::source::{Silence, SourceSpec};
use crate::audio::{level_dbfs, FRAME};
use crate::config::MediaConfig;
use crate::error::MediaError;
use crate::events::{AudioDevice, MediaEvent};

/// Counters the engine thread updates and the stats task reads.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) connected: AtomicBool,
    pub(crate) stop: AtomicBool,
    pub(crate) muted: AtomicBool,
    /// On hold (XEP-0167 hold): nothing is sent and nothing is played.
    pub(crate) held: AtomicBool,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    pub(crate) packets_sent: AtomicU64,
    pub(crate) packets_received: AtomicU64,
    pub(crate) expected: AtomicU64,
    pub(crate) level_in: AtomicU32,
    pub(crate) level_out: AtomicU32,
    pub(crate) jitter_us: AtomicU64,
    pub(crate) fec: AtomicU64,
    pub(crate) red: AtomicU64,
    pub(crate) concealed: AtomicU64,
    pub(crate) target_frames: AtomicU32,
    pub(crate) bitrate: AtomicU32,
    /// Latest loss fraction the peer reported about our stream (f32 bits), and a
    /// counter that moves with each report.
    pub(crate) remote_loss: AtomicU32,
    pub(crate) reports: AtomicU32,
    pub(crate) rtt_us: AtomicU32,
    pub(crate) processing: Mutex<Option<Processing>>,
    /// Devices to switch to at the next tick (opened on the engine thread: a cpal
    /// stream must stay on the thread that made it).
    pub(crate) switch_in: Mutex<Option<SourceSpec>>,
    pub(crate) switch_out: Mutex<Option<SinkSpec>>,
}

pub(crate) struct InPacket {
    pub(crate) seq: u16,
    pub(crate) ts: u32,
    pub(crate) payload: Vec<u8>,
    pub(crate) arrival: Instant,
    /// A redundant copy (RED) of an earlier frame, carried by the packet just before
    /// it in the queue.
    pub(crate) redundant: bool,
}

pub(crate) struct OutPacket {
    pub(crate) ts: u32,
    pub(crate) payload: Bytes,
}

/// The audio engine: one thread, one 20 ms tick: receive → de-jitter → decode → play,
/// then capture → process (with what was just played as echo reference) → encode →
/// send. Device callbacks only touch lock-free rings inside the sources and sinks.
pub(crate) fn run_engine(
    config: MediaConfig,
    shared: Arc<Shared>,
    out: mpsc::UnboundedSender<OutPacket>,
    incoming: std_mpsc::Receiver<InPacket>,
    events: mpsc::UnboundedSender<MediaEvent>,
) {
    let device_error = |e: MediaError| {
        let _ = events.send(MediaEvent::DeviceError(e.to_string()));
    };
    let mut source = config.audio_in.open().unwrap_or_else(|e| {
        device_error(e);
        Box::new(Silence)
    });
    let mut sink = config.audio_out.open().unwrap_or_else(|e| {
        device_error(e);
        Box::new(NullSink)
    });
    // Echo test: what was played, sent back `delay` frames later.
    let echo_of = |spec: &SourceSpec| match spec {
        SourceSpec::Echo(ms) => Some((*ms as usize / 20).max(1)),
        _ => None,
    };
    let mut echo_delay = echo_of(&config.audio_in);
    let mut echo_line: std::collections::VecDeque<[i16; FRAME]> =
        std::collections::VecDeque::with_capacity(echo_delay.unwrap_or(0) + 2);
    let mut processing = config.processing;
    let new_pipeline = |spec: &SourceSpec, p: Processing| {
        if matches!(spec, SourceSpec::Mic(_)) {
            CapturePipeline::new(p).map_err(&device_error).ok()
        } else {
            None
        }
    };
    let mut pipeline = new_pipeline(&config.audio_in, processing);
    let (mut encoder, mut decoder) = match (Encoder::new(config.dtx), Decoder::new()) {
        (Ok(e), Ok(d)) => (e, d),
        (Err(e), _) | (_, Err(e)) => {
            let _ = events.send(MediaEvent::Failed(e));
            return;
        }
    };
    shared
        .bitrate
        .store(encoder.bitrate() as u32, Ordering::Relaxed);
    let mut jb = JitterBuffer::new();
    let start = Instant::now();
    let mut ts: u32 = rand::random();
    let mut played = [0i16; FRAME];
    let mut captured = [0i16; FRAME];
    let mut packet = [0u8; MAX_PACKET];
    let mut first_seq: Option<i64> = None;
    let mut highest: i64 = -1;
    let mut last_arrival: Option<(Instant, u32)> = None;
    let mut jitter_ms = 0.0f64;
    let mut next = Instant::now();
    let tick = Duration::from_millis(20);
    let mut reports_seen = 0u32;
    let mut heard = false;
    while !shared.stop.load(Ordering::Acquire) {
        // Incoming packets.
        while let Ok(p) = incoming.try_recv() {
            if p.redundant {
                jb.push_redundant(p.seq, p.ts, &p.payload);
                continue;
            }
            let arrival_ms = p.arrival.duration_since(start).as_secs_f64() * 1000.0;
            // Extended sequence for the loss count.
            let ext = match first_seq {
                None => {
                    first_seq = Some(p.seq as i64);
                    p.seq as i64
                }
                Some(_) => {
                    let base = highest & !0xffff;
                    let mut e = base | p.seq as i64;
                    if e < highest - 0x8000 {
                        e += 0x10000;
                    } else if e > highest + 0x8000 {
                        e -= 0x10000;
                    }
                    e
                }
            };
            highest = highest.max(ext);
            if let Some((at, last_ts)) = last_arrival {
                let d = p.arrival.duration_since(at).as_secs_f64() * 1000.0
                    - (p.ts.wrapping_sub(last_ts) as i32) as f64 / 48.0;
                jitter_ms += (d.abs() - jitter_ms) / 16.0;
            }
            last_arrival = Some((p.arrival, p.ts));
            jb.push(p.seq, p.ts, &p.payload, arrival_ms);
            shared.packets_received.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(first) = first_seq {
            shared
                .expected
                .store((highest - first + 1).max(0) as u64, Ordering::Relaxed);
        }
        // Playout.
        match jb.pop() {
            Playout::Decode(p, rtp_ts) => {
                decoder.decode(p, &mut played);
                if !heard {
                    heard = true;
                    let _ = events.send(MediaEvent::AudioReceived);
                }
                if let Some(probe) = &config.probe {
                    probe.on_playout(rtp_ts);
                }
            }
            Playout::Fec(p) => {
                decoder.decode_fec(p, &mut played);
            }
            Playout::Conceal => {
                decoder.conceal(&mut played);
            }
            Playout::Wait => played.fill(0),
        }
        if shared.held.load(Ordering::Relaxed) {
            played.fill(0);
        }
        // Device switches asked for since the last tick (try_lock: never wait here).
        if let Some(spec) = shared.switch_out.try_lock().ok().and_then(|mut s| s.take()) {
            match spec.open() {
                Ok(s) => {
                    sink = s;
                    let _ = events.send(MediaEvent::AudioDeviceSwitched(AudioDevice::Output));
                }
                Err(e) => device_error(e),
            }
        }
        if let Some(spec) = shared.switch_in.try_lock().ok().and_then(|mut s| s.take()) {
            match spec.open() {
                Ok(s) => {
                    source = s;
                    pipeline = new_pipeline(&spec, processing);
                    echo_delay = echo_of(&spec);
                    echo_line.clear();
                    let _ = events.send(MediaEvent::AudioDeviceSwitched(AudioDevice::Input));
                }
                Err(e) => device_error(e),
            }
        }
        if let Err(e) = sink.write(&played) {
            device_error(e);
            sink = Box::new(NullSink);
        }
        // Capture.
        if let Some(delay) = echo_delay {
            if echo_line.len() == echo_line.capacity() {
                echo_line.pop_front();
            }
            echo_line.push_back(played);
            captured = if echo_line.len() > delay {
                echo_line.pop_front().unwrap_or([0; FRAME])
            } else {
                [0; FRAME]
            };
        } else if let Err(e) = source.read(&mut captured) {
            device_error(e);
            source = Box::new(Silence);
        }
        if let Some(new) = shared.processing.try_lock().ok().and_then(|mut s| s.take()) {
            processing = new;
            if let Some(p) = pipeline.as_mut() {
                p.set(new);
            }
        }
        if let Some(p) = pipeline.as_mut() {
            p.process(&mut captured, &played);
        }
        // The microphone's level before muting: the window says "you are muted" to
        // someone who talks while muted.
        let level_in = level_dbfs(&captured);
        if shared.muted.load(Ordering::Relaxed) || shared.held.load(Ordering::Relaxed) {
            captured.fill(0);
        }
        let now = Instant::now();
        if shared.connected.load(Ordering::Acquire) {
            match encoder.encode(&captured, &mut packet) {
                Ok(n) if n > 0 => {
                    if let Some(probe) = &config.probe {
                        probe.on_capture(ts, now);
                    }
                    let _ = out.send(OutPacket {
                        ts,
                        payload: Bytes::copy_from_slice(packet.get(..n).unwrap_or_default()),
                    });
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "encode"),
            }
        }
        ts = ts.wrapping_add(FRAME as u32);
        let reports = shared.reports.load(Ordering::Relaxed);
        if reports != reports_seen {
            reports_seen = reports;
            let loss = f32::from_bits(shared.remote_loss.load(Ordering::Relaxed));
            let rtt = shared.rtt_us.load(Ordering::Relaxed) as f32 / 1000.0;
            let bitrate = encoder.on_report(loss, rtt);
            shared.bitrate.store(bitrate as u32, Ordering::Relaxed);
        }
        // Figures for the stats task.
        let js = jb.stats();
        shared.level_in.store(level_in.to_bits(), Ordering::Relaxed);
        shared
            .level_out
            .store(level_dbfs(&played).to_bits(), Ordering::Relaxed);
        shared
            .jitter_us
            .store((jitter_ms * 1000.0) as u64, Ordering::Relaxed);
        shared.fec.store(js.fec_recovered, Ordering::Relaxed);
        shared.red.store(js.red_recovered, Ordering::Relaxed);
        shared.concealed.store(js.concealed, Ordering::Relaxed);
        shared
            .target_frames
            .store(js.target_frames, Ordering::Relaxed);
        // Pace by absolute deadlines; after a long stall, start afresh.
        next += tick;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else if now - next > Duration::from_millis(200) {
            next = now;
        }
    }
    if let Err(e) = sink.finish() {
        device_error(e);
    }
}
