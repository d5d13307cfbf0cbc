//! One webrtc-rs connection (ICE, DTLS-SRTP) and how it is built: our codecs,
//! feedback, ICE servers (with TURN over TCP bridged) and the addresses to bind.

use super::*;

pub(super) enum Internal {
    Candidate(RTCPeerConnectionIceEvent),
    State(RTCPeerConnectionState),
    Ice(RTCIceConnectionState),
    Track(Arc<dyn TrackRemote>),
}

pub(super) struct Handler {
    pub(super) tx: mpsc::UnboundedSender<Internal>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let _ = self.tx.send(Internal::Candidate(event));
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.tx.send(Internal::State(state));
    }
    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        let _ = self.tx.send(Internal::Ice(state));
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tx.send(Internal::Track(track));
    }
}

/// Which of a session's connections: the main one (audio, and everything when
/// bundled) or the video's own (for a peer that does not bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Main,
    Video,
}

/// One webrtc-rs connection, i.e. one ICE/DTLS transport.
pub(super) struct Link {
    pub(super) pc: Arc<dyn PeerConnection>,
    pub(super) remote_set: Mutex<bool>,
    /// Remote candidates that came before the remote description.
    pub(super) pending: Mutex<Vec<Candidate>>,
    /// Our offer waits for the peer's answer.
    pub(super) offering: AtomicBool,
    /// The last negotiation was the peer's offer and our answer.
    pub(super) answerer: AtomicBool,
    /// The peer's part of the description last applied (without candidates): a
    /// re-offer that leaves it as it was (video added on the other connection) is not
    /// applied again.
    /// Shared with the connection's event task, which checks the peer's DTLS
    /// certificate against its fingerprint.
    pub(super) remote: Arc<Mutex<Option<SessionDescription>>>,
    /// Our content's name where the signaled one differs from the SDP mid webrtc-rs
    /// chose: (mid, name). A second connection's first mid is "0" like the first's.
    pub(super) rename: Mutex<Option<(String, String)>>,
}

impl Link {
    pub(super) fn new(
        pc: Arc<dyn PeerConnection>,
        remote: Arc<Mutex<Option<SessionDescription>>>,
    ) -> Link {
        Link {
            pc,
            remote_set: Mutex::new(false),
            pending: Mutex::new(Vec::new()),
            offering: AtomicBool::new(false),
            answerer: AtomicBool::new(false),
            remote,
            rename: Mutex::new(None),
        }
    }

    pub(super) fn rename(&self, d: &mut SessionDescription, to_signaled: bool) {
        let Some((mid, name)) = self.rename.lock().ok().and_then(|r| r.clone()) else {
            return;
        };
        let (from, to) = if to_signaled {
            (mid, name)
        } else {
            (name, mid)
        };
        for c in d.contents.iter_mut().filter(|c| c.name == from) {
            c.name = to.clone();
        }
        for b in d.bundle.iter_mut().filter(|b| **b == from) {
            *b = to.clone();
        }
    }

    pub(super) async fn local(&self) -> Result<SessionDescription, MediaError> {
        let local = self
            .pc
            .local_description()
            .await
            .ok_or_else(|| MediaError::Transport("no local description".into()))?;
        let mut d = SessionDescription::from_sdp(&local.sdp)?;
        // Candidates are signaled one by one (trickle), after the user accepted.
        d.candidates.clear();
        self.rename(&mut d, true);
        Ok(d)
    }

    /// Creates our offer (DTLS `actpass`); candidates follow as events.
    pub(super) async fn offer(&self) -> Result<SessionDescription, MediaError> {
        let offer = self.pc.create_offer(None).await.map_err(transport_err)?;
        self.pc
            .set_local_description(offer)
            .await
            .map_err(transport_err)?;
        self.offering.store(true, Ordering::Release);
        self.answerer.store(false, Ordering::Release);
        self.local().await
    }

    /// Takes the peer's offer (its part for this connection) and returns our answer.
    pub(super) async fn answer(
        &self,
        remote: &SessionDescription,
        allowed: impl Fn(&Candidate) -> bool,
    ) -> Result<SessionDescription, MediaError> {
        self.set_remote(remote, true, allowed).await?;
        let answer = self.pc.create_answer(None).await.map_err(transport_err)?;
        self.pc
            .set_local_description(answer)
            .await
            .map_err(transport_err)?;
        self.answerer.store(true, Ordering::Release);
        self.local().await
    }

    /// Whether `remote` is what this connection has already applied.
    pub(super) fn unchanged(&self, remote: &SessionDescription) -> bool {
        let mut r = remote.clone();
        r.candidates.clear();
        self.remote
            .lock()
            .is_ok_and(|last| last.as_ref() == Some(&r))
    }

    /// Applies the peer's description (offer or answer), with candidates outside the
    /// allowed ranges left out, then the candidates that arrived before it.
    pub(super) async fn set_remote(
        &self,
        remote: &SessionDescription,
        offer: bool,
        allowed: impl Fn(&Candidate) -> bool,
    ) -> Result<(), MediaError> {
        let mut r = remote.clone();
        r.candidates.retain(|c| allowed(c));
        r.without_unusable_red();
        self.rename(&mut r, false);
        let sdp = r.to_sdp();
        let desc = if offer {
            RTCSessionDescription::offer(sdp)
        } else {
            RTCSessionDescription::answer(sdp)
        };
        let bad = |e: &dyn std::fmt::Display| MediaError::Description(e.to_string());
        let desc = desc.map_err(|e| bad(&e))?;
        self.pc
            .set_remote_description(desc)
            .await
            .map_err(|e| bad(&e))?;
        if let Ok(mut last) = self.remote.lock() {
            let mut r = remote.clone();
            r.candidates.clear();
            *last = Some(r);
        }
        let pending = {
            let mut set = self.remote_set.lock().unwrap_or_else(|e| e.into_inner());
            *set = true;
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
        };
        for c in pending {
            self.add_now(c).await;
        }
        Ok(())
    }

    /// A remote candidate: applied now, or kept until the remote description is set.
    pub(super) async fn add_candidate(&self, c: Candidate) {
        {
            let set = self.remote_set.lock().unwrap_or_else(|e| e.into_inner());
            if !*set {
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(c);
                return;
            }
        }
        self.add_now(c).await;
    }

    pub(super) async fn add_now(&self, c: Candidate) {
        let init = webrtc::peer_connection::RTCIceCandidateInit {
            candidate: c.to_sdp(),
            sdp_mid: Some(String::new()),
            sdp_mline_index: Some(0),
            username_fragment: None,
            url: None,
        };
        if let Err(e) = self.pc.add_ice_candidate(init).await {
            tracing::info!(error = %e, "remote candidate refused");
        }
    }

    /// Takes back our pending offer.
    pub(super) async fn rollback(&self) {
        self.offering.store(false, Ordering::Release);
        match RTCSessionDescription::rollback(None) {
            Ok(rollback) => {
                if let Err(e) = self.pc.set_local_description(rollback).await {
                    tracing::info!(error = %e, "offer not rolled back");
                }
            }
            Err(e) => tracing::info!(error = %e, "offer not rolled back"),
        }
    }
}

/// The servers as webrtc-rs takes them, with each `turn:…?transport=tcp` URL (which
/// webrtc-rs would skip) replaced by a local [`TcpTurnBridge`] to that server.
pub(super) async fn bridge_tcp_turn(
    servers: &[IceServer],
    tls: Option<&Arc<rustls::ClientConfig>>,
    events: &mpsc::UnboundedSender<MediaEvent>,
) -> (Vec<RTCIceServer>, Vec<TcpTurnBridge>) {
    let mut bridges = Vec::new();
    let mut out = Vec::new();
    for s in servers {
        let mut urls = Vec::new();
        for url in &s.urls {
            let Some((target, secure)) = tcp_turn_target(url) else {
                urls.push(url.clone());
                continue;
            };
            let tls = match (secure, tls) {
                (false, _) => None,
                (true, None) => {
                    tracing::warn!("{url}: no TLS configuration for TURN over TLS; skipped");
                    continue;
                }
                (true, Some(config)) => {
                    let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    match rustls::pki_types::ServerName::try_from(host.to_string()) {
                        Ok(name) => Some(crate::turn_tcp::TurnTls {
                            config: config.clone(),
                            name,
                            refused: Some(events.clone()),
                        }),
                        Err(e) => {
                            tracing::warn!("{url}: {e}; skipped");
                            continue;
                        }
                    }
                }
            };
            let addr = match tokio::net::lookup_host(target).await {
                Ok(mut addrs) => addrs.find(|a| a.is_ipv4()),
                Err(e) => {
                    tracing::warn!("TURN server {target}: {e}");
                    None
                }
            };
            let Some(addr) = addr else { continue };
            match TcpTurnBridge::start(addr, tls).await {
                Ok(b) => {
                    urls.push(format!("turn:{}?transport=udp", b.local));
                    bridges.push(b);
                }
                Err(e) => tracing::warn!("{e}"),
            }
        }
        if !urls.is_empty() {
            out.push(RTCIceServer {
                urls,
                username: s.username.clone(),
                credential: s.credential.clone(),
            });
        }
    }
    (out, bridges)
}

/// `host:port` of a TURN URL webrtc-rs cannot use itself, and whether it is TLS:
/// `turn:…?transport=tcp` and `turns:…` (RFC 7065; TCP whatever the query says).
fn tcp_turn_target(url: &str) -> Option<(&str, bool)> {
    if let Some(rest) = url.strip_prefix("turns:") {
        return Some((rest.split('?').next().unwrap_or(rest), true));
    }
    let target = url.strip_prefix("turn:")?.strip_suffix("?transport=tcp")?;
    Some((target, false))
}

/// The local addresses to bind. webrtc-rs has no address filter: the bound sockets
/// decide which host candidates exist. Without an allow-list, the wildcard (webrtc-rs
/// binds each interface's address but loopback's and link-local ones); with one, each
/// local IPv4 address inside it (loopback included).
pub(super) fn bind_addrs(allow: &[Cidr]) -> Vec<String> {
    if allow.is_empty() {
        return vec!["0.0.0.0:0".to_string()];
    }
    let mut addrs: Vec<String> = host_addresses(allow)
        .iter()
        .map(|ip| format!("{ip}:0"))
        .collect();
    if addrs.is_empty() {
        // No interface in the allowed ranges: a loopback socket (which can only reach
        // this machine, or a TURN server on it) rather than none, which would fail.
        addrs.push("127.0.0.1:0".to_string());
    }
    addrs
}

/// This machine's addresses a call binds now: the allowed ones, or without an
/// allow-list every IPv4 address but loopback and link-local ones. When this set
/// changes (a laptop moved from Wi-Fi to Ethernet), calls restart ICE.
pub fn host_addresses(allow: &[Cidr]) -> Vec<std::net::IpAddr> {
    let mut ips: Vec<std::net::IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .iter()
        .map(|i| i.ip())
        .filter(|ip| match ip {
            std::net::IpAddr::V4(v4) if allow.is_empty() => {
                !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified()
            }
            std::net::IpAddr::V4(_) => allow.iter().any(|c| c.contains(*ip)),
            std::net::IpAddr::V6(_) => false,
        })
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// The addresses to bind, worked out again each time webrtc-rs binds: at the start,
/// and on every ICE restart (it rebinds then, `discard_local_candidates_during_ice_
/// restart`), by which time the machine's addresses may have changed.
pub(super) struct BindAddrs(pub(super) Vec<Cidr>);

impl std::net::ToSocketAddrs for BindAddrs {
    type Iter = std::vec::IntoIter<std::net::SocketAddr>;

    fn to_socket_addrs(&self) -> std::io::Result<Self::Iter> {
        let addrs: Vec<std::net::SocketAddr> = bind_addrs(&self.0)
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        tracing::debug!(?addrs, "binding");
        Ok(addrs.into_iter())
    }
}

/// RED's media type (webrtc-rs names Opus and VP8 but not this one).
pub(super) const MIME_TYPE_RED: &str = "audio/red";

pub(super) fn transport_err(e: impl std::fmt::Display) -> MediaError {
    MediaError::Transport(e.to_string())
}

/// A webrtc-rs connection with our codecs, feedback and ICE settings. `quiet`: its
/// bandwidth estimate is not the video's (see `ReportingEstimator`).
pub(super) async fn connection(
    config: &MediaConfig,
    ice_servers: Vec<RTCIceServer>,
    feedback: &Arc<VideoFeedback>,
    quiet: Arc<AtomicBool>,
    events: mpsc::UnboundedSender<Internal>,
    role: Role,
) -> Result<Arc<dyn PeerConnection>, MediaError> {
    let mut me = MediaEngine::default();
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )
    .map_err(transport_err)?;
    // Redundant Opus (RFC 2198) as Chromium registers it. In our offer only for a peer
    // known to take it (`MediaConfig::red`); answered wherever an offer has it.
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_RED.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "111/111".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: crate::audio::red::PAYLOAD_TYPE,
        },
        RtpCodecKind::Audio,
    )
    .map_err(transport_err)?;
    // VP8 with the feedback Conversations and Dino both speak, then VP9 (profile 0)
    // for a shared screen where the peer has it; registered before the default
    // interceptors, which add their feedback only to codecs already there. VP8 first:
    // what a peer sends us, the camera, stays VP8, the cheaper one to decode.
    for (codec, payload_type) in VIDEO_PTS {
        me.register_codec(
            RTCRtpCodecParameters {
                rtp_codec: video_codec(codec),
                payload_type,
            },
            RtpCodecKind::Video,
        )
        .map_err(transport_err)?;
    }
    // The defaults answer transport-cc (they send the peer feedback about what
    // arrives). Send-side estimation on the peer's feedback is added here: the
    // transport-wide sequence numbers and GCC, without webrtc-rs' pacer (it would
    // queue audio behind video frames).
    let registry = register_default_interceptors(Registry::new(), &mut me)
        .map_err(transport_err)?
        .with(
            rtc::interceptor::Slot::CongestionControl,
            rtc::interceptor::CongestionControlBuilder::new(crate::rtcp::ReportingEstimator::new(
                feedback.clone(),
                quiet,
            ))
            .build(),
        )
        .with(
            rtc::interceptor::Slot::TwccSender,
            rtc::interceptor::TwccSenderBuilder::new().build(),
        )
        .with(
            rtc::interceptor::Slot::from(14_000),
            crate::rtcp::DeliverRtcp::new(feedback.clone()),
        );
    let mut rtc_config = RTCConfigurationBuilder::new().with_ice_servers(ice_servers);
    if config.relay_only {
        rtc_config = rtc_config.with_ice_transport_policy(RTCIceTransportPolicy::Relay);
    }
    let mut setting = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_ice_timeouts(
            Some(Duration::from_secs(5)),
            Some(Duration::from_secs(15)),
            Some(Duration::from_secs(1)),
        )
        // Checks every 50 ms instead of 200 ms while connecting (call setup time),
        // each pair for ~10 s: after an ICE restart during an outage, the checks must
        // still be going when the path comes back (the signaling side restarts again
        // every 8 s, jingle/session/restart.rs).
        .with_ice_connection_attempts(Some(Duration::from_millis(50)), Some(200))
        // A peer-reflexive candidate is nearly always the peer's host candidate
        // whose transport-info lost the race with its first check (browsers check
        // at once): waiting the default second for "something better" only
        // delays the call.
        .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
        // The main connection's peer certificate is checked against its signaled
        // fingerprint in `drive`, once the handshake is done: webrtc-rs' own check, on
        // a mismatch, only logs it and leaves the connection "connecting", just as a
        // handshake slowed by lost packets does, so an attack could not be told from a
        // bad network (issue #19: 2 of 6 calls at 20 % loss were called attacks). The
        // video's own connection (a peer that does not bundle) keeps webrtc-rs' check:
        // receiving only, it has no DTLS transport we can read the certificate from,
        // and failing there costs the video, not the call.
        .with_disable_certificate_fingerprint_verification(role == Role::Main)
        // An ICE restart binds new sockets on the addresses the machine has then and
        // gathers anew (BindAddrs): after a change of network the old ones are gone.
        .with_discard_local_candidates_during_ice_restart(true);
    if config.relay_only {
        // Nothing better than a relay will come: no need to wait for one.
        setting = setting.with_relay_acceptance_min_wait(Some(Duration::ZERO));
    }
    let setting = setting.build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(rtc_config.build())
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .with_setting_engine(setting)
        .with_handler(Arc::new(Handler { tx: events }))
        .with_udp_addrs(vec![BindAddrs(config.allow.clone())])
        .build()
        .await
        .map_err(transport_err)?;
    Ok(Arc::new(pc))
}
