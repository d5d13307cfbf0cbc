//! The call machine reading the peer: JMI messages (XEP-0353) and Jingle actions
//! (XEP-0166/0167/0176), each checked against the call's state and peer.

use super::*;

impl Call {
    /// Candidates that came inside the peer's description count against the cap
    /// (transport-infos may only add up to `MAX_REMOTE_CANDIDATES` in all).
    pub(super) fn count_candidates(&mut self, d: &SessionDescription) {
        self.candidates_taken = d.candidates.len();
        self.video_candidates_taken = d
            .contents
            .iter()
            .filter_map(|c| c.transport.as_ref())
            .map(|t| t.candidates.len())
            .sum();
    }

    pub(super) fn on_jmi(&mut self, from: Jid, jmi: Jmi, out: &mut Vec<Output>) {
        let own_other_device = from.to_bare() == self.own.to_bare() && from != self.own.clone();
        match jmi {
            Jmi::Propose { .. } => {} // duplicate
            Jmi::Ringing { .. } => {
                if self.direction == CallDirection::Out
                    && self.state == CallState::Proposing
                    && from.to_bare() == self.peer
                {
                    self.set_state(CallState::Ringing, out);
                }
            }
            Jmi::Proceed { .. } => {
                if self.direction != CallDirection::Out
                    || !matches!(self.state, CallState::Proposing | CallState::Ringing)
                    || from.to_bare() != self.peer
                {
                    return;
                }
                let Ok(full) = from.try_into_full() else {
                    return;
                };
                self.peer_full = Some(full);
                self.set_state(CallState::Connecting, out);
                self.start_media(Output::CreateOffer, out);
            }
            Jmi::Accept { .. } => {
                // Another of our devices took the call.
                if self.direction == CallDirection::In && own_other_device && !self.accepted {
                    self.end(EndReason::AnsweredElsewhere, out);
                }
            }
            Jmi::Reject { reason, .. } => {
                if self.direction == CallDirection::In && own_other_device && !self.accepted {
                    self.end(EndReason::RejectedElsewhere, out);
                } else if self.direction == CallDirection::Out
                    && from.to_bare() == self.peer
                    && !self.session
                {
                    self.end(EndReason::Jingle(reason.unwrap_or(Reason::Decline)), out);
                }
            }
            Jmi::Retract { reason, .. } => {
                if self.direction == CallDirection::In && from.to_bare() == self.peer {
                    // Retract racing our proceed: the caller gave up; so do we.
                    self.end(EndReason::Jingle(reason.unwrap_or(Reason::Cancel)), out);
                }
            }
            Jmi::Finish { reason, .. } => {
                if from.to_bare() == self.peer && !self.session {
                    self.end(EndReason::Jingle(reason.unwrap_or(Reason::Success)), out);
                }
            }
        }
    }

    pub(super) fn on_jingle(&mut self, j: Jingle, out: &mut Vec<Output>) {
        match j.action {
            Action::SessionInitiate => {
                // After our proceed (JMI), the caller's offer arrives.
                if self.direction != CallDirection::In || self.session {
                    return; // duplicate
                }
                self.session = true;
                let offer = mapping::from_jingle(&j, self.remote_fingerprint.as_ref(), true);
                if let Ok(o) = &offer {
                    self.count_candidates(o);
                    self.remote_desc = Some(o.clone());
                    self.media = o.contents.iter().map(|c| c.kind).collect();
                }
                match offer {
                    Ok(offer) if self.accepted => {
                        self.start_media(Output::AcceptOffer(offer), out);
                    }
                    Ok(offer) => self.remote_offer = Some(offer),
                    Err(e) => {
                        tracing::info!(error = %e, "unusable session-initiate");
                        out.extend(self.terminate(Reason::FailedApplication));
                    }
                }
            }
            Action::SessionAccept => {
                if self.direction != CallDirection::Out || !self.session {
                    return;
                }
                match mapping::from_jingle(&j, self.remote_fingerprint.as_ref(), false) {
                    Ok(answer) => {
                        self.count_candidates(&answer);
                        self.remote_desc = Some(answer.clone());
                        out.push(Output::AcceptAnswer(answer));
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "unusable session-accept");
                        out.extend(self.terminate(Reason::FailedApplication));
                    }
                }
            }
            Action::TransportInfo => {
                let mut cands = Vec::new();
                let mut video_cands = Vec::new();
                // New credentials on the main transport: an ICE restart (restart.rs).
                let main = j.contents.iter().find_map(|c| {
                    let own = self.remote_desc.as_ref().is_some_and(|d| {
                        d.contents
                            .iter()
                            .any(|x| x.name == c.name && x.transport.is_some())
                    });
                    c.transport.as_ref().filter(|_| !own)
                });
                let stale = match main {
                    Some(t) => matches!(
                        self.peer_credentials(t, out),
                        restart::PeerCredentials::Stale
                    ),
                    None => false,
                };
                for c in &j.contents {
                    // Candidates of a content left out (an unbundled video content's own
                    // transport) would only make checks that cannot succeed.
                    let unused = self
                        .remote_desc
                        .as_ref()
                        .is_some_and(|d| !d.contents.iter().any(|x| x.name == c.name));
                    if unused {
                        continue;
                    }
                    let own_transport = self.remote_desc.as_ref().is_some_and(|d| {
                        d.contents
                            .iter()
                            .any(|x| x.name == c.name && x.transport.is_some())
                    });
                    if let Some(t) = &c.transport {
                        if own_transport {
                            video_cands.extend(t.candidates.iter().cloned());
                            continue;
                        }
                        if t.fingerprint.is_some() && self.remote_fingerprint.is_none() {
                            self.remote_fingerprint = t.fingerprint.clone();
                        }
                        if !stale {
                            cands.extend(t.candidates.iter().cloned());
                        }
                    }
                }
                // A candidate whose strings do not fit SDP is an attack, not a typo.
                if let Some(e) = cands
                    .iter()
                    .chain(&video_cands)
                    .find_map(|c| c.check().err())
                {
                    tracing::info!(error = %e, "refusing a transport-info");
                    out.extend(self.terminate(Reason::FailedApplication));
                    return;
                }
                // Each candidate costs connectivity checks (packets to an address the
                // peer chose): a bounded number per transport, the rest ignored.
                for (list, taken) in [
                    (&mut cands, &mut self.candidates_taken),
                    (&mut video_cands, &mut self.video_candidates_taken),
                ] {
                    let room = mapping::MAX_REMOTE_CANDIDATES.saturating_sub(*taken);
                    if list.len() > room {
                        tracing::info!(dropped = list.len() - room, "too many remote candidates");
                        list.truncate(room);
                    }
                    *taken += list.len();
                }
                if self.media_started {
                    if !cands.is_empty() {
                        out.push(Output::RemoteCandidates(cands));
                    }
                    if !video_cands.is_empty() {
                        out.push(Output::RemoteVideoCandidates(video_cands));
                    }
                } else {
                    self.remote_candidates.extend(cands);
                    self.remote_video_candidates.extend(video_cands);
                }
            }
            Action::SessionTerminate => {
                let reason = j.reason.unwrap_or(Reason::Success);
                self.end(EndReason::Jingle(reason), out);
            }
            // The peer rings (direct session-initiate).
            Action::SessionInfo
                if j.info == Some(Info::Ringing)
                    && self.direction == CallDirection::Out
                    && self.state != CallState::Active =>
            {
                self.set_state(CallState::Ringing, out);
            }
            // Mute and hold are the peer's news for the user; the media goes on as the
            // peer decides (a held peer sends silence or nothing).
            Action::SessionInfo => {
                if let Some(info @ (Info::Mute(_) | Info::Unmute(_) | Info::Hold | Info::Unhold)) =
                    j.info
                {
                    out.push(Output::PeerInfo(info));
                }
            }
            Action::ContentAdd => self.on_content_add(j, out),
            Action::ContentModify => self.on_content_modify(j, out),
            Action::ContentAccept if !self.adding.is_empty() => {
                let merged = self
                    .remote_desc
                    .as_ref()
                    .map(|base| mapping::with_added(base, &j, !self.we_initiated()));
                match merged {
                    Some(Ok(answer)) => {
                        self.adding.clear();
                        self.remote_desc = Some(answer.clone());
                        out.push(Output::AcceptAnswer(answer));
                        if !self.media.contains(&MediaKind::Video) {
                            self.media.push(MediaKind::Video);
                        }
                        out.push(Output::MediaChanged);
                    }
                    _ => {
                        tracing::info!("unusable content-accept");
                        self.video_refused(out);
                    }
                }
            }
            Action::ContentReject | Action::ContentRemove if !self.adding.is_empty() => {
                self.video_refused(out);
            }
            // The peer takes back video it had (Conversations ends the call instead; we
            // keep it as an audio call).
            Action::ContentRemove => {
                let names: Vec<&str> = j.contents.iter().map(|c| c.name.as_str()).collect();
                // Taken back before we accepted it: no content-accept will follow.
                if self
                    .peer_adding
                    .as_ref()
                    .is_some_and(|(_, adding)| adding.iter().any(|n| names.contains(&n.as_str())))
                {
                    self.peer_adding = None;
                }
                let removes_video =
                    !names.is_empty() && names.iter().all(|n| self.is_video_content(n));
                if removes_video {
                    if let Some(d) = self.remote_desc.as_mut() {
                        d.contents.retain(|c| !names.contains(&c.name.as_str()));
                        d.bundle.retain(|b| !names.contains(&b.as_str()));
                    }
                    // Gone with it: its own transport, and its name (free to be added again).
                    self.local_names.retain(|n| !names.contains(&n.as_str()));
                    if self
                        .video_transport
                        .as_ref()
                        .is_some_and(|(_, n)| names.contains(&n.as_str()))
                    {
                        self.video_transport = None;
                        self.local_video_candidates.clear();
                    }
                    self.media.retain(|m| *m != MediaKind::Video);
                    self.video_on = false;
                    out.push(Output::VideoRemoved);
                    out.push(Output::MediaChanged);
                }
            }
            // Other content changes and transport replacement: nothing to do for an
            // audio-only call.
            _ => {}
        }
    }
}
