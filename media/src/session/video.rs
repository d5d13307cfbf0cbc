//! The call's video in the session: its own connection when the peer does not
//! bundle, the camera on and off, video added and removed mid-call, the source
//! switched, the track started.

use super::*;

impl MediaSession {
    /// Whether the video has a connection of its own (the peer does not bundle).
    pub fn video_unbundled(&self) -> bool {
        self.separate.load(Ordering::Acquire)
    }

    /// The video's own connection, made now if there is none yet.
    pub(super) async fn video_link(&self) -> Result<Arc<Link>, MediaError> {
        if let Some(l) = self.current_video_link() {
            return Ok(l);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let pc = connection(
            &self.config,
            self.ice_servers.clone(),
            &self.feedback,
            Arc::new(AtomicBool::new(false)),
            tx,
            Role::Video,
        )
        .await?;
        let remote: Arc<Mutex<Option<SessionDescription>>> = Default::default();
        let link = Arc::new(Link::new(pc.clone(), remote.clone()));
        // Video waits for its own connection (the main one may be up already).
        self.video.connected.store(false, Ordering::Release);
        let task = spawn_guarded(
            "video transport",
            self.events.clone(),
            drive(
                rx,
                pc,
                remote,
                Role::Video,
                self.config.clone(),
                self.shared.clone(),
                self.receivers.clone(),
                self.events.clone(),
                self.audio_ssrc,
            ),
        );
        self.running().tasks.push(task);
        let early = std::mem::take(&mut self.video_parts().early_candidates);
        for c in early {
            link.add_candidate(c).await;
        }
        self.video_parts().link = Some(link.clone());
        Ok(link)
    }

    pub(super) fn current_video_link(&self) -> Option<Arc<Link>> {
        self.video_parts().link.clone()
    }

    /// The connection that carries the video when it is not the main one.
    pub(super) fn separate_video_link(&self) -> Option<Arc<Link>> {
        self.current_video_link().filter(|_| self.video_unbundled())
    }

    /// Adds the video call's camera track, once it is known where it goes.
    pub(super) async fn start_initial_video(&self) -> Result<(), MediaError> {
        let source = self.video_parts().initial.take();
        match source {
            Some(source) => self.start_video_track(source).await,
            None => Ok(()),
        }
    }

    /// Camera off: black pictures are sent instead, five a second (the stream and the
    /// peer's decoder stay alive, as libwebrtc does it). On: the configured source,
    /// opened now if it was not yet (a camera is only opened when the user wants it).
    pub fn set_camera(&self, on: bool) -> Result<(), MediaError> {
        if on && !self.video.source_open.load(Ordering::Relaxed) {
            let source = self.open_video()?;
            self.switch_to(source);
            self.video.source_open.store(true, Ordering::Relaxed);
        }
        self.video.camera_off.store(!on, Ordering::Relaxed);
        Ok(())
    }

    /// Whether this session sends video.
    pub fn sends_video(&self) -> bool {
        self.video.sending.load(Ordering::Relaxed) || self.video_parts().initial.is_some()
    }

    /// Starts sending video during a call (Jingle content-add): opens the configured
    /// source, adds the track, and returns the new offer, whose video content is the
    /// one to add. A camera that cannot be opened is an error and changes nothing.
    pub async fn add_video(&self) -> Result<SessionDescription, MediaError> {
        let source = self.open_video()?;
        self.start_video_track(source).await?;
        self.video.source_open.store(true, Ordering::Relaxed);
        self.video.camera_off.store(false, Ordering::Relaxed);
        self.create_offer().await
    }

    /// The peer removed the video (Jingle content-remove): the camera is off, and a
    /// video on a connection of its own loses that connection, so that video added
    /// again (with new ICE credentials) gets a new one.
    pub async fn remove_video(&self) {
        self.video.camera_off.store(true, Ordering::Relaxed);
        let Some(link) = self.separate_video_link() else {
            return;
        };
        if let Some(w) = self.running().video_writer.take() {
            w.abort();
        }
        {
            let mut v = self.video_parts();
            v.link = None;
            v.early_candidates.clear();
        }
        self.video.sending.store(false, Ordering::Relaxed);
        self.video.connected.store(false, Ordering::Release);
        let _ = link.pc.close().await;
    }

    /// The peer refused the video we offered (content-reject): our pending offer is
    /// rolled back and the camera turned off, so the call goes on as before.
    pub async fn cancel_video_offer(&self) {
        self.video.camera_off.store(true, Ordering::Relaxed);
        match self.current_video_link() {
            Some(link) => link.rollback().await,
            None => self.main.rollback().await,
        }
    }

    /// Hands the engine its next source; a screen with its share's number.
    fn switch_to(&self, source: VideoSource) {
        let share = if source.is_screen() {
            self.video_parts().share
        } else {
            0
        };
        let _ = self.video_switch.send((source, share));
    }

    pub(super) fn open_video(&self) -> Result<VideoSource, MediaError> {
        let spec = {
            let parts = self.video_parts();
            match &parts.screen {
                Some(screen) => VideoSourceSpec::Screen(screen.clone()),
                None => parts.spec.clone(),
            }
        };
        if spec.is_none() {
            return Err(MediaError::NoCamera(
                " (video is turned off in the settings)".into(),
            ));
        }
        spec.open(video_engine::WIDTH, video_engine::HEIGHT, video_engine::FPS)
    }

    /// Another camera: used from now on, and switched to at once when the camera is
    /// sending. A camera that cannot be opened is an error and the current one stays.
    pub fn set_video_in(&self, spec: VideoSourceSpec) -> Result<(), MediaError> {
        let old = std::mem::replace(&mut self.video_parts().spec, spec);
        // While the screen is shared the camera only changes for afterwards.
        let sharing = self.video_parts().screen.is_some();
        if self.video.source_open.load(Ordering::Relaxed) && !sharing {
            match self.open_video() {
                Ok(source) => {
                    self.switch_to(source);
                }
                Err(e) => {
                    self.video_parts().spec = old;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Shares `screen` as the call's video from now on, or (`None`) stops sharing:
    /// back to the camera when `camera_back`, else black pictures (camera off) and the
    /// screen let go. With no video track yet, the next `add_video` (the call machine's
    /// camera-on) sends the screen. A screen that cannot be read is an error and
    /// changes nothing.
    pub fn share_screen(
        &self,
        screen: Option<ScreenSpec>,
        camera_back: bool,
        share: u64,
    ) -> Result<(), MediaError> {
        let sending = self.running().video_writer.is_some();
        match screen {
            Some(spec) => {
                // Set first: should the screen not open, nothing falls back to the
                // camera (the next camera-on tries the screen again, and fails).
                {
                    let mut parts = self.video_parts();
                    parts.screen = Some(spec.clone());
                    parts.share = share;
                }
                let source = VideoSourceSpec::Screen(spec).open(0, 0, 0)?;
                if sending {
                    // The engine clears the camera's off switch as it takes it.
                    self.switch_to(source);
                    self.video.source_open.store(true, Ordering::Relaxed);
                }
            }
            None => {
                {
                    // A screen the call started with, opened again, is share 0.
                    let mut parts = self.video_parts();
                    parts.screen = None;
                    parts.share = 0;
                }
                if !sending {
                    return Ok(());
                }
                let back = if camera_back {
                    self.open_video()
                } else {
                    Err(MediaError::NoCamera(String::new()))
                };
                match back {
                    Ok(camera) => {
                        self.switch_to(camera);
                        self.video.source_open.store(true, Ordering::Relaxed);
                        self.video.camera_off.store(false, Ordering::Relaxed);
                    }
                    Err(e) => {
                        if camera_back {
                            tracing::info!(error = %e, "no camera to go back to after sharing");
                        }
                        let black =
                            crate::video::I420::new(video_engine::WIDTH, video_engine::HEIGHT);
                        self.switch_to(VideoSource::Black(black));
                        // The next camera-on opens the camera.
                        self.video.source_open.store(false, Ordering::Relaxed);
                        self.video.camera_off.store(true, Ordering::Relaxed);
                        if camera_back {
                            return Err(e);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) async fn start_video_track(&self, source: VideoSource) -> Result<(), MediaError> {
        if self.running().video_writer.is_some() {
            return Ok(()); // already sending
        }
        let pc = if self.video_unbundled() {
            self.video_link().await?.pc.clone()
        } else {
            self.main.pc.clone()
        };
        let task = add_video_track(
            &pc,
            &self.feedback,
            self.video_frames.clone(),
            self.video.clone(),
        )
        .await?;
        self.running().video_writer = Some(task);
        self.switch_to(source);
        Ok(())
    }
}
