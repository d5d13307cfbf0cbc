//! Screen sharing in the window: the picker's monitors and windows with their
//! thumbnails (read off the UI thread, once, when the picker opens), sharing the one
//! picked, and what the account says about it. On Wayland the desktop's portal dialog
//! picks instead.

use super::*;
use banter_media::video::screen::{self as capture, ScreenSource, ScreenSpec};

/// Thumbnails in the picker are at most this wide (pixels).
const THUMB_WIDTH: usize = 240;

/// One thing the picker offers: the source and a picture of it (none when it could
/// not be read).
#[derive(Debug)]
pub(super) struct Offered {
    pub source: ScreenSource,
    pub thumbnail: Option<banter_media::video::RgbaFrame>,
}

impl App {
    /// Opens the picker for `call` and looks at the screen in the background.
    pub(super) fn pick_screen(&mut self, call: String) {
        // On Wayland the desktop's own dialog (the portal) is the picker.
        if self.wayland {
            return self.send(Command::ShareScreen {
                id: call,
                screen: Some(ScreenSpec::Portal(None)),
            });
        }
        let Some(c) = self.model.call.as_mut().filter(|c| c.id == call) else {
            return;
        };
        c.screen_picker = Some(Vec::new());
        let (tx, wake) = (self.events_tx.clone(), self.ctx.clone());
        self.runtime.spawn_blocking(move || {
            let sources = capture::list()
                .map(|all| {
                    all.into_iter()
                        .map(|source| Offered {
                            thumbnail: capture::thumbnail(&source.spec, THUMB_WIDTH)
                                .map_err(|e| tracing::debug!(error = %e, "no thumbnail"))
                                .ok(),
                            source,
                        })
                        .collect()
                })
                .map_err(|e| e.to_string());
            let _ = tx.send(AppEvent::ScreenSources { call, sources });
            if let Some(ctx) = wake {
                ctx.request_repaint();
            }
        });
    }

    /// The picker's choices arrived: shown if it is still open for that call.
    pub(super) fn on_screen_sources(&mut self, call: &str, sources: Result<Vec<Offered>, String>) {
        let offered = match sources {
            Ok(o) => o,
            Err(why) => {
                self.model.notice = Some(banter_ui::t!("call-screen-share-failed", why = why));
                if let Some(c) = self.model.call.as_mut() {
                    c.screen_picker = None;
                }
                return;
            }
        };
        let ctx = self.ctx.clone();
        let Some(picker) = self
            .model
            .call
            .as_mut()
            .filter(|c| c.id == call)
            .and_then(|c| c.screen_picker.as_mut())
        else {
            return;
        };
        let mut monitors = 0;
        *picker = offered
            .into_iter()
            .map(|o| {
                let number = monitors;
                if o.source.title.is_none() {
                    monitors += 1;
                }
                let thumbnail = match (&ctx, o.thumbnail) {
                    (Some(ctx), Some(f)) => {
                        let image = egui::ColorImage::from_rgba_unmultiplied(
                            [f.width, f.height],
                            &f.pixels,
                        );
                        let name = format!("screen-{}", o.source.spec.key());
                        Some(VideoTexture(ctx.load_texture(
                            name,
                            image,
                            egui::TextureOptions::LINEAR,
                        )))
                    }
                    _ => None,
                };
                banter_ui::model::ScreenChoice {
                    key: o.source.spec.key(),
                    title: o.source.title,
                    number,
                    width: o.source.width,
                    height: o.source.height,
                    thumbnail,
                }
            })
            .collect();
    }

    /// Shares the picked source (`Some(key)`) or stops sharing.
    pub(super) fn share_screen(&mut self, id: String, source: Option<String>) {
        let screen = match source {
            Some(key) => match ScreenSpec::parse(&format!("screen:{key}")) {
                Some(spec) => Some(spec),
                None => return,
            },
            None => None,
        };
        self.send(Command::ShareScreen { id, screen });
    }

    /// The account started or stopped sharing (or could not start): the call bar
    /// follows, and a reason is said as a notice that ends with the call.
    pub(super) fn on_screen_share(&mut self, id: &str, sharing: bool, reason: Option<String>) {
        let Some(call) = self.model.call.as_mut().filter(|c| c.id == id) else {
            return;
        };
        let was = std::mem::replace(&mut call.sharing, sharing);
        if sharing && !was {
            call.camera_before_sharing = call.camera_on;
            call.video = true;
            call.camera_on = true;
        } else if was && !sharing {
            call.camera_on = call.camera_before_sharing;
        }
        if let Some(why) = reason {
            let text = if was && !sharing {
                banter_ui::t!("call-screen-share-ended", why = why)
            } else {
                banter_ui::t!("call-screen-share-failed", why = why)
            };
            self.model.notice_call = Some((id.to_string(), text.clone()));
            self.model.notice = Some(text);
        }
    }
}
