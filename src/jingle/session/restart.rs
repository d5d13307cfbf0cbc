//! ICE restart over Jingle (XEP-0176 transport-info with new `ufrag`/`pwd`), on the
//! wire as Conversations does it:
//! - the restarting side sends a transport-info naming every bundled content, its
//!   transport holding only the new credentials (no candidate, no fingerprint): that
//!   is the offer; its candidates follow in transport-infos of their own;
//! - the other side answers with its own new credentials on the transport-info of its
//!   first new candidate (new credentials *with* candidates are an answer);
//! - both at once: the initiator's restart wins, the responder takes it and drops its
//!   own;
//! - StanzaJS (browser clients) answers with its credentials alone, but names its
//!   DTLS role in a fingerprint (`actpass` only in an offer), which tells them apart.
//!
//! When: the media engine says the path is lost (ICE disconnected or failed after
//! media flowed). ICE itself gets a moment to find the path again (a blip), then the
//! initiator restarts, the responder a little later (so that both rarely restart at
//! once); a restart not connected after `RESTART_RETRY` is followed by another, since
//! its connectivity checks stop after about 10 s (link.rs); after `PATH_GIVE_UP`
//! without a path the call ends as a connectivity error.

use banter_media::session::IceCredentials;

use super::*;

/// How long the path may be lost before the initiator restarts ICE.
const RESTART_AFTER_INITIATOR: Duration = Duration::from_secs(2);
/// The same for the responder: later, so that the initiator's restart comes first.
const RESTART_AFTER_RESPONDER: Duration = Duration::from_secs(4);
/// A restart that has not found a path by then is followed by another.
const RESTART_RETRY: Duration = Duration::from_secs(8);
/// A call without a path for this long ends.
pub const PATH_GIVE_UP: Duration = Duration::from_secs(120);
/// Restarts in a row the peer did not acknowledge, our stream up, after which it is
/// taken to be gone: about 45 s, since a peer whose whole network is down (its
/// stream too) answers none either, and should find the call again within that.
const UNANSWERED_GIVE_UP: u32 = 5;

/// Where the call is in restarting ICE.
#[derive(Debug, Clone, Default)]
pub(super) struct Restart {
    /// The media engine lost the path, which has not come back yet.
    lost: bool,
    /// Time the path has been lost, counted in the timers set since.
    waited: Duration,
    /// What the engine is making, in order: our restart (`true`) or our answer to
    /// the peer's. Our candidates wait for it; only the last one made is signaled
    /// (the peer's restart that came while ours was being made replaced it).
    making: Vec<bool>,
    /// Our restart is signaled; the peer's credentials have not come yet.
    offered: bool,
    /// Our credentials since the first restart: every candidate carries them, so the
    /// peer can tell the generations apart (and take the first as our answer).
    pub(super) local: Option<IceCredentials>,
    /// Our candidates made while `making`.
    held: Vec<Candidate>,
    /// The peer's earlier credentials: candidates still carrying them are stale.
    old_remote: Vec<String>,
    /// Our restarts the peer has not acknowledged (no IQ result, no Jingle from it)
    /// while our own stream was up: a peer that vanished (its client killed, its
    /// server keeping the session for resumption) answers none.
    unanswered: u32,
    /// Our XMPP stream is down: restarts not answered then say nothing of the peer.
    offline: bool,
    /// Restarts so far, ours and the peer's.
    pub(super) count: u32,
}

/// What a transport-info's credentials say.
pub(super) enum PeerCredentials {
    /// The ones known (or none): candidates of the current generation.
    Current,
    /// A restart (the peer's offer or its answer to ours): its candidates follow it.
    Restart,
    /// Another generation's (an old one, or the responder's offer that lost to ours):
    /// the stanza's candidates are dropped.
    Stale,
}

impl Call {
    /// Restarts (ours and the peer's) since the call began.
    pub fn ice_restarts(&self) -> u32 {
        self.restart.count
    }

    /// The media engine lost the path.
    pub(super) fn path_lost(&mut self, out: &mut Vec<Output>) {
        if self.state != CallState::Active || self.restart.lost {
            return;
        }
        if self.news.peer_away {
            // Its device went offline before: nobody to restart ICE with.
            self.end(EndReason::Jingle(Reason::Gone), out);
            return;
        }
        self.restart.lost = true;
        let wait = if self.we_initiated() {
            RESTART_AFTER_INITIATOR
        } else {
            RESTART_AFTER_RESPONDER
        };
        self.restart.waited = wait;
        out.push(Output::Path { lost: true });
        out.push(Output::SetTimer(wait));
    }

    pub(super) fn path_lost_now(&self) -> bool {
        self.restart.lost
    }

    /// Media flows again (after a blip or a restart).
    pub(super) fn path_back(&mut self, out: &mut Vec<Output>) {
        if std::mem::take(&mut self.restart.lost) {
            self.restart.waited = Duration::ZERO;
            out.push(Output::Path { lost: false });
        }
    }

    /// The timer of a lost path: restart (again), or give up.
    pub(super) fn path_timeout(&mut self, out: &mut Vec<Output>) {
        if !self.restart.lost {
            return;
        }
        if self.restart.waited >= PATH_GIVE_UP {
            tracing::info!(
                restarts = self.restart.count,
                "no path to the peer: giving up"
            );
            out.extend(self.terminate(Reason::ConnectivityError));
            return;
        }
        if self.restart.unanswered >= UNANSWERED_GIVE_UP {
            tracing::info!("the peer acknowledged none of our restarts: it is gone");
            out.extend(self.terminate(Reason::Gone));
            return;
        }
        self.restart_ice(out);
        self.restart.waited += RESTART_RETRY;
        out.push(Output::SetTimer(RESTART_RETRY));
    }

    /// This machine's addresses changed (a new network): restart at once, without
    /// the wait of a lost path, since ICE cannot find a path from an address it has
    /// no socket on. Should the restart not get through (our stream reconnecting), the
    /// engine reports the path lost within seconds and the retries take over.
    pub(super) fn addresses_changed(&mut self, out: &mut Vec<Output>) {
        if self.state != CallState::Active {
            return;
        }
        tracing::info!("this machine's addresses changed: restarting ICE");
        self.restart_ice(out);
    }

    fn restart_ice(&mut self, out: &mut Vec<Output>) {
        if !self.restart.making.is_empty() || self.peer_full.is_none() {
            return;
        }
        self.restart.making.push(true);
        self.restart.offered = false;
        self.restart.count += 1;
        out.push(Output::RestartIce);
    }

    /// The engine made our new credentials: our restart (`offer`) goes out, or they
    /// answer the peer's with our first new candidate.
    pub(super) fn local_restart(
        &mut self,
        ours: IceCredentials,
        offer: bool,
        out: &mut Vec<Output>,
    ) {
        if self.restart.making.is_empty() {
            return;
        }
        self.restart.making.remove(0);
        if !self.restart.making.is_empty() {
            // Replaced by what the engine makes next.
            return;
        }
        self.restart.local = Some(ours.clone());
        if offer {
            self.restart.offered = true;
            if !self.restart.offline {
                self.restart.unanswered += 1;
            }
            if let Some(to) = self.peer_full.clone() {
                let mut j = Jingle::new(Action::TransportInfo, &self.id);
                for name in self.bundled_names() {
                    j.contents.push(Content {
                        transport: Some(Transport {
                            ufrag: Some(ours.ufrag.clone()),
                            pwd: Some(ours.pwd.clone()),
                            fingerprint: None,
                            candidates: Vec::new(),
                        }),
                        ..Content::named("initiator", &name, "both")
                    });
                }
                out.push(Output::Jingle { to, jingle: j });
            }
        }
        let held = std::mem::take(&mut self.restart.held);
        tracing::info!(
            offer,
            candidates = held.len(),
            restarts = self.restart.count,
            "our new ICE credentials"
        );
        self.send_candidates(held, out);
    }

    /// Our candidate: held while our new credentials are being made.
    pub(super) fn hold_candidate(&mut self, c: Candidate) -> Option<Candidate> {
        if !self.restart.making.is_empty() {
            self.restart.held.push(c);
            return None;
        }
        Some(c)
    }

    /// Names of the contents sharing the main transport (all, when bundled).
    fn bundled_names(&self) -> Vec<String> {
        let own = self.video_transport.as_ref().map(|(_, n)| n.as_str());
        let mut names: Vec<String> = self
            .local_names
            .iter()
            .filter(|n| Some(n.as_str()) != own)
            .cloned()
            .collect();
        if names.is_empty() {
            names.extend(self.content_name.clone());
        }
        names
    }

    /// Reads the credentials of a transport-info's main transport against the ones
    /// agreed; on a restart, tells the engine (before the candidates that follow).
    pub(super) fn peer_credentials(
        &mut self,
        t: &Transport,
        out: &mut Vec<Output>,
    ) -> PeerCredentials {
        let (Some(ufrag), Some(pwd)) = (&t.ufrag, &t.pwd) else {
            return PeerCredentials::Current;
        };
        let Some(remote) = self.remote_desc.as_mut() else {
            return PeerCredentials::Current;
        };
        if remote.ice_ufrag == *ufrag && remote.ice_pwd == *pwd {
            return PeerCredentials::Current;
        }
        if !self.media_started || self.restart.old_remote.contains(ufrag) {
            return PeerCredentials::Stale;
        }
        // Offer or answer? StanzaJS sends the fingerprint with its DTLS setup: an
        // offer says `actpass`, an answer its role. Conversations sends none: new
        // credentials without a candidate are its restart, with candidates its
        // answer to ours. An "answer" while we restart nothing is a restart.
        let offer = match &t.fingerprint {
            Some((_, Setup::ActPass)) => true,
            Some(_) => !self.restart.offered,
            None => t.candidates.is_empty() || !self.restart.offered,
        };
        if offer && self.restart.offered && self.direction == CallDirection::Out {
            tracing::info!("both restarted ICE: ours (the initiator's) goes on");
            return PeerCredentials::Stale;
        }
        let mut next = remote.clone();
        next.ice_ufrag = ufrag.clone();
        next.ice_pwd = pwd.clone();
        // Strings that do not fit SDP are an attack, not a restart.
        if next.check().is_err() {
            return PeerCredentials::Stale;
        }
        let old = std::mem::replace(remote, next).ice_ufrag;
        if self.restart.old_remote.len() >= 8 {
            self.restart.old_remote.remove(0);
        }
        self.restart.old_remote.push(old);
        self.candidates_taken = 0;
        self.restart.offered = false;
        if offer {
            self.restart.count += 1;
            self.restart.making.push(false);
            if self.restart.lost {
                // The peer's restart is the one to wait for now: ours only if it
                // finds nothing either, and the responder's after the initiator's
                // next one (so that they do not cross).
                let wait = if self.we_initiated() {
                    RESTART_RETRY
                } else {
                    RESTART_RETRY + RESTART_AFTER_RESPONDER - RESTART_AFTER_INITIATOR
                };
                self.restart.waited += wait;
                out.push(Output::SetTimer(wait));
            }
        }
        tracing::info!(
            offer,
            candidates = t.candidates.len(),
            "the peer's new ICE credentials"
        );
        out.push(Output::PeerRestarted {
            peer: IceCredentials {
                ufrag: ufrag.clone(),
                pwd: pwd.clone(),
            },
            offer,
        });
        PeerCredentials::Restart
    }

    /// The peer refused a transport-info: if it was our restart, the peer's own
    /// restart wins (Conversations answers a tie-break); ours waits for the timer.
    pub(super) fn restart_refused(&mut self) {
        self.restart.offered = false;
        self.restart.unanswered = 0;
    }

    /// The peer answered something of ours, or sent us Jingle: it is there.
    pub(super) fn peer_alive(&mut self) {
        self.restart.unanswered = 0;
    }

    /// Our XMPP stream went down or came back.
    pub(super) fn signaling(&mut self, up: bool) {
        self.restart.offline = !up;
        if up {
            // What went unanswered meanwhile may never have left.
            self.restart.unanswered = 0;
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
