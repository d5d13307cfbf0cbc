//! The tray icon: a StatusNotifierItem (KDE, GNOME with the AppIndicator extension,
//! XFCE, most Wayland bars) with a menu to show or hide the window, set the status
//! and quit. Its clicks reach the window through the callback given at start; the
//! window tells it what to show with [`TrayHandle::set`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use banter_ui::model::MyStatus;
use banter_ui::t;

/// What the user asked of the tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    /// A click on the icon: the window hidden if shown, shown if hidden.
    Toggle,
    Show,
    Hide,
    Status(MyStatus),
    Quit,
    /// A panel took the icon (again): the window may hide into it.
    Found,
    /// The panel went away: a hidden window must come back, nothing else shows it.
    Lost,
}

/// What the tray shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayState {
    pub window_shown: bool,
    /// The window can be hidden (not on Wayland): the menu offers Show and Hide.
    pub can_hide: bool,
    pub status: MyStatus,
    /// Who is calling, while a call rings (the icon asks for attention).
    pub ringing: Option<String>,
    /// The window's language: the menu is said in it (a change redraws it).
    pub language: banter_ui::i18n::Lang,
}

type OnAction = Arc<dyn Fn(TrayAction) + Send + Sync>;

struct Item {
    state: TrayState,
    on_action: OnAction,
    /// A StatusNotifierWatcher holds our item now (it comes and goes with the panel).
    shown: Arc<AtomicBool>,
}

impl ksni::Tray for Item {
    fn id(&self) -> String {
        "banter".into()
    }

    fn title(&self) -> String {
        "Banter".into()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::Communications
    }

    fn status(&self) -> ksni::Status {
        if self.state.ringing.is_some() {
            ksni::Status::NeedsAttention
        } else {
            ksni::Status::Active
        }
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        [22, 32, 48]
            .into_iter()
            .map(|size| icon(size, self.state.status))
            .collect()
    }

    fn attention_icon_pixmap(&self) -> Vec<ksni::Icon> {
        [22, 32, 48].into_iter().map(attention_icon).collect()
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        let description = match &self.state.ringing {
            Some(who) => t!("desktop-tray-ringing", who = who),
            None => self.state.status.label(),
        };
        ksni::ToolTip {
            title: "Banter".into(),
            description,
            ..Default::default()
        }
    }

    fn activate(&mut self, _x: i32, _y: i32) {
        (self.on_action)(TrayAction::Toggle);
    }

    fn menu(&self) -> Vec<ksni::MenuItem<Self>> {
        use ksni::menu::{RadioGroup, RadioItem, StandardItem};
        let (label, action) = if self.state.window_shown {
            (t!("desktop-hide"), TrayAction::Hide)
        } else {
            (t!("desktop-show"), TrayAction::Show)
        };
        let selected = MyStatus::ALL
            .iter()
            .position(|s| *s == self.state.status)
            .unwrap_or(0);
        vec![
            StandardItem {
                label,
                visible: self.state.can_hide,
                activate: Box::new(move |t: &mut Self| (t.on_action)(action)),
                ..Default::default()
            }
            .into(),
            ksni::MenuItem::Separator,
            RadioGroup {
                selected,
                select: Box::new(|t: &mut Self, i: usize| {
                    if let Some(s) = MyStatus::ALL.get(i) {
                        t.state.status = *s;
                        (t.on_action)(TrayAction::Status(*s));
                    }
                }),
                options: MyStatus::ALL
                    .iter()
                    .map(|s| RadioItem {
                        label: s.label(),
                        ..Default::default()
                    })
                    .collect(),
            }
            .into(),
            ksni::MenuItem::Separator,
            StandardItem {
                label: t!("desktop-quit"),
                icon_name: "application-exit".into(),
                activate: Box::new(|t: &mut Self| (t.on_action)(TrayAction::Quit)),
                ..Default::default()
            }
            .into(),
        ]
    }

    fn watcher_online(&self) {
        self.shown.store(true, Ordering::Relaxed);
        (self.on_action)(TrayAction::Found);
    }

    /// The panel went away (or never was): the item waits for one to come back.
    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        tracing::info!(?reason, "no system tray");
        self.shown.store(false, Ordering::Relaxed);
        (self.on_action)(TrayAction::Lost);
        true
    }
}

/// The running tray item.
pub struct TrayHandle {
    handle: ksni::Handle<Item>,
    shown: Arc<AtomicBool>,
    /// The state to show; one task applies the latest, in order.
    state: tokio::sync::watch::Sender<TrayState>,
}

impl TrayHandle {
    /// Puts the item on the session bus. `None` without a session bus; with one but no
    /// tray, the item waits for a tray to appear (`shown` says whether one holds it).
    /// Runs in a tokio runtime; a bus that does not answer within 2 s counts as none.
    pub async fn start(
        state: TrayState,
        on_action: impl Fn(TrayAction) + Send + Sync + 'static,
    ) -> Option<TrayHandle> {
        use ksni::TrayMethods;
        let shown = Arc::new(AtomicBool::new(true));
        let item = Item {
            state: state.clone(),
            on_action: Arc::new(on_action),
            shown: shown.clone(),
        };
        let spawn = item.assume_sni_available(true).spawn();
        match tokio::time::timeout(Duration::from_secs(2), spawn).await {
            Ok(Ok(handle)) => {
                let (tx, mut rx) = tokio::sync::watch::channel(state);
                let updater = handle.clone();
                tokio::spawn(async move {
                    while rx.changed().await.is_ok() {
                        let state = rx.borrow_and_update().clone();
                        if updater
                            .update(move |item| item.state = state)
                            .await
                            .is_none()
                        {
                            break;
                        }
                    }
                });
                Some(TrayHandle {
                    handle,
                    shown,
                    state: tx,
                })
            }
            Ok(Err(e)) => {
                tracing::info!(error = %e, "no tray icon");
                None
            }
            Err(_) => {
                tracing::info!("no tray icon: the session bus did not answer");
                None
            }
        }
    }

    /// Whether a tray shows the icon now (so the window may hide into it).
    pub fn shown(&self) -> bool {
        self.shown.load(Ordering::Relaxed)
    }

    /// Shows `state` (nothing is sent when it did not change; of quick changes, the
    /// last one is shown).
    pub fn set(&self, state: TrayState) {
        self.state.send_if_modified(|now| {
            let changed = *now != state;
            *now = state;
            changed
        });
    }

    /// Takes the item off the bus (at quit: the panel drops the icon at once).
    pub async fn stop(self) {
        self.handle.shutdown().await;
    }
}

/// Banter's colour, as in its icon (assets/im.banter.Banter.svg).
const BRAND: [u8; 3] = [43, 122, 95];

/// The tray icon, `size` pixels square: a speech bubble in Banter's colour with a dot
/// in the status's colour (green, amber, red), as the contact list shows presence.
fn icon(size: i32, status: MyStatus) -> ksni::Icon {
    let dot = match status {
        MyStatus::Available => [60, 170, 90],
        MyStatus::Away => [220, 170, 40],
        MyStatus::DoNotDisturb => [200, 60, 60],
    };
    draw(size, BRAND, Some(dot))
}

/// While a call rings: the bubble in the call colour, no dot.
fn attention_icon(size: i32) -> ksni::Icon {
    draw(size, [60, 170, 90], None)
}

/// ARGB32 pixels, antialiased by 4×4 samples per pixel.
fn draw(size: i32, bubble: [u8; 3], dot: Option<[u8; 3]>) -> ksni::Icon {
    let n = size.max(1) as usize;
    let mut data = Vec::with_capacity(n * n * 4);
    let (cx, cy, r) = (0.47_f32, 0.44_f32, 0.40_f32);
    let (dx, dy, dr) = (0.78_f32, 0.78_f32, 0.19_f32);
    let inside_bubble = |x: f32, y: f32| {
        let in_circle = (x - cx).powi(2) + (y - cy).powi(2) <= r * r;
        // The tail: a triangle under the bubble's lower left.
        let in_tail =
            (0.70..=0.95).contains(&y) && (0.12..=0.40).contains(&x) && (x - 0.12) >= (y - 0.70);
        in_circle || in_tail
    };
    for py in 0..n {
        for px in 0..n {
            let (mut bubble_hits, mut dot_hits) = (0u32, 0u32);
            for sy in 0..4 {
                for sx in 0..4 {
                    let x = (px as f32 + (sx as f32 + 0.5) / 4.0) / n as f32;
                    let y = (py as f32 + (sy as f32 + 0.5) / 4.0) / n as f32;
                    let d2 = (x - dx).powi(2) + (y - dy).powi(2);
                    if dot.is_some() && d2 <= dr * dr {
                        dot_hits += 1;
                    } else if dot.is_some() && d2 <= (dr + 0.06).powi(2) {
                        // A clear ring parts the dot from the bubble.
                    } else if inside_bubble(x, y) {
                        bubble_hits += 1;
                    }
                }
            }
            let cover = bubble_hits + dot_hits;
            let (rgb, alpha) = if cover == 0 {
                ([0, 0, 0], 0)
            } else {
                let mix = |i: usize| {
                    let b = u32::from(bubble.get(i).copied().unwrap_or(0)) * bubble_hits;
                    let d = u32::from(dot.and_then(|d| d.get(i).copied()).unwrap_or(0)) * dot_hits;
                    ((b + d) / cover) as u8
                };
                ([mix(0), mix(1), mix(2)], (cover * 255 / 16) as u8)
            };
            data.extend_from_slice(&[alpha, rgb[0], rgb[1], rgb[2]]);
        }
    }
    ksni::Icon {
        width: size,
        height: size,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The icon is ARGB of the asked size, transparent in a corner, opaque brand colour
    /// in the bubble, and the status shows as the dot's colour.
    #[test]
    fn the_icon_shows_the_status() {
        let at = |i: &ksni::Icon, x: usize, y: usize| {
            let o = (y * i.width as usize + x) * 4;
            [i.data[o], i.data[o + 1], i.data[o + 2], i.data[o + 3]]
        };
        let a = icon(32, MyStatus::Available);
        assert_eq!(a.data.len(), 32 * 32 * 4);
        assert_eq!(at(&a, 31, 0)[0], 0, "a corner is transparent");
        assert_eq!(at(&a, 15, 14), [255, BRAND[0], BRAND[1], BRAND[2]]);
        let dnd = icon(32, MyStatus::DoNotDisturb);
        assert_eq!(at(&a, 25, 25), [255, 60, 170, 90]);
        assert_eq!(at(&dnd, 25, 25), [255, 200, 60, 60]);
        assert_ne!(a.data, dnd.data);
    }
}
