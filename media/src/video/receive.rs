//! The video thread's receive side: the peer's packets put back into frames, decoded
//! with the codec their payload type names, shown, and losses turned into keyframe
//! requests.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::rtp::{is_keyframe, Assembler};
use super::shared::{RtcpRequest, VideoPacket, VideoShared};
use super::vpx::{Codec, Decoder};
use super::I420;
use crate::events::MediaEvent;

/// Receive side state: reassembly, decoding, loss and keyframe bookkeeping.
pub(super) struct Receiver {
    assembler: Assembler,
    decoder: Decoder,
    pub(super) picture: I420,
    waiting_key: bool,
    last_pli: Option<Instant>,
    first_seq: Option<u16>,
    highest: i64,
    pub(super) received: u64,
    /// Packets that came after a later one: retransmissions (NACK, same SSRC) or
    /// reordering. Counted as lost for our estimate, since a retransmitted packet
    /// also counts as received in the RTCP receiver report, which then shows no loss.
    pub(super) late: u64,
    /// The size and codec last announced (VideoReceived): the first picture, and each
    /// change (the peer shares a screen, or goes back to the camera).
    announced: (usize, usize, Codec),
}

impl Receiver {
    /// Waiting for a keyframe, with a VP8 decoder (replaced if the peer sends VP9).
    pub(super) fn new(decoder: Decoder) -> Receiver {
        Receiver {
            assembler: Assembler::new(),
            decoder,
            picture: I420::new(0, 0),
            waiting_key: true,
            last_pli: None,
            first_seq: None,
            highest: -1,
            received: 0,
            late: 0,
            announced: (0, 0, Codec::Vp8),
        }
    }

    pub(super) fn take(
        &mut self,
        p: VideoPacket,
        sink: &mut super::io::VideoSink,
        shared: &VideoShared,
        rtcp: &mpsc::UnboundedSender<RtcpRequest>,
        events: &mpsc::UnboundedSender<MediaEvent>,
    ) {
        shared
            .bytes_received
            .fetch_add(p.payload.len() as u64, Ordering::Relaxed);
        shared.packets_received.fetch_add(1, Ordering::Relaxed);
        self.received += 1;
        // Extended highest sequence number, for our loss figure (REMB).
        let first = *self.first_seq.get_or_insert(p.seq);
        let rel = p.seq.wrapping_sub(first) as i64;
        let base = self.highest & !0xffff;
        let mut ext = base | rel;
        if ext < self.highest - 0x8000 {
            ext += 0x10000;
        } else if ext > self.highest + 0x8000 && self.highest >= 0 {
            ext -= 0x10000; // a late packet from before a wrap (or before the first)
        }
        if ext < self.highest {
            self.late += 1;
        }
        self.highest = self.highest.max(ext);
        for f in self
            .assembler
            .push(p.codec, p.seq, p.ts, p.marker, &p.payload)
        {
            let key = is_keyframe(f.codec, &f.data);
            if f.codec != self.decoder.codec() {
                // The peer switched codecs (VP9 for a shared screen, VP8 for the
                // camera): a new decoder, which starts at a keyframe.
                match Decoder::new(f.codec) {
                    Ok(d) => {
                        tracing::debug!(codec = %f.codec, "video codec changed");
                        self.decoder = d;
                        self.waiting_key = true;
                    }
                    Err(e) => {
                        let _ = events.send(MediaEvent::DeviceError(e.to_string()));
                        continue;
                    }
                }
            }
            if f.after_loss && !key {
                tracing::debug!(
                    ts = f.ts,
                    "video lost before this frame; waiting for a keyframe"
                );
                self.waiting_key = true;
            }
            if self.waiting_key && !key {
                self.ask_keyframe(rtcp, shared);
                continue;
            }
            match self.decoder.decode(&f.data, &mut self.picture) {
                Ok(true) => {
                    self.waiting_key = false;
                    let n = shared.frames_decoded.fetch_add(1, Ordering::Relaxed);
                    shared
                        .width
                        .store(self.picture.width as u32, Ordering::Relaxed);
                    shared
                        .height
                        .store(self.picture.height as u32, Ordering::Relaxed);
                    let codec = self.decoder.codec();
                    shared.recv_codec.store(codec.to_u8(), Ordering::Relaxed);
                    let shown = (self.picture.width, self.picture.height, codec);
                    if n == 0 || shown != self.announced {
                        self.announced = shown;
                        let _ = events.send(MediaEvent::VideoReceived {
                            width: shown.0,
                            height: shown.1,
                            codec,
                        });
                    }
                    if let Err(e) = sink.write(&self.picture) {
                        let _ = events.send(MediaEvent::DeviceError(e.to_string()));
                        *sink = super::io::VideoSink::Null;
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "video frame not decodable; asking for a keyframe");
                    self.waiting_key = true;
                    self.ask_keyframe(rtcp, shared);
                }
            }
        }
    }

    /// A PLI, at most every 300 ms (the keyframe takes a round trip to come).
    fn ask_keyframe(&mut self, rtcp: &mpsc::UnboundedSender<RtcpRequest>, shared: &VideoShared) {
        if self
            .last_pli
            .is_some_and(|t| t.elapsed() < Duration::from_millis(300))
        {
            return;
        }
        self.last_pli = Some(Instant::now());
        tracing::debug!("asking the peer for a keyframe (PLI)");
        shared.keyframes_asked.fetch_add(1, Ordering::Relaxed);
        let _ = rtcp.send(RtcpRequest::Pli);
    }

    pub(super) fn expected(&self) -> u64 {
        if self.first_seq.is_some() {
            self.highest as u64 + 1
        } else {
            0
        }
    }
}
