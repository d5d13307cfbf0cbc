//! The window's settings file (devices, call and desktop settings, our status) and
//! the remembered devices checked against those connected.

use super::*;
use banter_ui::i18n::Lang;

/// The settings file's version (see `load_settings`).
const SETTINGS_VERSION: u64 = 2;

impl App {
    /// The window speaks the language chosen in Settings, else the system's.
    pub(super) fn apply_language(&mut self) {
        let lang = self
            .model
            .language
            .unwrap_or_else(banter_ui::i18n::system_language);
        banter_ui::i18n::set_language(lang);
    }

    pub(super) fn settings_path(&self) -> PathBuf {
        self.data_dir.join("settings.json")
    }

    /// Devices and call settings, kept in the data dir (no secrets in it).
    /// Version 2: OMEMO on by default.
    pub(super) fn save_settings(&self) {
        let s = &self.model.settings;
        let v = serde_json::json!({
            "microphone": self.model.microphone,
            "speaker": self.model.speaker,
            "camera": self.model.camera,
            "echo_cancellation": s.echo_cancellation,
            "relay_only": s.relay_only,
            "calls_from_anyone": s.calls_from_anyone,
            "omemo": s.omemo,
            "background": s.background,
            "language": self.model.language.map(|l| l.code()),
            "status": match self.model.status {
                MyStatus::Available => "available",
                MyStatus::Away => "away",
                MyStatus::DoNotDisturb => "dnd",
            },
            "version": SETTINGS_VERSION,
        });
        let _ = std::fs::create_dir_all(&self.data_dir);
        if let Err(e) = std::fs::write(self.settings_path(), v.to_string()) {
            tracing::warn!(error = %e, "settings not saved");
        }
    }

    /// The remembered microphone, speaker and camera where they are connected now;
    /// one that is not falls back to the system's default, said in the status bar.
    /// The choice stays in the settings, for when it is back.
    pub(super) fn check_devices(&mut self) {
        // The media's own rule for a name (audio/source.rs pick_device).
        let present = |name: &str, list: &[String]| {
            let n = name.to_lowercase();
            list.iter().any(|d| d.to_lowercase().contains(&n))
        };
        let mut gone = Vec::new();
        if let Some(m) = self.model.microphone.clone() {
            if !present(&m, &self.model.microphones) {
                gone.push(banter_ui::t!("common-gone-microphone", name = &m));
                self.model.microphone = None;
                if matches!(self.media.audio_in, SourceSpec::Mic(Some(_))) {
                    self.media.audio_in = SourceSpec::Mic(None);
                }
            }
        }
        if let Some(s) = self.model.speaker.clone() {
            if !present(&s, &self.model.speakers) {
                gone.push(banter_ui::t!("common-gone-speaker", name = &s));
                self.model.speaker = None;
                if matches!(self.media.audio_out, SinkSpec::Speaker(Some(_))) {
                    self.media.audio_out = SinkSpec::Speaker(None);
                }
            }
        }
        if let Some(c) = self.model.camera.clone() {
            if !present(&c, &self.model.cameras) {
                gone.push(banter_ui::t!("common-gone-camera", name = &c));
                self.model.camera = None;
                if matches!(self.media.video_in, VideoSourceSpec::Camera(Some(_))) {
                    self.media.video_in = VideoSourceSpec::Camera(None);
                }
            }
        }
        if !gone.is_empty() {
            self.model.notice = Some(banter_ui::t!(
                "common-devices-gone",
                devices = gone.join(banter_ui::t!("common-list-and").as_str())
            ));
        }
    }

    /// The saved settings, applied to the model and to the media of the next calls.
    pub(super) fn load_settings(&mut self) {
        let Some(v) = std::fs::read_to_string(self.settings_path())
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            return;
        };
        let text = |k: &str| v[k].as_str().map(str::to_string);
        let flag = |k: &str, d: bool| v[k].as_bool().unwrap_or(d);
        self.model.microphone = text("microphone");
        self.model.speaker = text("speaker");
        self.model.camera = text("camera");
        self.model.settings = Settings {
            echo_cancellation: flag("echo_cancellation", true),
            relay_only: flag("relay_only", false),
            calls_from_anyone: flag("calls_from_anyone", false),
            // Before version 2, OMEMO was off unless turned on: a `false` kept then
            // was the old default, not a choice, and OMEMO is on by default now.
            omemo: flag("omemo", true) || v["version"].as_u64().unwrap_or(1) < 2,
            background: flag("background", true),
        };
        self.model.language = text("language").and_then(|c| Lang::from_code(&c));
        // Do not disturb stays across a restart: calls must not ring after one.
        self.model.status = match v["status"].as_str() {
            Some("away") => MyStatus::Away,
            Some("dnd") => MyStatus::DoNotDisturb,
            _ => MyStatus::Available,
        };
        if matches!(self.media.audio_in, SourceSpec::Mic(None)) {
            self.media.audio_in = SourceSpec::Mic(self.model.microphone.clone());
        }
        if matches!(self.media.audio_out, SinkSpec::Speaker(None)) {
            self.media.audio_out = SinkSpec::Speaker(self.model.speaker.clone());
        }
        if matches!(self.media.video_in, VideoSourceSpec::Camera(None)) {
            self.media.video_in = camera_spec(&self.model.camera);
        }
        let s = self.model.settings;
        self.media.processing.echo_cancel = s.echo_cancellation;
        self.media.processing.noise_suppress = s.echo_cancellation;
        self.media.relay_only |= s.relay_only;
    }
}
