//! What the window shows. The binary fills it from the client's events; the views
//! read it and return `UiCommand`s. Nothing here touches the network.

use std::collections::HashMap;

use crate::t;

mod call;
mod rooms;
mod timeline;
pub use call::*;
pub use rooms::*;
pub use timeline::*;

/// Presence as the contact list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Availability {
    Available,
    Away,
    Busy,
    #[default]
    Offline,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContactRow {
    pub jid: String,
    pub name: Option<String>,
    pub availability: Availability,
    pub status: Option<String>,
    pub unread: u32,
    /// Their picture (XEP-0084), once the window loaded it.
    pub avatar: Option<VideoTexture>,
    /// From the contact's caps: Jingle RTP audio / video.
    pub can_audio: bool,
    pub can_video: bool,
    /// In the roster (not a stranger who wrote): their pictures are previewed
    /// without a click.
    pub in_roster: bool,
}

impl ContactRow {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.jid)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    Calling,
    Ringing,
    Connecting,
    Active,
}

/// One call in the call history list.
#[derive(Debug, Clone, PartialEq)]
pub struct CallLogRow {
    pub id: String,
    pub peer: String,
    pub outgoing: bool,
    /// Seconds it was active; `None`: never answered.
    pub duration_s: Option<u64>,
    pub ts_ms: i64,
}

impl CallLogRow {
    /// `Missed call`, `Outgoing call, 3 min 2 s`, …
    pub fn summary(&self) -> String {
        let length = |d: u64| {
            if d >= 60 {
                t!("common-duration-min-sec", min = d / 60, sec = d % 60)
            } else {
                t!("common-duration-sec", sec = d)
            }
        };
        match (self.outgoing, self.duration_s) {
            (false, None) => t!("common-call-log-missed"),
            (true, None) => t!("common-call-log-not-answered"),
            (false, Some(d)) => t!("common-call-log-incoming", length = length(d)),
            (true, Some(d)) => t!("common-call-log-outgoing", length = length(d)),
        }
    }
}

/// What the left column lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeftTab {
    #[default]
    Contacts,
    Rooms,
    Calls,
}

/// One second of call quality.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QualitySample {
    pub rtt_ms: f32,
    pub jitter_ms: f32,
    pub loss_pct: f32,
    pub kbps: f32,
}

/// A picture on the GPU (egui's handle, which has no `Debug`).
#[derive(Clone, PartialEq)]
pub struct VideoTexture(pub egui::TextureHandle);

impl std::fmt::Debug for VideoTexture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [w, h] = self.0.size();
        write!(f, "VideoTexture({w}x{h})")
    }
}

/// A contact's OMEMO devices, our trust in each, and our own device's fingerprint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OmemoView {
    pub jid: String,
    pub own_fingerprint: Option<String>,
    pub devices: Vec<DeviceRow>,
    /// The panel listing them is open.
    pub open: bool,
}

impl OmemoView {
    /// Messages to the contact are encrypted: it publishes at least one device.
    pub fn encrypted(&self) -> bool {
        self.devices.iter().any(|d| d.active)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRow {
    pub device_id: u32,
    /// Its identity key, hex; `None` until a session or bundle showed it.
    pub fingerprint: Option<String>,
    /// `blind`, `verified`, `untrusted` or `undecided`.
    pub trust: String,
    /// Its owner still lists it.
    pub active: bool,
}

/// A fingerprint as people compare it: groups of eight.
pub fn grouped_fingerprint(hex: &str) -> String {
    hex.as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The camera picker's entry for the moving test pattern (for people without a camera,
/// and to check video end to end).
pub const TEST_PATTERN: &str = "Test pattern";

#[derive(Debug, Clone, PartialEq)]
pub struct IncomingCall {
    pub id: String,
    pub peer: String,
    pub video: bool,
}

/// What the Settings window edits (devices are in `Model::microphone`/`speaker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub echo_cancellation: bool,
    /// Calls only through TURN relays: the local address is never sent.
    pub relay_only: bool,
    /// Anyone may ring, not only contacts.
    pub calls_from_anyone: bool,
    /// End-to-end encrypted chats (OMEMO), on unless turned off: from the next sign-in.
    pub omemo: bool,
    /// Closing the window keeps Banter signed in, in the tray (when there is one).
    pub background: bool,
}

/// Our own status, as the user picks it (the status bar, the tray).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MyStatus {
    #[default]
    Available,
    Away,
    /// Calls are refused as busy; no notifications.
    DoNotDisturb,
}

impl MyStatus {
    pub const ALL: [MyStatus; 3] = [MyStatus::Available, MyStatus::Away, MyStatus::DoNotDisturb];

    pub fn label(self) -> String {
        match self {
            MyStatus::Available => t!("common-status-available"),
            MyStatus::Away => t!("common-status-away"),
            MyStatus::DoNotDisturb => t!("common-status-dnd"),
        }
    }

    /// How the contact list would show it.
    pub fn availability(self) -> Availability {
        match self {
            MyStatus::Available => Availability::Available,
            MyStatus::Away => Availability::Away,
            MyStatus::DoNotDisturb => Availability::Busy,
        }
    }
}

/// Banter on the desktop: what the Settings' Desktop section shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DesktopView {
    /// The window can hide into a tray: one shows our icon (a StatusNotifierItem
    /// host took it) and the window is not on Wayland.
    pub tray: bool,
    /// The window is on Wayland, which lets no program hide its window.
    pub wayland: bool,
    /// The XDG autostart entry exists: Banter starts (in the tray) at login.
    pub autostart: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            echo_cancellation: true,
            relay_only: false,
            calls_from_anyone: false,
            omemo: true,
            background: true,
        }
    }
}

/// The add-account form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountForm {
    pub jid: String,
    pub password: String,
    pub server: String,
    pub ca_file: String,
    pub show_advanced: bool,
    /// Save the password in the OS keyring (on by default in the app).
    pub remember: bool,
    /// The last attempt's error, shown under the form.
    pub error: Option<String>,
    pub busy: bool,
    /// Create the account (XEP-0077 in-band registration) instead of signing in.
    pub create: bool,
    /// The password typed again, when creating an account.
    pub password_again: String,
}

/// How much a network check finding matters (as the media engine grades it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Finding {
    #[default]
    Good,
    Note,
    Warning,
    Problem,
}

/// One line of a network check: a step, or what the steps mean.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetLine {
    pub finding: Finding,
    pub text: String,
}

/// Settings → Test my network: running, or its last result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetCheckView {
    pub running: bool,
    /// One per STUN/TURN check (failed steps are `Problem`).
    pub steps: Vec<NetLine>,
    /// What it means for calls, worst first.
    pub advice: Vec<NetLine>,
}

/// The Account section of Settings: a new password, and deleting the account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountSettings {
    pub new_password: String,
    pub new_password_again: String,
    /// The account's address typed again to confirm deletion.
    pub delete_confirm: String,
    /// A change was sent and its answer is awaited.
    pub busy: bool,
    /// The server's answer or a mistake in the fields, in words.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connection {
    #[default]
    Offline,
    Connecting,
    Online,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    /// The signed-in account, if any; without one the window shows the form.
    pub account: Option<String>,
    pub connection: Connection,
    pub form: AccountForm,
    pub contacts: Vec<ContactRow>,
    pub filter: String,
    pub selected: Option<String>,
    pub conversations: HashMap<String, Conversation>,
    pub subscription_requests: Vec<String>,
    /// JIDs we block (XEP-0191).
    pub blocked: Vec<String>,
    /// Our own picture (XEP-0084), once the window loaded it.
    pub own_avatar: Option<VideoTexture>,
    pub call: Option<ActiveCall>,
    pub incoming: Option<IncomingCall>,
    pub add_contact: String,
    pub microphones: Vec<String>,
    pub speakers: Vec<String>,
    /// The chosen devices; `None` is the system default.
    pub microphone: Option<String>,
    pub speaker: Option<String>,
    /// Camera names (and `TEST_PATTERN`), and the chosen one (`None`: the first).
    pub cameras: Vec<String>,
    pub camera: Option<String>,
    pub settings: Settings,
    pub settings_open: bool,
    /// Our status, the same for every account.
    pub status: MyStatus,
    /// The window's language as chosen in Settings; `None` follows the system's.
    pub language: Option<crate::i18n::Lang>,
    pub desktop: DesktopView,
    pub left_tab: LeftTab,
    /// All signed-in accounts (the switcher); `account` is the one shown.
    pub accounts: Vec<String>,
    /// The form is open to sign in one more account.
    pub adding_account: bool,
    /// Newest first.
    pub call_log: Vec<CallLogRow>,
    /// A report of the current or last call can be copied.
    pub call_report: bool,
    /// A line for errors that belong to no form (shown in the status bar, with a
    /// button that dismisses it).
    pub notice: Option<String>,
    /// The call the notice was about (said during it) and its text: it goes when the
    /// call ends, unless another notice replaced it.
    pub notice_call: Option<(String, String)>,
    pub account_settings: AccountSettings,
    /// Settings → Test my network.
    pub net_check: NetCheckView,
    /// The selected contact's OMEMO devices (the conversation's encryption panel).
    pub omemo: Option<OmemoView>,
    /// Now, for "Today"/"Yesterday" headings (set by the binary each frame; tests fix it).
    pub now_ms: i64,
    /// Group chat rooms (joined, bookmarked, or left with a reason), by address.
    pub rooms: Vec<RoomView>,
    /// The room on screen (instead of a contact's conversation).
    pub selected_room: Option<String>,
    pub invitations: Vec<InvitationRow>,
    pub join_form: JoinForm,
}

impl Model {
    /// Contacts matching the filter, in display order (indices into `contacts`).
    pub fn visible_contacts(&self) -> Vec<usize> {
        let f = self.filter.to_lowercase();
        self.contacts
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                f.is_empty()
                    || c.jid.to_lowercase().contains(&f)
                    || c.name
                        .as_deref()
                        .is_some_and(|n| n.to_lowercase().contains(&f))
            })
            .map(|(i, _)| i)
            .collect()
    }

    pub fn contact(&self, jid: &str) -> Option<&ContactRow> {
        self.contacts.iter().find(|c| c.jid == jid)
    }

    /// The row of `jid`, added if it is not listed yet.
    pub fn contact_mut(&mut self, jid: &str) -> &mut ContactRow {
        let at = match self.contacts.iter().position(|c| c.jid == jid) {
            Some(i) => i,
            None => {
                self.contacts.push(ContactRow {
                    jid: jid.to_string(),
                    ..Default::default()
                });
                self.contacts.len() - 1
            }
        };
        // `at` is in range: found above, or the row just pushed.
        #[allow(clippy::indexing_slicing)]
        &mut self.contacts[at]
    }

    /// A message of the conversation with `peer` (bare JID), sent or received now.
    pub fn receive_message(&mut self, peer: &str, item: TimelineItem) {
        let outgoing = matches!(item, TimelineItem::Message { outgoing: true, .. });
        if !outgoing && self.selected.as_deref() != Some(peer) {
            // A stranger who writes gets a row, so the message can be read.
            let c = self.contact_mut(peer);
            c.unread = c.unread.saturating_add(1);
        }
        let conv = self.conversations.entry(peer.to_string()).or_default();
        if !outgoing {
            conv.peer_typing = false;
        }
        conv.push_live(item);
    }

    /// A contact's presence changed; strangers' presences are not listed.
    pub fn set_presence(&mut self, bare: &str, show: Availability, status: Option<String>) {
        if let Some(c) = self.contacts.iter_mut().find(|c| c.jid == bare) {
            c.availability = show;
            c.status = status;
        }
    }
}

/// Seconds of no typing after which the peer is told we paused.
pub const TYPING_PAUSE_S: f64 = 8.0;

/// `14:05`, in local time.
pub fn clock_time(ts_ms: i64) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_millis_opt(ts_ms) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.format("%H:%M").to_string()
        }
        chrono::LocalResult::None => String::new(),
    }
}

/// The heading of a day in the timeline: `Today`, `Yesterday`, or the date.
pub fn day_label(ts_ms: i64, now_ms: i64) -> String {
    use chrono::TimeZone;
    let day = |ms: i64| {
        chrono::Local
            .timestamp_millis_opt(ms)
            .single()
            .map(|t| t.date_naive())
    };
    match (day(ts_ms), day(now_ms)) {
        (Some(d), Some(today)) if d == today => t!("common-today"),
        (Some(d), Some(today)) if today.pred_opt() == Some(d) => t!("common-yesterday"),
        (Some(d), Some(today)) if d.format("%Y").to_string() == today.format("%Y").to_string() => {
            let (lang, fmt) = date_format(false);
            d.format_localized(fmt, lang.chrono_locale()).to_string()
        }
        (Some(d), _) => {
            let (lang, fmt) = date_format(true);
            d.format_localized(fmt, lang.chrono_locale()).to_string()
        }
        _ => String::new(),
    }
}

/// A day's heading as the language writes it: "Monday, 7 December" or
/// "Montag, 7. Dezember" (with the year when it is not this one).
fn date_format(with_year: bool) -> (crate::i18n::Lang, &'static str) {
    use crate::i18n::Lang;
    let lang = crate::i18n::language();
    let fmt = match (lang, with_year) {
        (Lang::En, false) => "%A, %-d %B",
        (Lang::En, true) => "%-d %B %Y",
        (Lang::De, false) => "%A, %-d. %B",
        (Lang::De, true) => "%-d. %B %Y",
    };
    (lang, fmt)
}

/// Checks the account form; `Err` is the message shown next to it.
pub fn validate_form(form: &AccountForm) -> Result<(), String> {
    let jid = form.jid.trim();
    let Some((node, domain)) = jid.split_once('@') else {
        return Err(t!("account-address-format"));
    };
    if node.is_empty() || domain.is_empty() || domain.contains('@') || jid.contains(' ') {
        return Err(t!("account-address-format"));
    }
    if form.password.is_empty() {
        return Err(if form.create {
            t!("account-choose-password")
        } else {
            t!("account-enter-password")
        });
    }
    if form.create && form.password != form.password_again {
        return Err(t!("account-passwords-differ"));
    }
    if !form.server.trim().is_empty() {
        let ok = form
            .server
            .trim()
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !ok {
            return Err(t!("account-server-format"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_validation() {
        let mut f = AccountForm {
            jid: "alice".into(),
            ..Default::default()
        };
        assert!(validate_form(&f).is_err());
        f.jid = "alice@example.org".into();
        assert_eq!(validate_form(&f).unwrap_err(), "Enter your password");
        f.password = "x".into();
        assert!(validate_form(&f).is_ok());
        f.server = "host".into();
        assert!(validate_form(&f).is_err());
        f.server = "host:5222".into();
        assert!(validate_form(&f).is_ok());
        f.create = true;
        assert_eq!(validate_form(&f).unwrap_err(), "The two passwords differ");
        f.password_again = "x".into();
        assert!(validate_form(&f).is_ok());
    }

    #[test]
    fn day_labels() {
        let now = 1_790_000_000_000; // 2026-09-21 (a Monday), mid-day UTC
        assert_eq!(day_label(now - 60_000, now), "Today");
        assert_eq!(day_label(now - 86_400_000, now), "Yesterday");
        assert!(day_label(now - 5 * 86_400_000, now).contains("September"));
        assert!(day_label(now - 400 * 86_400_000, now).ends_with("2025"));
        assert_eq!(clock_time(now).len(), 5);
    }

    /// A flood of live messages keeps the newest in memory and points the next
    /// history page right before them, so none is out of reach.
    #[test]
    fn live_messages_are_trimmed_and_the_rest_stays_reachable() {
        let mut m = Model {
            selected: Some("eve@x".into()),
            ..Default::default()
        };
        for i in 1..=1_000 {
            m.receive_message(
                "eve@x",
                TimelineItem::Message {
                    id: i.to_string(),
                    seq: i,
                    outgoing: false,
                    body: String::new(),
                    ts_ms: i,
                    delivery: Delivery::Received,
                    extra: Default::default(),
                },
            );
        }
        let conv = &m.conversations["eve@x"];
        assert!(conv.items.len() <= MAX_LIVE_ITEMS, "{}", conv.items.len());
        assert!(conv.items.len() >= KEEP_AFTER_TRIM);
        let first = match &conv.items[0] {
            TimelineItem::Message { seq, .. } => *seq,
            other => panic!("{other:?}"),
        };
        assert_eq!(first, 1_000 - conv.items.len() as i64 + 1);
        assert_eq!(conv.history_cursor, Some(first));
        assert!(conv.more_history);
        // A stranger's message gives it a row with an unread count.
        m.receive_message(
            "mallory@x",
            TimelineItem::Message {
                id: "m".into(),
                seq: 1_001,
                outgoing: false,
                body: String::new(),
                ts_ms: 0,
                delivery: Delivery::Received,
                extra: Default::default(),
            },
        );
        assert_eq!(m.contact("mallory@x").map(|c| c.unread), Some(1));
    }

    #[test]
    fn verdicts() {
        let mut c = ActiveCall::new("1", "b", CallPhase::Active);
        assert_eq!(c.verdict(), "measuring…");
        c.quality.push_back(QualitySample {
            rtt_ms: 30.0,
            jitter_ms: 2.0,
            loss_pct: 0.0,
            kbps: 32.0,
        });
        assert_eq!(c.verdict(), "good connection");
        c.quality.push_back(QualitySample {
            rtt_ms: 30.0,
            jitter_ms: 2.0,
            loss_pct: 40.0,
            kbps: 32.0,
        });
        assert_eq!(c.verdict(), "poor connection");
    }
}
