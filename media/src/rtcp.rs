//! Inbound RTCP the application acts on: receiver reports about what we send (the
//! encoders' bitrate adaptation), and for video, keyframe requests (PLI, FIR) and the
//! peer's bandwidth estimate (REMB).
//!
//! webrtc-rs consumes inbound RTCP in its interceptors unless one marks a packet for the
//! application; `DeliverRtcp` marks every inbound RTCP packet, so the peer's reports
//! arrive on the remote track's event stream. It also reads the video feedback itself:
//! webrtc-rs routes a compound packet by its first SSRC, which for libwebrtc's is the
//! audio stream, so a PLI inside it would never reach the video track.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::sansio;
use rtc::shared::error::Error;

#[derive(Default)]
pub(crate) struct DeliverRtcp {
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
    feedback: Arc<VideoFeedback>,
}

impl DeliverRtcp {
    pub(crate) fn new(feedback: Arc<VideoFeedback>) -> DeliverRtcp {
        DeliverRtcp {
            feedback,
            ..Default::default()
        }
    }
}

/// What the peer said about the video we send.
#[derive(Default, Debug)]
pub(crate) struct VideoFeedback {
    /// Our video SSRC (0: none yet).
    pub ssrc: AtomicU32,
    /// Moves with each keyframe request (PLI, or a FIR with a new sequence number).
    pub key_requests: AtomicU32,
    /// The peer's latest REMB, bits/s (0: none).
    pub remb_bps: AtomicU32,
    /// Latest fraction lost (f32 bits) the peer reported about our video, and a counter
    /// that moves with each report.
    pub loss: AtomicU32,
    pub reports: AtomicU32,
    /// Last FIR sequence number + 1 (0: none seen).
    last_fir: AtomicU32,
    /// The send-side estimate (GCC over the peer's transport-cc feedback) for
    /// everything we send, bits/s; 0 until the peer sent feedback (Dino sends none).
    pub twcc_bps: AtomicU32,
}

/// The GCC estimator webrtc-rs runs on the peer's transport-cc feedback, wrapped so
/// that its target reaches the video encoder (through [`VideoFeedback::twcc_bps`]).
/// Without a pacer: packets leave when written, and the encoder's rate does the rest.
pub(crate) struct ReportingEstimator {
    inner: rtc::interceptor::Gcc,
    out: Arc<VideoFeedback>,
    /// Keeps the estimate to itself: the connection carries no video (the video has
    /// a connection of its own, whose estimate is the one that counts).
    quiet: Arc<AtomicBool>,
}

impl ReportingEstimator {
    pub(crate) fn new(out: Arc<VideoFeedback>, quiet: Arc<AtomicBool>) -> ReportingEstimator {
        ReportingEstimator {
            inner: rtc::interceptor::Gcc::new(1_000_000.0, 100_000.0, 2_500_000.0),
            out,
            quiet,
        }
    }
}

impl rtc::interceptor::BandwidthEstimator for ReportingEstimator {
    fn on_reports(&mut self, now: std::time::Instant, reports: &[rtc::interceptor::PacketReport]) {
        self.inner.on_reports(now, reports);
        if !reports.is_empty() && !self.quiet.load(Ordering::Relaxed) {
            let bps = self.inner.target_bitrate().clamp(0.0, u32::MAX as f64) as u32;
            self.out.twcc_bps.store(bps.max(1), Ordering::Relaxed);
        }
    }

    fn target_bitrate(&self) -> f64 {
        self.inner.target_bitrate()
    }

    fn handle_timeout(&mut self, now: std::time::Instant) {
        self.inner.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<std::time::Instant> {
        self.inner.poll_timeout()
    }

    fn stats(&self) -> rtc::interceptor::EstimatorStats {
        self.inner.stats()
    }
}

impl VideoFeedback {
    pub(crate) fn observe(&self, packets: &[Box<dyn rtc::rtcp::Packet>]) {
        use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
        use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
        use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
        let ssrc = self.ssrc.load(Ordering::Relaxed);
        if ssrc == 0 {
            return;
        }
        for p in packets {
            let any = p.as_any();
            if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                if pli.media_ssrc == ssrc {
                    self.key_requests.fetch_add(1, Ordering::Relaxed);
                }
            } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                for e in fir.fir.iter().filter(|e| e.ssrc == ssrc) {
                    let seq = e.sequence_number as u32 + 1;
                    if self.last_fir.swap(seq, Ordering::Relaxed) != seq {
                        self.key_requests.fetch_add(1, Ordering::Relaxed);
                    }
                }
            } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
                if remb.ssrcs.is_empty() || remb.ssrcs.contains(&ssrc) {
                    self.remb_bps.store(
                        remb.bitrate.clamp(0.0, u32::MAX as f32) as u32,
                        Ordering::Relaxed,
                    );
                }
            }
        }
        if let Some(loss) = reported_loss(packets, ssrc) {
            self.loss.store(loss.to_bits(), Ordering::Relaxed);
            self.reports.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl sansio::Protocol<TaggedPacket, TaggedPacket, ()> for DeliverRtcp {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = std::time::Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            self.feedback.observe(packets);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }

    fn handle_timeout(&mut self, _now: std::time::Instant) -> Result<(), Self::Error> {
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Self::Time> {
        None
    }
}

impl Interceptor for DeliverRtcp {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// The fraction lost (0–1) a batch of RTCP packets reports for `ssrc`, if any.
pub(crate) fn reported_loss(packets: &[Box<dyn rtc::rtcp::Packet>], ssrc: u32) -> Option<f32> {
    packets.iter().find_map(|p| {
        let any = p.as_any();
        let reports =
            if let Some(rr) = any.downcast_ref::<rtc::rtcp::receiver_report::ReceiverReport>() {
                &rr.reports
            } else if let Some(sr) = any.downcast_ref::<rtc::rtcp::sender_report::SenderReport>() {
                &sr.reports
            } else {
                return None;
            };
        reports
            .iter()
            .find(|r| r.ssrc == ssrc)
            .map(|r| r.fraction_lost as f32 / 256.0)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use rtc::rtcp::payload_feedbacks::full_intra_request::{FirEntry, FullIntraRequest};
    use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
    use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;

    #[test]
    fn keyframe_requests_and_remb_for_our_video_only() {
        let fb = VideoFeedback::default();
        fb.ssrc.store(7, Ordering::Relaxed);
        let pli = |media_ssrc| -> Box<dyn rtc::rtcp::Packet> {
            Box::new(PictureLossIndication {
                sender_ssrc: 1,
                media_ssrc,
            })
        };
        let fir = |seq| -> Box<dyn rtc::rtcp::Packet> {
            Box::new(FullIntraRequest {
                sender_ssrc: 1,
                media_ssrc: 0,
                fir: vec![FirEntry {
                    ssrc: 7,
                    sequence_number: seq,
                }],
            })
        };
        fb.observe(&[pli(7), pli(99)]);
        assert_eq!(fb.key_requests.load(Ordering::Relaxed), 1);
        // A FIR repeated with the same sequence number is the same request.
        fb.observe(&[fir(3)]);
        fb.observe(&[fir(3)]);
        fb.observe(&[fir(4)]);
        assert_eq!(fb.key_requests.load(Ordering::Relaxed), 3);
        fb.observe(&[Box::new(ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 1,
            bitrate: 450_000.0,
            ssrcs: vec![7],
        })]);
        assert_eq!(fb.remb_bps.load(Ordering::Relaxed), 450_000);
    }
}
