//! Adaptive jitter buffer for 20 ms Opus frames. Pure logic: packets go in with their
//! arrival time, the playout clock asks for one frame every 20 ms and is told what to
//! do: decode a packet, recover the frame from the next packet's in-band FEC, or
//! conceal it (PLC).
//!
//! The target delay follows the spread of recent transit times (95th percentile minus
//! minimum), so it stays at one frame on a clean network and grows with jitter. When
//! packets are being lost it is at least two frames: the packet after a lost one
//! carries the lost frame's in-band FEC, and must be here when the lost frame is due
//! (with one frame of delay it never is, and FEC recovers nothing; NetEq likewise
//! raises its target under loss). A buffer that stays below its target for half a
//! second gets one frame of delay more (one concealed frame, played without moving
//! on); one that stays above it for as long, one frame less. Clock drift shows up the
//! same way (a faster sender: a frame is dropped; a slower one: a frame is inserted).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

/// Samples per 20 ms frame at 48 kHz.
pub const FRAME_SAMPLES: u32 = 960;
const FRAME_MS: f64 = 20.0;
const SLOTS: usize = 64;
const WINDOW: usize = 128;
const MAX_PAYLOAD: usize = 1500;
/// Frames over which recent loss is averaged (about a second).
const LOSS_FRAMES: f64 = 50.0;
/// Recent loss above which the target leaves room for FEC, and below which it stops.
const LOSS_ON: f64 = 0.015;
const LOSS_OFF: f64 = 0.002;
/// Ticks of a 25-tick window at which a packet came after the tick that wanted it
/// (for the target) that earn the buffer a frame more of delay.
const SHORT_TICKS: u32 = 5;
/// Packets in a row too late to play after which the buffer follows them.
const RESYNC_LATE: u32 = 10;

/// What the playout clock should do for the next 20 ms.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Nothing has arrived yet (or the buffer is filling): play silence.
    Wait,
    /// Decode this packet (with its RTP timestamp) normally.
    Decode(&'a [u8], u32),
    /// The packet is missing but the next one is here: decode its FEC data.
    Fec(&'a [u8]),
    /// Conceal the missing frame.
    Conceal,
}

/// Counters, readable at any time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JitterStats {
    pub received: u64,
    pub decoded: u64,
    pub fec_recovered: u64,
    pub concealed: u64,
    pub late_dropped: u64,
    pub duplicates: u64,
    pub drift_dropped: u64,
    /// Frames of delay added (the buffer stayed below its target).
    pub stretched: u64,
    /// Frames played from a redundant copy (RED), their own packet lost.
    pub red_recovered: u64,
    /// Current target delay in frames.
    pub target_frames: u32,
    /// Frames currently buffered.
    pub level_frames: u32,
}

#[derive(Clone)]
struct Slot {
    seq: u64,
    ts: u32,
    len: usize,
    used: bool,
    /// Filled by a redundant copy, its own packet lost.
    redundant: bool,
    data: [u8; MAX_PAYLOAD],
}

impl Slot {
    /// Holds frame `seq` (cut to MAX_PAYLOAD bytes).
    fn fill(&mut self, seq: u64, ts: u32, payload: &[u8], redundant: bool) {
        let len = payload.len().min(MAX_PAYLOAD);
        self.seq = seq;
        self.ts = ts;
        self.len = len;
        self.used = true;
        self.redundant = redundant;
        if let (Some(to), Some(from)) = (self.data.get_mut(..len), payload.get(..len)) {
            to.copy_from_slice(from);
        }
    }
}

pub struct JitterBuffer {
    slots: Vec<Slot>,
    /// Extended sequence number of the next frame to play.
    next: Option<u64>,
    highest: Option<u64>,
    /// Recent transit times (arrival − media time), ms.
    transit: [f64; WINDOW],
    transit_len: usize,
    transit_pos: usize,
    scratch: [f64; WINDOW],
    target_frames: u32,
    /// The target the transit spread alone asks for.
    jitter_frames: u32,
    /// Recent loss: the share of frames lost, averaged over about a second, and whether
    /// the target is raised for it (with hysteresis).
    loss_avg: f64,
    loss_mode: bool,
    /// Smallest buffer level seen in the current 0.5 s window, and its length.
    window_min: u32,
    /// Ticks of the window at which a packet the target wanted here came afterwards.
    window_short: u32,
    /// The newest packet the target wanted here at the last tick, when it was not.
    awaited: Option<u64>,
    /// How many frames back the last packet's RED copies reached (0: none).
    red_depth: u64,
    window_ticks: u32,
    /// Consecutive underruns without moving on.
    underruns: u32,
    /// Consecutive packets that came too late to play.
    late_run: u32,
    playing: bool,
    stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new()
    }
}

/// Extends a 16-bit sequence number to 64 bits, close to `reference`.
fn extend_seq(seq: u16, reference: u64) -> u64 {
    let base = reference & !0xffff;
    let candidates = [
        base.wrapping_sub(0x10000) | seq as u64,
        base | seq as u64,
        (base + 0x10000) | seq as u64,
    ];
    *candidates
        .iter()
        .min_by_key(|c| (**c as i64 - reference as i64).unsigned_abs())
        .unwrap_or(&(base | seq as u64))
}

impl JitterBuffer {
    pub fn new() -> Self {
        JitterBuffer {
            slots: vec![
                Slot {
                    seq: 0,
                    ts: 0,
                    len: 0,
                    used: false,
                    redundant: false,
                    data: [0; MAX_PAYLOAD],
                };
                SLOTS
            ],
            next: None,
            highest: None,
            transit: [0.0; WINDOW],
            transit_len: 0,
            transit_pos: 0,
            scratch: [0.0; WINDOW],
            target_frames: 1,
            jitter_frames: 1,
            loss_avg: 0.0,
            loss_mode: false,
            window_min: u32::MAX,
            window_short: 0,
            awaited: None,
            red_depth: 0,
            window_ticks: 0,
            underruns: 0,
            late_run: 0,
            playing: false,
            stats: JitterStats {
                target_frames: 1,
                ..Default::default()
            },
        }
    }

    pub fn stats(&self) -> JitterStats {
        let mut s = self.stats;
        s.target_frames = self.target_frames;
        s.level_frames = self.level();
        s
    }

    fn level(&self) -> u32 {
        match (self.next, self.highest) {
            (Some(n), Some(h)) if h >= n => (h - n + 1) as u32,
            _ => 0,
        }
    }

    /// Adds a packet. `arrival_ms` is the local receive time; `timestamp` the RTP one.
    pub fn push(&mut self, seq: u16, timestamp: u32, payload: &[u8], arrival_ms: f64) {
        let reference = self.highest.or(self.next).unwrap_or(seq as u64 + 0x10000);
        let ext = extend_seq(seq, reference);
        self.stats.received += 1;
        if let Some(n) = self.next {
            if ext < n && !self.playing && n - ext < SLOTS as u64 / 2 {
                // Reordered before playout started: begin with the earlier one.
                self.next = Some(ext);
            } else if ext < n {
                self.stats.late_dropped += 1;
                self.late_run += 1;
                if self.late_run < RESYNC_LATE {
                    return;
                }
                // Everything arrives "late": the sender restarted its numbering (or
                // a burst of garbage moved us): follow the stream as it is now.
                self.reset_to(ext);
            }
            if ext >= n + SLOTS as u64 {
                // Far ahead (a long outage or a sender restart): start over from here.
                self.reset_to(ext);
            }
        }
        self.late_run = 0;
        if self.highest.is_none_or(|h| ext > h) {
            // A new packet: its copies (pushed next) say how deep they go.
            self.red_depth = 0;
        }
        if self.awaited == Some(ext) {
            self.window_short += 1;
            self.awaited = None;
        }
        let Some(slot) = self.slot_mut(ext) else {
            return;
        };
        if slot.used && slot.seq == ext {
            self.stats.duplicates += 1;
            return;
        }
        slot.fill(ext, timestamp, payload, false);
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        if self.next.is_none() {
            self.next = Some(ext);
        }
        self.observe_transit(arrival_ms - timestamp as f64 / 48.0);
    }

    /// Adds a redundant copy (RED) of an earlier frame, carried by a packet that was
    /// just pushed. It fills the frame's slot if that packet never came and the frame
    /// is not yet due; otherwise it is dropped without counting as late or duplicate
    /// (every copy of a frame that did arrive is one), and it says nothing about
    /// transit times (it left the sender a frame or two late by design).
    pub fn push_redundant(&mut self, seq: u16, timestamp: u32, payload: &[u8]) {
        let (Some(next), Some(highest)) = (self.next, self.highest) else {
            return;
        };
        let ext = extend_seq(seq, highest);
        if ext < highest {
            self.red_depth = self.red_depth.max(highest - ext);
        }
        if ext < next || ext >= highest {
            return;
        }
        let Some(slot) = self.slot_mut(ext) else {
            return;
        };
        if slot.used && slot.seq == ext {
            return;
        }
        slot.fill(ext, timestamp, payload, true);
    }

    fn reset_to(&mut self, ext: u64) {
        for s in &mut self.slots {
            s.used = false;
        }
        self.next = Some(ext);
        self.highest = None;
        self.playing = false;
        self.late_run = 0;
        // Transit times of another numbering say nothing about this one.
        self.transit_len = 0;
        self.jitter_frames = 1;
        self.update_target();
    }

    fn observe_transit(&mut self, transit: f64) {
        if let Some(t) = self.transit.get_mut(self.transit_pos) {
            *t = transit;
        }
        self.transit_pos = (self.transit_pos + 1) % WINDOW;
        self.transit_len = (self.transit_len + 1).min(WINDOW);
        let n = self.transit_len;
        let (Some(s), Some(from)) = (self.scratch.get_mut(..n), self.transit.get(..n)) else {
            return;
        };
        s.copy_from_slice(from);
        let min = s.iter().copied().fold(f64::INFINITY, f64::min);
        let idx = ((n as f64 * 0.95) as usize).min(n - 1);
        let (_, p95, _) = s.select_nth_unstable_by(idx, |a, b| a.total_cmp(b));
        let spread = (*p95 - min).max(0.0);
        // One frame covers 0–20 ms of jitter; each further 20 ms adds a frame.
        let frames = 1 + ((spread + 5.0) / FRAME_MS).floor() as u32;
        self.jitter_frames = frames.clamp(1, 15);
        self.update_target();
    }

    fn update_target(&mut self) {
        let for_loss = if self.loss_mode { 2 } else { 1 };
        self.target_frames = self.jitter_frames.max(for_loss);
    }

    /// One frame played: `lost` when its packet never came.
    fn count_frame(&mut self, lost: bool) {
        let x = if lost { 1.0 } else { 0.0 };
        self.loss_avg += (x - self.loss_avg) / LOSS_FRAMES;
        // On at about one loss in the last second, off after a few quiet seconds.
        if !self.loss_mode && self.loss_avg > LOSS_ON {
            self.loss_mode = true;
            self.update_target();
        } else if self.loss_mode && self.loss_avg < LOSS_OFF {
            self.loss_mode = false;
            self.update_target();
        }
    }

    /// The slot `seq` goes in (used or not).
    fn slot_mut(&mut self, seq: u64) -> Option<&mut Slot> {
        self.slots.get_mut((seq % SLOTS as u64) as usize)
    }

    /// The slot holding packet `seq`, if it arrived.
    fn take(&mut self, seq: u64) -> Option<&mut Slot> {
        self.slot_mut(seq).filter(|s| s.used && s.seq == seq)
    }

    /// Plays packet `seq` (which has arrived) and frees its slot.
    fn decode(&mut self, seq: u64) -> Playout<'_> {
        match self.take(seq) {
            Some(s) => {
                s.used = false;
                Playout::Decode(s.data.get(..s.len).unwrap_or_default(), s.ts)
            }
            None => Playout::Conceal,
        }
    }

    /// Plays frame `seq` (here), from its own packet or from a redundant copy (which
    /// counts as a loss for the target: the copy is only on time because of it).
    fn play(&mut self, seq: u64, redundant: bool) -> Playout<'_> {
        if redundant {
            self.stats.red_recovered += 1;
        } else {
            self.stats.decoded += 1;
        }
        self.count_frame(redundant);
        self.decode(seq)
    }

    /// The in-band FEC of packet `seq` (which has arrived; it stays for its turn).
    fn fec(&mut self, seq: u64) -> Playout<'_> {
        match self.take(seq) {
            Some(s) => Playout::Fec(s.data.get(..s.len).unwrap_or_default()),
            None => Playout::Conceal,
        }
    }

    /// Called once per 20 ms by the playout clock.
    pub fn pop(&mut self) -> Playout<'_> {
        let Some(mut next) = self.next else {
            return Playout::Wait;
        };
        if !self.playing {
            // Fill up to the target before starting.
            if self.level() < self.target_frames {
                return Playout::Wait;
            }
            self.playing = true;
        }
        // Sender faster than us, or a delay added by an earlier wait: when the buffer
        // held more than the target for a whole window, drop one frame to bring the
        // delay back down.
        let level = self.level();
        self.window_min = self.window_min.min(level);
        self.awaited = (level < self.target_frames).then_some(next + self.target_frames as u64 - 1);
        self.window_ticks += 1;
        if self.window_ticks >= 25 {
            let excess = self.window_min > self.target_frames;
            // Packets the target wanted here came after their tick at a fifth of the
            // window's ticks or more: the target was raised, or packets arrive right at
            // the tick (then a lost one's copy or FEC comes a moment too late). A lost
            // packet at the tail never comes, and is not counted.
            let short = self.window_short >= SHORT_TICKS;
            self.window_short = 0;
            self.window_ticks = 0;
            self.window_min = u32::MAX;
            if short && self.take(next).is_some() {
                // Below the target for a whole window (it was raised, or the sender is
                // slower): one frame more of delay, a concealed frame without moving on.
                self.stats.stretched += 1;
                self.stats.concealed += 1;
                return Playout::Conceal;
            }
            if excess {
                if let Some(s) = self.take(next) {
                    s.used = false;
                }
                self.stats.drift_dropped += 1;
                next += 1;
                self.next = Some(next);
            }
        }
        if let Some(redundant) = self.take(next).map(|s| s.redundant) {
            self.next = Some(next + 1);
            self.underruns = 0;
            return self.play(next, redundant);
        }
        let newer_here = self.highest.is_some_and(|h| h > next);
        if newer_here && self.underruns > 0 && self.target_frames < 2 {
            // We waited for this packet and played a concealment in its place; it is
            // lost, so skip it and play on from the next one without extra delay.
            self.underruns = 0;
            self.count_frame(true);
            next += 1;
            self.next = Some(next);
            if let Some(redundant) = self.take(next).map(|s| s.redundant) {
                self.next = Some(next + 1);
                return self.play(next, redundant);
            }
        }
        let newer_here = self.highest.is_some_and(|h| h > next);
        if newer_here || self.underruns >= 10 {
            // A hole: the packet is lost (or later than we can wait). Move on.
            self.next = Some(next + 1);
            self.underruns = 0;
            self.count_frame(true);
            if self.take(next + 1).is_some() {
                self.stats.fec_recovered += 1;
                return self.fec(next + 1);
            }
            self.stats.concealed += 1;
            return Playout::Conceal;
        }
        if self.loss_mode
            && self.underruns == 0
            && self.jitter_frames < self.target_frames
            && self.red_depth < 2
        {
            // Frames are being lost, the arrivals are steady (the target is there for
            // the loss, not for jitter), and the buffer ran dry: this packet, and the
            // one after it, are lost far more likely than late. Waiting would add a
            // frame of delay that is dropped again later (a concealed frame now and a
            // good one skipped then); move on instead. Not when packets carry two
            // copies: then the next one brings both missing frames back whole, which
            // is worth the wait (15 % loss: WB-PESQ 4.1 waiting, 3.3 moving on).
            self.next = Some(next + 1);
            self.count_frame(true);
            self.stats.concealed += 1;
            return Playout::Conceal;
        }
        // Nothing newer yet: the packet may only be late. Conceal without moving on,
        // which also lets the delay grow when the network got slower.
        self.underruns += 1;
        self.stats.concealed += 1;
        Playout::Conceal
    }
}

#[cfg(test)]
mod tests;
