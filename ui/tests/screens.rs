//! The window's screens, driven like a user: widgets found by their accessible labels,
//! clicked and typed into; the resulting commands and what is shown are checked.

use banter_ui::command::TypingState;
use banter_ui::model::{
    ActiveCall, Availability, CallLogRow, CallPhase, ContactRow, Delivery, Finding, IncomingCall,
    Model, NetCheckView, NetLine, Settings, TimelineItem,
};
use banter_ui::{view, UiCommand};
use egui::accesskit::Role;
use egui_kittest::Harness;
use kittest::Queryable as _;

/// Focuses the input with this role and label and types into it.
fn type_into(h: &mut Harness<'_, State>, role: Role, label: &str, text: &str) {
    h.get_by_role_and_label(role, label).focus();
    h.run();
    h.get_by_role_and_label(role, label).type_text(text);
    h.run();
}

#[derive(Default)]
struct State {
    model: Model,
    commands: Vec<UiCommand>,
}

/// The whole window (`view::show`) over `model`, collecting its commands.
fn whole_window(model: Model) -> Harness<'static, State> {
    Harness::builder()
        .with_size(egui::vec2(960.0, 640.0))
        .build_ui_state(
            |ui, s: &mut State| {
                let mut c = view::show(ui, &mut s.model);
                s.commands.append(&mut c);
            },
            State {
                model,
                ..Default::default()
            },
        )
}

fn signed_in() -> Model {
    Model {
        account: Some("alice@example.org".into()),
        contacts: vec![ContactRow {
            jid: "bob@example.org".into(),
            name: Some("Bob".into()),
            availability: Availability::Available,
            can_audio: true,
            ..Default::default()
        }],
        selected: Some("bob@example.org".into()),
        ..Default::default()
    }
}

#[test]
fn account_form_validates_then_signs_in() {
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::account_form(ui, &mut s.model, &mut s.commands),
        State::default(),
    );
    type_into(&mut h, Role::TextInput, "Address", "alice");
    h.run();
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    h.run();
    assert!(h.state().commands.is_empty());
    h.get_by_label_contains("name@server");

    type_into(&mut h, Role::TextInput, "Address", "@example.org");
    type_into(&mut h, Role::PasswordInput, "Password", "secret");
    h.run();
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    // The spinner keeps repainting: step instead of running until idle.
    h.run_steps(3);
    assert_eq!(
        h.state().commands,
        [UiCommand::AddAccount {
            jid: "alice@example.org".into(),
            password: "secret".into(),
            server: None,
            ca_file: None,
            remember: false,
            register: false,
        }]
    );
    // While connecting the button is disabled and a spinner says so.
    h.get_by_label("Connecting…");
}

/// Creating an account from the first screen: the same address and password, typed
/// twice; a mismatch is said before anything is sent.
#[test]
fn create_an_account_from_the_first_screen() {
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::account_form(ui, &mut s.model, &mut s.commands),
        State::default(),
    );
    h.get_by_label("Create an account").click();
    h.run();
    type_into(&mut h, Role::TextInput, "Address", "newbie@example.org");
    type_into(&mut h, Role::PasswordInput, "Password", "s3cret-pw");
    type_into(&mut h, Role::PasswordInput, "Repeat password", "s3cret-px");
    h.get_by_role_and_label(Role::Button, "Create account")
        .click();
    h.run();
    assert!(h.state().commands.is_empty());
    h.get_by_label("The two passwords differ");
    h.get_by_role_and_label(Role::PasswordInput, "Repeat password")
        .focus();
    h.run();
    h.key_press(egui::Key::Backspace);
    h.run();
    type_into(&mut h, Role::PasswordInput, "Repeat password", "w");
    h.get_by_role_and_label(Role::Button, "Create account")
        .click();
    h.run_steps(3);
    assert_eq!(
        h.state().commands,
        [UiCommand::AddAccount {
            jid: "newbie@example.org".into(),
            password: "s3cret-pw".into(),
            server: None,
            ca_file: None,
            remember: false,
            register: true,
        }]
    );
    h.get_by_label("Creating the account…");
}

#[test]
fn try_it_locally_needs_no_account() {
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::account_form(ui, &mut s.model, &mut s.commands),
        State::default(),
    );
    h.get_by_role_and_label(Role::Button, "Try it locally")
        .click();
    // A spinner turns while it starts: step, do not wait for stillness.
    h.step();
    h.step();
    assert_eq!(h.state().commands, [UiCommand::TryLocally]);
    assert!(h.state().model.form.busy);
}

#[test]
fn advanced_server_must_be_host_and_port() {
    let mut state = State::default();
    state.model.form.jid = "alice@example.org".into();
    state.model.form.password = "pw".into();
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::account_form(ui, &mut s.model, &mut s.commands),
        state,
    );
    h.get_by_label("Advanced").click();
    h.run();
    type_into(&mut h, Role::TextInput, "Server", "xmpp.example.org");
    h.run();
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    h.run();
    assert!(h.state().commands.is_empty());
    h.get_by_label_contains("Server must be host:port");
}

#[test]
fn sending_a_message() {
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::conversation(ui, &mut s.model, &mut s.commands),
        State {
            model: signed_in(),
            ..Default::default()
        },
    );
    type_into(&mut h, Role::TextInput, "Message", "hello Bob");
    h.run();
    h.get_by_role_and_label(Role::Button, "Send").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [
            // The first key tells Bob we are typing (XEP-0085).
            UiCommand::Typing {
                to: "bob@example.org".into(),
                state: TypingState::Composing
            },
            UiCommand::SendMessage {
                to: "bob@example.org".into(),
                body: "hello Bob".into()
            }
        ]
    );
    // The draft is cleared; the message appears once the client reports it.
    h.state_mut()
        .model
        .conversations
        .get_mut("bob@example.org")
        .unwrap()
        .items
        .push(TimelineItem::Message {
            id: "1".into(),
            seq: 1,
            outgoing: true,
            body: "hello Bob".into(),
            ts_ms: 0,
            delivery: Delivery::Delivered,
            extra: Default::default(),
        });
    h.run();
    h.get_by_label("hello Bob");
    h.get_by_label_contains(" · delivered");
}

#[test]
fn timeline_has_days_times_typing_and_earlier_messages() {
    let now = 1_790_000_000_000;
    let mut model = signed_in();
    model.now_ms = now;
    let conv = model
        .conversations
        .entry("bob@example.org".into())
        .or_default();
    conv.more_history = true;
    conv.peer_typing = true;
    for (i, ts) in [now - 86_400_000, now - 60_000].into_iter().enumerate() {
        conv.items.push(TimelineItem::Message {
            id: i.to_string(),
            seq: i as i64 + 1,
            outgoing: false,
            body: format!("message {i}"),
            ts_ms: ts,
            delivery: Delivery::Received,
            extra: Default::default(),
        });
    }
    conv.items.push(TimelineItem::Call {
        id: "c0".into(),
        outgoing: false,
        answered: false,
        duration_s: None,
        ts_ms: now,
    });
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::conversation(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    h.get_by_label("Yesterday");
    h.get_by_label("Today");
    h.get_by_label_contains("Missed call · ");
    h.get_by_label("Bob is typing…");
    h.get_by_role_and_label(Role::Button, "Show earlier messages")
        .click();
    h.run();
    assert_eq!(
        h.state().commands,
        [
            // Bob's messages are on screen: read (once).
            UiCommand::MarkRead {
                jid: "bob@example.org".into()
            },
            UiCommand::LoadEarlier {
                jid: "bob@example.org".into()
            }
        ]
    );
}

#[test]
fn call_button_follows_the_contacts_capabilities() {
    let mut model = signed_in();
    model.contacts[0].can_audio = false;
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::conversation(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    h.get_by_role_and_label(Role::Button, "Call").click();
    h.run();
    assert!(h.state().commands.is_empty(), "disabled without caps");
    h.state_mut().model.contacts[0].can_audio = true;
    h.run();
    h.get_by_role_and_label(Role::Button, "Call").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::Call {
            jid: "bob@example.org".into(),
            video: false
        }]
    );
}

#[test]
fn incoming_call_accept_and_decline() {
    let mut model = signed_in();
    model.incoming = Some(IncomingCall {
        id: "c1".into(),
        peer: "bob@example.org".into(),
        video: false,
    });
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::incoming_call(ui.ctx(), &s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    h.get_by_label("Bob is calling");
    h.get_by_role_and_label(Role::Button, "Decline").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Accept").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [
            UiCommand::DeclineCall { id: "c1".into() },
            UiCommand::AcceptCall {
                id: "c1".into(),
                video: false
            }
        ]
    );
}

#[test]
fn in_call_mute_hold_and_hang_up() {
    let mut model = signed_in();
    let mut call = ActiveCall::new("c1", "bob@example.org", CallPhase::Active);
    call.elapsed_s = 75;
    call.mic_level_dbfs = -20.0;
    model.call = Some(call);
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::call_bar(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    // The contact's name, not the JID (issue #22), and the call's timer under it.
    h.get_by_label("Bob");
    assert!(h.query_by_label("bob@example.org").is_none());
    h.get_by_label("01:15");
    h.get_by_role_and_label(Role::Button, "Mute").click();
    h.run();
    h.state_mut().model.call.as_mut().unwrap().muted = true;
    h.run();
    h.get_by_role_and_label(Role::Button, "Unmute");
    // Talking while muted (the level is the microphone's, before muting) is said.
    h.get_by_label("You are muted: the others do not hear you.");
    h.state_mut().model.call.as_mut().unwrap().mic_level_dbfs = -70.0;
    h.run();
    assert!(h
        .query_by_label("You are muted: the others do not hear you.")
        .is_none());
    h.get_by_role_and_label(Role::Button, "Hold").click();
    h.run();
    // The peer's own news is shown in words.
    h.state_mut().model.call.as_mut().unwrap().peer_muted = true;
    h.run();
    h.get_by_label("Bob muted their microphone.");
    // A lost network path (ICE restarting) is said before anything else, and goes.
    let lost = "Reconnecting: the network path to Bob is lost. \
                The call goes on when it is found again.";
    h.state_mut().model.call.as_mut().unwrap().reconnecting = true;
    h.run();
    h.get_by_label(lost);
    h.state_mut().model.call.as_mut().unwrap().reconnecting = false;
    h.run();
    assert!(h.query_by_label(lost).is_none());
    // A microphone that delivers only silence for 5 s is said.
    {
        let c = h.state_mut().model.call.as_mut().unwrap();
        c.muted = false;
        c.held = false;
        c.peer_muted = false;
        c.silent_s = 5;
    }
    h.run();
    h.get_by_label_contains("Your microphone has sent only silence for 5 s");
    h.get_by_role_and_label(Role::Button, "Hang up").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [
            UiCommand::SetMuted {
                id: "c1".into(),
                muted: true
            },
            UiCommand::SetHeld {
                id: "c1".into(),
                held: true
            },
            UiCommand::Hangup { id: "c1".into() }
        ]
    );
}

#[test]
fn ten_thousand_contacts_stay_smooth() {
    let mut model = signed_in();
    model.contacts = (0..10_000)
        .map(|i| ContactRow {
            jid: format!("user{i:05}@example.org"),
            availability: if i % 3 == 0 {
                Availability::Available
            } else {
                Availability::Offline
            },
            ..Default::default()
        })
        .collect();
    let mut h = Harness::builder().with_size([320.0, 600.0]).build_ui_state(
        |ui, s: &mut State| view::contact_list(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    // Only the rows in view exist in the UI tree.
    assert!(h.query_by_label("user00000@example.org").is_some());
    assert!(h.query_by_label("user09999@example.org").is_none());
    // Filtering finds any of them.
    type_into(&mut h, Role::TextInput, "Search contacts", "user09999");
    h.run();
    h.get_by_label("user09999@example.org").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::SelectContact {
            jid: "user09999@example.org".into()
        }]
    );
}

#[test]
fn settings_switch_devices_and_call_options() {
    let mut model = signed_in();
    model.microphones = vec!["Built-in Audio".into(), "USB Headset".into()];
    model.speakers = vec!["Built-in Audio".into()];
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::settings_panel(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    h.get_by_role_and_label(Role::ComboBox, "Microphone")
        .click();
    h.run();
    h.get_by_label("USB Headset").click();
    h.run();
    h.get_by_label("Relay calls through the server (hides your IP address)")
        .click();
    h.run();
    assert_eq!(h.state().model.microphone.as_deref(), Some("USB Headset"));
    assert_eq!(
        h.state().commands,
        [
            UiCommand::SetMicrophone {
                name: Some("USB Headset".into())
            },
            UiCommand::ChangeSettings(Settings {
                echo_cancellation: true,
                relay_only: true,
                calls_from_anyone: false,
                // On unless turned off.
                omemo: true,
                background: true,
            })
        ]
    );
}

/// Settings → Desktop: keeping running in the tray can be turned off only when
/// there is a tray (without one, closing quits, and the box says why it is grey);
/// "Start Banter when I log in" asks for the autostart entry.
#[test]
fn settings_desktop_tray_and_autostart() {
    let label = "Keep running in the tray when the window is closed (calls still ring)";
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::settings_panel(ui, &mut s.model, &mut s.commands),
        State {
            model: signed_in(),
            ..Default::default()
        },
    );
    assert!(kittest::NodeT::accesskit_node(&h.get_by_label(label)).is_disabled());
    h.get_by_label("No system tray was found: closing the window quits Banter.");
    h.get_by_label("Start Banter when I log in").click();
    h.run();
    assert_eq!(h.state().commands, [UiCommand::SetAutostart(true)]);
    h.state_mut().commands.clear();
    h.state_mut().model.desktop.tray = true;
    h.run();
    h.get_by_label(label).click();
    h.run();
    assert!(matches!(
        h.state().commands.as_slice(),
        [UiCommand::ChangeSettings(Settings {
            background: false,
            ..
        })]
    ));
}

/// Settings → Account: a new password typed twice; deletion only once the address is
/// typed again.
#[test]
fn settings_change_password_and_delete_account() {
    // Tall enough for the whole panel: the Account section is its last.
    let mut h = Harness::builder()
        .with_size([800.0, 1000.0])
        .build_ui_state(
            |ui, s: &mut State| view::settings_panel(ui, &mut s.model, &mut s.commands),
            State {
                model: signed_in(),
                ..Default::default()
            },
        );
    type_into(&mut h, Role::PasswordInput, "New password", "n3w");
    h.get_by_role_and_label(Role::Button, "Change password")
        .click();
    h.run();
    h.get_by_label("The two passwords differ");
    assert!(h.state().commands.is_empty());
    type_into(&mut h, Role::PasswordInput, "Repeat new password", "n3w");
    h.get_by_role_and_label(Role::Button, "Change password")
        .click();
    h.run_steps(3);
    assert_eq!(
        h.state().commands,
        [UiCommand::ChangePassword {
            password: "n3w".into()
        }]
    );
    // The answer came (the window clears `busy`): now delete.
    h.state_mut().model.account_settings.busy = false;
    h.state_mut().commands.clear();
    h.run();
    h.get_by_role_and_label(Role::Button, "Delete account")
        .click();
    h.run();
    assert!(
        h.state().commands.is_empty(),
        "deleted without confirmation"
    );
    type_into(
        &mut h,
        Role::TextInput,
        "Confirm address",
        "alice@example.org",
    );
    h.get_by_role_and_label(Role::Button, "Delete account")
        .click();
    h.run_steps(3);
    assert_eq!(h.state().commands, [UiCommand::DeleteAccount]);
}

#[test]
fn call_history_lists_calls_and_opens_the_conversation() {
    let mut model = signed_in();
    model.now_ms = 1_790_000_000_000;
    model.call_log = vec![
        CallLogRow {
            id: "2".into(),
            peer: "bob@example.org".into(),
            outgoing: false,
            duration_s: None,
            ts_ms: model.now_ms - 60_000,
        },
        CallLogRow {
            id: "1".into(),
            peer: "carol@example.org".into(),
            outgoing: true,
            duration_s: Some(125),
            ts_ms: model.now_ms - 86_400_000,
        },
    ];
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::left_column(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    h.get_by_label("Calls (1 missed)").click();
    h.run();
    h.get_by_label_contains("Missed call · Today");
    h.get_by_label_contains("Outgoing call, 2 min 5 s · Yesterday");
    h.get_by_label("carol@example.org").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::SelectContact {
            jid: "carol@example.org".into()
        }]
    );
}

#[test]
fn account_switcher_switches_and_adds() {
    let mut model = signed_in();
    model.accounts = vec!["alice@example.org".into(), "work@example.com".into()];
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::account_switcher(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    h.get_by_role(Role::ComboBox).click();
    h.run();
    h.get_by_label("work@example.com").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::SwitchAccount {
            jid: "work@example.com".into()
        }]
    );
    h.get_by_role(Role::ComboBox).click();
    h.run();
    h.get_by_label("Add another account…").click();
    h.run();
    assert!(h.state().model.adding_account);
}

/// The form works from the keyboard: Tab moves from field to field, Enter in the
/// message box sends.
#[test]
fn keyboard_tab_through_the_form_and_enter_to_send() {
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::account_form(ui, &mut s.model, &mut s.commands),
        State::default(),
    );
    h.get_by_role_and_label(Role::TextInput, "Address").focus();
    h.run();
    h.key_press(egui::Key::Tab);
    h.run();
    assert!(h
        .get_by_role_and_label(Role::PasswordInput, "Password")
        .is_focused());

    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::conversation(ui, &mut s.model, &mut s.commands),
        State {
            model: signed_in(),
            ..Default::default()
        },
    );
    type_into(&mut h, Role::TextInput, "Message", "by keyboard");
    h.key_press(egui::Key::Enter);
    h.run();
    assert!(h.state().commands.iter().any(|c| matches!(
        c,
        UiCommand::SendMessage { body, .. } if body == "by keyboard"
    )));
}

#[test]
fn remove_a_contact_from_the_conversation_menu() {
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::conversation(ui, &mut s.model, &mut s.commands),
        State {
            model: signed_in(),
            ..Default::default()
        },
    );
    h.get_by_role_and_label(Role::Button, "More").click();
    h.run();
    h.get_by_label("Remove Bob from contacts").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::RemoveContact {
            jid: "bob@example.org".into()
        }]
    );
}

#[test]
fn incoming_video_call_accepted_with_video() {
    let mut model = signed_in();
    model.incoming = Some(IncomingCall {
        id: "c1".into(),
        peer: "bob@example.org".into(),
        video: true,
    });
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::incoming_call(ui.ctx(), &s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    h.get_by_role_and_label(Role::Button, "Accept with video")
        .click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::AcceptCall {
            id: "c1".into(),
            video: true
        }]
    );
}

/// In an audio call the camera button starts video; in a video call it turns the
/// camera off and on. The camera picker switches the camera.
#[test]
fn camera_button_and_picker() {
    let mut model = signed_in();
    model.call = Some(ActiveCall::new("c1", "bob@example.org", CallPhase::Active));
    model.cameras = vec!["HD Webcam C920".into(), model_pattern()];
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::call_bar(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    h.get_by_role_and_label(Role::Button, "Start video").click();
    h.run();
    {
        let call = h.state_mut().model.call.as_mut().unwrap();
        call.video = true;
        call.camera_on = true;
    }
    h.run();
    h.get_by_role_and_label(Role::Button, "Camera off").click();
    h.run();
    h.get_by_role_and_label(Role::ComboBox, "Camera").click();
    h.run();
    h.get_by_label("Test pattern").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [
            UiCommand::SetCamera {
                id: "c1".into(),
                on: true
            },
            UiCommand::SetCamera {
                id: "c1".into(),
                on: false
            },
            UiCommand::SetCameraDevice {
                name: Some(model_pattern())
            },
        ]
    );
}

fn model_pattern() -> String {
    banter_ui::model::TEST_PATTERN.to_string()
}

/// The video area shows the peer's picture, named for screen readers, with the preview
/// only while our camera is on; before the first picture it says what it waits for.
#[test]
fn video_area_shows_remote_and_preview() {
    let mut call = ActiveCall::new("c1", "bob@example.org", CallPhase::Active);
    call.video = true;
    let mut h = Harness::new_ui_state(
        |ui, c: &mut ActiveCall| {
            view::video_area(ui, c, &c.peer.clone());
        },
        call,
    );
    h.get_by_label_contains("Waiting for bob@example.org");
    let ctx = h.ctx.clone();
    let tex = |name: &str, w: usize, h: usize| {
        banter_ui::model::VideoTexture(ctx.load_texture(
            name,
            egui::ColorImage::filled([w, h], egui::Color32::DARK_GREEN),
            egui::TextureOptions::LINEAR,
        ))
    };
    h.state_mut().remote_video = Some(tex("remote", 640, 480));
    h.state_mut().local_video = Some(tex("local", 320, 240));
    h.run();
    h.get_by_label("Video from bob@example.org");
    assert!(h.query_by_label("Your camera").is_none(), "camera is off");
    h.state_mut().camera_on = true;
    h.run();
    h.get_by_label("Your camera");
    // The peer's camera off: said in words, not a black picture.
    h.state_mut().peer_camera_off = true;
    h.run();
    h.get_by_label("bob@example.org turned their camera off");
    assert!(h.query_by_label("Video from bob@example.org").is_none());
}

/// Settings → Test my network: the button asks once and waits; the findings show,
/// each step and what it means.
#[test]
fn settings_test_my_network() {
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::settings_panel(ui, &mut s.model, &mut s.commands),
        State {
            model: signed_in(),
            ..Default::default()
        },
    );
    h.get_by_role_and_label(Role::Button, "Test my network")
        .click();
    h.run();
    assert_eq!(h.state().commands, [UiCommand::NetCheck]);
    assert!(h.state().model.net_check.running);
    assert!(
        h.query_by_label("Test my network").is_none(),
        "one check at a time"
    );
    h.get_by_label("Testing…");
    h.state_mut().model.net_check = NetCheckView {
        running: false,
        steps: vec![
            NetLine {
                finding: Finding::Problem,
                text: "STUN over UDP (turn.example.org:3478): no answer within 3 s".into(),
            },
            NetLine {
                finding: Finding::Good,
                text: "relay (TURN) over TLS (turn.example.org:5349): 40 ms".into(),
            },
        ],
        advice: vec![NetLine {
            finding: Finding::Warning,
            text: "UDP seems blocked on this network".into(),
        }],
    };
    h.run();
    h.get_by_label("STUN over UDP (turn.example.org:3478): no answer within 3 s");
    h.get_by_label("What this means");
    h.get_by_label("UDP seems blocked on this network");
    h.get_by_role_and_label(Role::Button, "Test my network");
}

/// With OMEMO on and the contact's devices known, the conversation says its messages
/// are encrypted; a click lists the devices with their fingerprints (in groups of
/// eight), and Verify on the blindly trusted one asks for exactly that device.
#[test]
fn encryption_state_devices_and_verify() {
    use banter_ui::model::{DeviceRow, OmemoView};
    let fp = "0123456789abcdef".repeat(4);
    let mut model = signed_in();
    model.settings.omemo = true;
    model.omemo = Some(OmemoView {
        jid: "bob@example.org".into(),
        own_fingerprint: Some("f".repeat(64)),
        devices: vec![
            DeviceRow {
                device_id: 1,
                fingerprint: Some(fp.clone()),
                trust: "blind".into(),
                active: true,
            },
            DeviceRow {
                device_id: 2,
                fingerprint: Some("e".repeat(64)),
                trust: "verified".into(),
                active: true,
            },
        ],
        open: false,
    });
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::conversation(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    assert!(h
        .query_by_label("01234567 89abcdef 01234567 89abcdef 01234567 89abcdef 01234567 89abcdef")
        .is_none());
    h.get_by_label("Encrypted").click();
    h.run();
    h.get_by_label("01234567 89abcdef 01234567 89abcdef 01234567 89abcdef 01234567 89abcdef");
    h.get_by_label("trusted (not verified)");
    // Only the device not verified yet offers Verify.
    h.get_by_label("Verify").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::TrustDevice {
            jid: "bob@example.org".into(),
            fingerprint: fp,
            verified: true,
        }]
    );

    // A contact without devices: its messages go unencrypted, and the window says so.
    h.state_mut().model.omemo.as_mut().unwrap().devices.clear();
    h.run();
    h.get_by_label("Not encrypted");
}

/// The call bar says whether the call is tied to the contact's OMEMO device: verified,
/// encrypted to a device trusted blindly, or (OMEMO on, no such tie) not verified.
#[test]
fn the_call_says_verified_encrypted_or_not_verified() {
    let mut model = signed_in();
    model.settings.omemo = true;
    model.call = Some(ActiveCall::new("c1", "bob@example.org", CallPhase::Active));
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::call_bar(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    h.get_by_label("Not verified");
    for (state, label) in [(Some(true), "Verified"), (Some(false), "Encrypted")] {
        h.state_mut().model.call.as_mut().unwrap().omemo_verified = state;
        h.run();
        h.get_by_label(label);
        assert!(h.query_by_label("Not verified").is_none());
    }
}

/// Rooms: the Rooms tab's Join a room form asks to join with the nick it suggests;
/// an invitation's Join takes its password; in a room, a message is sent to it,
/// and opening the room clears its unread and mention counts.
#[test]
fn rooms_are_joined_from_the_form_and_talked_in() {
    use banter_ui::model::LeftTab;
    let mut model = signed_in();
    model.selected = None;
    model.left_tab = LeftTab::Rooms;
    model.invitations.push(banter_ui::model::InvitationRow {
        room: "secret@rooms.example.org".into(),
        from: "carol@example.org".into(),
        reason: None,
        password: Some("pw".into()),
        mediated: false,
    });
    let mut h = whole_window(model);
    h.run();
    h.get_by_role_and_label(Role::Button, "Join").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::JoinRoom {
            room: "secret@rooms.example.org".into(),
            nick: "alice".into(),
            password: Some("pw".into()),
        }]
    );
    h.state_mut().commands.clear();
    h.state_mut().model.invitations.clear();
    h.get_by_label("Join or create a room").click();
    h.run();
    type_into(
        &mut h,
        Role::TextInput,
        "Room address",
        "team@rooms.example.org",
    );
    h.get_by_role_and_label(Role::Button, "Join").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::JoinRoom {
            room: "team@rooms.example.org".into(),
            nick: "alice".into(),
            password: None,
        }]
    );
    h.state_mut().commands.clear();

    // A new room, configured.
    h.get_by_label("Join or create a room").click();
    h.run();
    h.get_by_label("New room").click();
    h.run();
    type_into(
        &mut h,
        Role::TextInput,
        "Room address",
        "new@rooms.example.org",
    );
    type_into(&mut h, Role::TextInput, "Name", "New");
    h.get_by_label("Members only (people you invite)").click();
    h.get_by_label("Keep the room when everyone has left")
        .click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Create").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::CreateRoom {
            room: "new@rooms.example.org".into(),
            nick: "alice".into(),
            name: Some("New".into()),
            members_only: true,
            persistent: true,
            public: false,
            password: None,
        }]
    );
    h.state_mut().commands.clear();

    // The directory: asked, answered, narrowed, a room joined from it.
    h.get_by_label("Join or create a room").click();
    h.run();
    h.get_by_label("Directory").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "List").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::ListRooms {
            service: "conference.example.org".into(),
        }]
    );
    h.state_mut().commands.clear();
    {
        let f = &mut h.state_mut().model.join_form;
        f.listing = false;
        f.directory = Some(
            ["design", "team"]
                .into_iter()
                .map(|n| banter_ui::model::DirectoryRow {
                    jid: format!("{n}@conference.example.org"),
                    name: None,
                })
                .collect(),
        );
    }
    h.run();
    type_into(&mut h, Role::TextInput, "Search", "desi");
    h.get_by_role_and_label(Role::Button, "Join").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::JoinRoom {
            room: "design@conference.example.org".into(),
            nick: "alice".into(),
            password: None,
        }]
    );
    h.state_mut().commands.clear();

    let m = &mut h.state_mut().model;
    let r = m.room_mut("team@rooms.example.org");
    r.joined = true;
    r.nick = "alice".into();
    r.unread = 3;
    r.mentions = 1;
    m.selected_room = Some("team@rooms.example.org".into());
    h.run();
    let r = h.state().model.room("team@rooms.example.org").unwrap();
    assert_eq!((r.unread, r.mentions), (0, 0), "read once on screen");
    type_into(&mut h, Role::TextInput, "Message", "hello room");
    h.get_by_role_and_label(Role::Button, "Send").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::SendRoomMessage {
            room: "team@rooms.example.org".into(),
            body: "hello room".into(),
        }]
    );
}

/// A room that refused our nick offers the same nick with a mark, as one click.
#[test]
fn a_taken_nick_is_offered_again_with_a_mark() {
    let mut model = signed_in();
    model.selected = None;
    let r = model.room_mut("team@rooms.example.org");
    r.nick = "alice".into();
    r.left_reason = Some("that nickname is taken in this room: choose another".into());
    r.nick_taken = true;
    model.selected_room = Some("team@rooms.example.org".into());
    let mut h = whole_window(model);
    h.run();
    h.get_by_role_and_label(Role::Button, "Join as alice_")
        .click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::JoinRoom {
            room: "team@rooms.example.org".into(),
            nick: "alice_".into(),
            password: None,
        }]
    );
}

/// A moderator right-clicks an occupant in the People list and kicks them.
#[test]
fn a_moderator_kicks_from_the_people_list() {
    use banter_ui::command::Moderation;
    use banter_ui::model::OccupantRow;
    let mut model = signed_in();
    model.selected = None;
    let r = model.room_mut("team@rooms.example.org");
    r.joined = true;
    r.nick = "alice".into();
    r.show_occupants = true;
    for (nick, role, affiliation) in [
        ("alice", "moderator", "owner"),
        ("bob", "participant", "none"),
    ] {
        r.upsert_occupant(OccupantRow {
            nick: nick.into(),
            role: role.into(),
            affiliation: affiliation.into(),
            jid: None,
            show: "available".into(),
        });
    }
    model.selected_room = Some("team@rooms.example.org".into());
    let mut h = whole_window(model);
    h.run();
    h.get_by_label("bob").click_secondary();
    h.run();
    h.get_by_role_and_label(Role::Button, "Kick").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::ModerateOccupant {
            room: "team@rooms.example.org".into(),
            nick: "bob".into(),
            action: Moderation::Kick,
        }]
    );
}

/// Issue #15: the timeline's menu reacts, replies, edits and retracts; a chip takes
/// our reaction back; ↑ in the empty field edits our last message; a conversation on
/// screen is marked read once per new message from the peer.
#[test]
fn react_reply_edit_and_retract_from_the_timeline() {
    let mut model = signed_in();
    let conv = model
        .conversations
        .entry("bob@example.org".into())
        .or_default();
    let message = |id: &str, outgoing: bool, body: &str| TimelineItem::Message {
        id: id.into(),
        seq: 0,
        outgoing,
        body: body.into(),
        ts_ms: 0,
        delivery: Delivery::Received,
        extra: Default::default(),
    };
    conv.items = vec![
        message("b1", false, "Are we on for Friday?"),
        message("a1", true, "Yes!"),
    ];
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::conversation(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    );
    h.run();
    let to = || "bob@example.org".to_string();
    assert_eq!(h.state().commands, [UiCommand::MarkRead { jid: to() }]);
    h.state_mut().commands.clear();

    // React from the menu.
    h.get_by_label("Are we on for Friday?").click_secondary();
    h.run();
    h.get_by_role_and_label(Role::Button, "React").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "🎉").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::React {
            to: to(),
            id: "b1".into(),
            reactions: vec!["🎉".into()]
        }]
    );
    h.state_mut().commands.clear();

    // Reply from the menu: the field says so, Send sends a reply.
    h.get_by_label("Are we on for Friday?").click_secondary();
    h.run();
    h.get_by_role_and_label(Role::Button, "Reply").click();
    h.run();
    h.get_by_label_contains("Replying to");
    type_into(&mut h, Role::TextInput, "Message", "sure");
    h.get_by_role_and_label(Role::Button, "Send").click();
    h.run();
    assert!(
        h.state().commands.contains(&UiCommand::Reply {
            to: to(),
            id: "b1".into(),
            body: "sure".into()
        }),
        "{:?}",
        h.state().commands
    );
    h.state_mut().commands.clear();

    // ↑ in the empty field edits our last message; Send corrects it.
    h.get_by_role_and_label(Role::TextInput, "Message").focus();
    h.run();
    h.key_press(egui::Key::ArrowUp);
    h.run();
    h.get_by_label_contains("Editing your message");
    type_into(&mut h, Role::TextInput, "Message", " See you.");
    h.get_by_role_and_label(Role::Button, "Send").click();
    h.run();
    assert!(
        h.state().commands.contains(&UiCommand::Correct {
            to: to(),
            id: "a1".into(),
            body: "Yes! See you.".into()
        }),
        "{:?}",
        h.state().commands
    );
    h.state_mut().commands.clear();

    // Retract ours from the menu; theirs offers no retraction.
    h.get_by_label("Yes!").click_secondary();
    h.run();
    h.get_by_role_and_label(Role::Button, "Retract").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::Retract {
            to: to(),
            id: "a1".into()
        }]
    );
    h.get_by_label("Are we on for Friday?").click_secondary();
    h.run();
    assert!(h.query_by_label("Retract").is_none());
}

/// Issue #15: block and unblock from the conversation's menu.
#[test]
fn block_and_unblock_from_the_conversation_menu() {
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| view::conversation(ui, &mut s.model, &mut s.commands),
        State {
            model: signed_in(),
            ..Default::default()
        },
    );
    h.get_by_role_and_label(Role::Button, "More").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Block Bob").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::Block {
            jid: "bob@example.org".into(),
            blocked: true
        }]
    );
    h.state_mut().commands.clear();
    h.state_mut().model.blocked = vec!["bob@example.org".into()];
    h.get_by_role_and_label(Role::Button, "More").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Unblock Bob").click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::Block {
            jid: "bob@example.org".into(),
            blocked: false
        }]
    );
}

/// Issue #15: a reply's quote is a link to the message it answers: a click asks for
/// that message to be scrolled to, and the next frame does it (the request is then
/// done).
#[test]
fn a_replys_quote_jumps_to_the_original() {
    let mut model = signed_in();
    let conv = model
        .conversations
        .entry("bob@example.org".into())
        .or_default();
    conv.items.push(TimelineItem::Message {
        id: "b1".into(),
        seq: 1,
        outgoing: false,
        body: "the original".into(),
        ts_ms: 0,
        delivery: Delivery::Received,
        extra: Default::default(),
    });
    for i in 0..60 {
        conv.items.push(TimelineItem::Message {
            id: format!("x{i}"),
            seq: 2 + i,
            outgoing: i % 2 == 0,
            body: format!("filler {i}"),
            ts_ms: 0,
            delivery: Delivery::Received,
            extra: Default::default(),
        });
    }
    conv.items.push(TimelineItem::Message {
        id: "a1".into(),
        seq: 100,
        outgoing: true,
        body: "my answer".into(),
        ts_ms: 0,
        delivery: Delivery::Sent,
        extra: banter_ui::model::MessageExtras {
            reply: Some(banter_ui::model::ReplyPreview {
                id: "b1".into(),
                text: "the original".into(),
            }),
            ..Default::default()
        },
    });
    let mut h = Harness::builder()
        .with_size(egui::vec2(600.0, 400.0))
        .build_ui_state(
            |ui, s: &mut State| view::conversation(ui, &mut s.model, &mut s.commands),
            State {
                model,
                ..Default::default()
            },
        );
    h.run();
    let visible = |h: &Harness<'_, State>, text: &str| {
        let r = h.get_by_label(text).rect();
        r.max.y > 0.0 && r.min.y < 400.0
    };
    assert!(!visible(&h, "the original"), "scrolled to the bottom first");
    h.get_by_label("↪ the original").click();
    h.run();
    h.run();
    assert!(visible(&h, "the original"), "the original is on screen");
    let conv = &h.state().model.conversations["bob@example.org"];
    assert_eq!(conv.jump_to, None);
}

/// Share screen: the call bar's button asks the window for the picker; the picker
/// says nothing is sent before a pick, waits while the screen is looked at, then
/// offers monitors (numbered) and windows (by title) and shares the one clicked.
/// While sharing, a banner says so with its Stop, the button stops too, and the
/// camera button (the video is the screen) is not offered.
#[test]
fn screen_sharing_picker_banner_and_stop() {
    use banter_ui::model::ScreenChoice;
    let mut model = signed_in();
    model.call = Some(ActiveCall::new("c1", "bob@example.org", CallPhase::Active));
    let mut h = whole_window(model);
    h.get_by_role_and_label(Role::Button, "Share screen")
        .click();
    h.run();
    assert_eq!(
        h.state().commands,
        [UiCommand::PickScreen { id: "c1".into() }]
    );
    h.state_mut().model.call.as_mut().unwrap().screen_picker = Some(Vec::new());
    // A spinner turns meanwhile: a few frames, not until still.
    h.run_steps(4);
    h.get_by_label_contains("Nothing is sent before you pick");
    h.get_by_label_contains("Looking for monitors and windows");
    let ctx = h.ctx.clone();
    let thumbnail = banter_ui::model::VideoTexture(ctx.load_texture(
        "monitor",
        egui::ColorImage::filled([240, 135], egui::Color32::DARK_BLUE),
        egui::TextureOptions::LINEAR,
    ));
    let choice = |key: &str, title: Option<&str>, number| ScreenChoice {
        key: key.into(),
        title: title.map(str::to_string),
        number,
        width: 1920,
        height: 1080,
        thumbnail: None,
    };
    h.state_mut().model.call.as_mut().unwrap().screen_picker = Some(vec![
        ScreenChoice {
            thumbnail: Some(thumbnail),
            ..choice("monitor:0", None, 0)
        },
        choice("monitor:1", None, 1),
        choice("window:Notes — editor", Some("Notes — editor"), 0),
    ]);
    h.run();
    h.get_by_label("Monitor 1");
    h.get_by_label("Monitor 2");
    assert!(h.query_by_label_contains("Looking for").is_none());
    h.get_by_label("Notes — editor").click();
    h.run();
    assert_eq!(
        h.state().commands.last(),
        Some(&UiCommand::ShareScreen {
            id: "c1".into(),
            source: Some("window:Notes — editor".into())
        })
    );
    assert!(h.query_by_label("Monitor 1").is_none(), "the picker closed");
    {
        let call = h.state_mut().model.call.as_mut().unwrap();
        call.sharing = true;
        call.video = true;
        call.camera_on = true;
    }
    h.run();
    h.get_by_label("You are sharing your screen");
    assert!(h
        .query_by_role_and_label(Role::Button, "Camera off")
        .is_none());
    h.get_by_role_and_label(Role::Button, "Stop").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Stop sharing")
        .click();
    h.run();
    let stop = UiCommand::ShareScreen {
        id: "c1".into(),
        source: None,
    };
    let n = h.state().commands.len();
    assert_eq!(h.state().commands[n - 2..], [stop.clone(), stop]);
}

/// A picture larger than the video area (a shared screen) can be seen at its own
/// size and back; one that fits has no such switch.
#[test]
fn a_large_picture_is_seen_fitted_or_at_its_own_size() {
    let mut call = ActiveCall::new("c1", "bob@example.org", CallPhase::Active);
    call.video = true;
    let mut h = Harness::new_ui_state(
        |ui, c: &mut ActiveCall| {
            if view::video_area(ui, c, "Bob") {
                c.video_actual_size = !c.video_actual_size;
            }
        },
        call,
    );
    let ctx = h.ctx.clone();
    let tex = |w: usize, h: usize| {
        banter_ui::model::VideoTexture(ctx.load_texture(
            format!("remote-{w}"),
            egui::ColorImage::filled([w, h], egui::Color32::DARK_GREEN),
            egui::TextureOptions::LINEAR,
        ))
    };
    h.state_mut().remote_video = Some(tex(160, 120));
    h.run();
    assert!(h
        .query_by_role_and_label(Role::Button, "Actual size")
        .is_none());
    h.state_mut().remote_video = Some(tex(1920, 1080));
    h.run();
    h.get_by_role_and_label(Role::Button, "Actual size").click();
    h.run();
    assert!(h.state().video_actual_size);
    h.get_by_label("Video from Bob");
    h.get_by_role_and_label(Role::Button, "Fit").click();
    h.run();
    assert!(!h.state().video_actual_size);
}
