//! Receiver reports about what we send, for the encoder's bitrate adaptation.
//!
//! webrtc-rs consumes inbound RTCP in its interceptors unless one marks a packet for the
//! application; `DeliverRtcp` marks every inbound RTCP packet. The peer's reports then
//! arrive on the remote track's event stream (with its own sender reports).

use std::collections::VecDeque;

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::sansio;
use rtc::shared::error::Error;

#[derive(Default)]
pub(crate) struct DeliverRtcp {
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl sansio::Protocol<TaggedPacket, TaggedPacket, ()> for DeliverRtcp {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = std::time::Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if matches!(msg.message.packet, Packet::Rtcp(_)) {
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
