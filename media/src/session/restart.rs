//! ICE restart (RFC 8445 §9, JSEP §5.2.1): new ICE credentials on the same connection,
//! so the path is found again after the network changed or went away, while DTLS and
//! SRTP go on (no new handshake, nothing renegotiated but ICE).
//!
//! Only the main connection restarts: the video's own connection (a peer that does
//! not bundle) is left as it is; its video may stop, the call does not.

use std::sync::atomic::Ordering;

use super::link::transport_err;
use super::MediaSession;
use crate::description::{SessionDescription, Setup};
use crate::error::MediaError;

/// One side's ICE credentials: what a restart changes, and all it signals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCredentials {
    pub ufrag: String,
    pub pwd: String,
}

impl IceCredentials {
    fn of(d: &SessionDescription) -> IceCredentials {
        IceCredentials {
            ufrag: d.ice_ufrag.clone(),
            pwd: d.ice_pwd.clone(),
        }
    }
}

impl MediaSession {
    /// The peer's DTLS role since the handshake: what it said, or, where it offered
    /// (`actpass`), the opposite of ours.
    async fn peer_dtls_role(&self, remote: &SessionDescription) -> Setup {
        if remote.setup != Setup::ActPass {
            return remote.setup;
        }
        match self.main.local().await.map(|d| d.setup) {
            Ok(Setup::Passive) => Setup::Active,
            _ => Setup::Passive,
        }
    }

    /// Our current ICE credentials (main connection).
    pub async fn ice_credentials(&self) -> Result<IceCredentials, MediaError> {
        Ok(IceCredentials::of(&self.main.local().await?))
    }

    /// Restarts ICE from our side: a new offer whose only change is our credentials,
    /// applied locally. webrtc-rs then binds new sockets on the addresses the machine
    /// has now and gathers anew (link.rs: the network may have changed). Returns them for the peer; candidates of the new generation
    /// follow as `LocalCandidate` events. The peer's answer comes to
    /// [`peer_restarted`](Self::peer_restarted) with `offer: false`.
    pub async fn restart_ice(&self) -> Result<IceCredentials, MediaError> {
        let pc = &self.main.pc;
        if self.main.offering.load(Ordering::Acquire) {
            // An offer of ours is already waiting (a restart not yet answered, or
            // video being added): take it back, the restart replaces it.
            self.main.rollback().await;
        }
        pc.restart_ice().await.map_err(transport_err)?;
        let offer = pc.create_offer(None).await.map_err(transport_err)?;
        pc.set_local_description(offer)
            .await
            .map_err(transport_err)?;
        self.main.offering.store(true, Ordering::Release);
        self.ice_credentials().await
    }

    /// The peer's new credentials. `offer`: the peer restarted; they are applied as
    /// its offer and our new credentials (our answer) are returned. Otherwise they
    /// answer our restart and nothing is returned. Everything but the credentials is
    /// the description last agreed.
    pub async fn peer_restarted(
        &self,
        peer: IceCredentials,
        offer: bool,
    ) -> Result<Option<IceCredentials>, MediaError> {
        let Some(mut remote) = self.main.remote.lock().ok().and_then(|r| r.clone()) else {
            return Err(MediaError::Description(
                "an ICE restart before the call's description".into(),
            ));
        };
        if offer && self.main.offering.load(Ordering::Acquire) {
            // Both restarted at once and ours gave way (the signaling side decides).
            self.main.rollback().await;
        }
        if !offer && !self.main.offering.swap(false, Ordering::AcqRel) {
            return Err(MediaError::Description(
                "new ICE credentials answering no restart of ours".into(),
            ));
        }
        let role = self.peer_dtls_role(&remote).await;
        remote.ice_ufrag = peer.ufrag;
        remote.ice_pwd = peer.pwd;
        // The DTLS roles stay as they are (no new handshake): a re-offer says
        // `actpass`, an answer the role its side has had since the handshake.
        remote.setup = if offer { Setup::ActPass } else { role };
        let ok = |c: &crate::description::Candidate| self.candidate_ok(c);
        self.main.set_remote(&remote, offer, ok).await?;
        // Remembered with the role, not `actpass`: the next restart needs it.
        if let Ok(mut last) = self.main.remote.lock() {
            if let Some(last) = last.as_mut() {
                last.setup = role;
            }
        }
        if !offer {
            return Ok(None);
        }
        let pc = &self.main.pc;
        let answer = pc.create_answer(None).await.map_err(transport_err)?;
        pc.set_local_description(answer)
            .await
            .map_err(transport_err)?;
        Ok(Some(self.ice_credentials().await?))
    }
}
