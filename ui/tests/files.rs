//! Issue #15, files in the window: files dropped on a conversation and a pasted
//! picture become sends to that peer; a file card offers Download, shows its
//! progress with Cancel, then Open; a stranger's picture waits for "Show picture";
//! an upload on its way shows its progress and can be cancelled.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use banter_ui::model::{
    Availability, ContactRow, Delivery, FileLink, FileState, MessageExtras, Model, TimelineItem,
    Upload,
};
use banter_ui::{view, UiCommand};
use egui::accesskit::Role;
use egui_kittest::Harness;
use kittest::Queryable as _;

#[derive(Default)]
struct State {
    model: Model,
    commands: Vec<UiCommand>,
}

#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        Ok(Vec::new())
    }
}

const BOB: &str = "bob@example.org";

fn with_file(state: FileState, mime: &str) -> Model {
    let mut m = Model {
        account: Some("alice@example.org".into()),
        contacts: vec![ContactRow {
            jid: BOB.into(),
            name: Some("Bob".into()),
            availability: Availability::Available,
            ..Default::default()
        }],
        selected: Some(BOB.into()),
        ..Default::default()
    };
    let conv = m.conversations.entry(BOB.into()).or_default();
    conv.items.push(TimelineItem::Message {
        id: "f1".into(),
        seq: 1,
        outgoing: false,
        body: "https://up.example.org/f/minutes.pdf".into(),
        ts_ms: 0,
        delivery: Delivery::Received,
        extra: MessageExtras {
            file: Some(Box::new(FileLink {
                name: "minutes.pdf".into(),
                url: "https://up.example.org/f/minutes.pdf".into(),
                mime: Some(mime.into()),
                size: Some(2_400_000),
                state,
                ..Default::default()
            })),
            ..Default::default()
        },
    });
    m
}

fn conversation(model: Model) -> Harness<'static, State> {
    Harness::new_ui_state(
        |ui, s: &mut State| view::conversation(ui, &mut s.model, &mut s.commands),
        State {
            model,
            ..Default::default()
        },
    )
}

#[test]
fn dropped_files_and_a_pasted_picture_go_to_the_conversation() {
    let mut h = conversation(with_file(FileState::Remote, "application/pdf"));
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped("/tmp/a.pdf".into())));
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped("/tmp/b.png".into())));
    h.run();
    let picture = egui::ColorImage::filled([2, 1], egui::Color32::from_rgb(10, 20, 30));
    h.event(egui::Event::PasteImage(Arc::new(picture)));
    h.run();
    let cmds = &h.state().commands;
    assert!(
        cmds.contains(&UiCommand::SendFiles {
            to: BOB.into(),
            paths: vec!["/tmp/a.pdf".into(), "/tmp/b.png".into()],
        }),
        "{cmds:?}"
    );
    assert!(
        cmds.contains(&UiCommand::SendPicture {
            to: BOB.into(),
            width: 2,
            height: 1,
            rgba: [10, 20, 30, 255].repeat(2),
        }),
        "{cmds:?}"
    );
    // 📎 opens the desktop's picker for this peer.
    h.get_by_role_and_label(Role::Button, "📎").click();
    h.run();
    assert!(h
        .state()
        .commands
        .contains(&UiCommand::AttachFile { to: BOB.into() }));
}

#[test]
fn a_file_card_downloads_shows_progress_and_opens() {
    let mut h = conversation(with_file(FileState::Remote, "application/pdf"));
    h.get_by_label_contains("minutes.pdf · 2.3 MB");
    h.get_by_role_and_label(Role::Button, "Download").click();
    h.run();
    assert!(h.state().commands.contains(&UiCommand::FetchFile {
        peer: BOB.into(),
        id: "f1".into(),
        url: "https://up.example.org/f/minutes.pdf".into(),
        preview: false,
    }));

    let mut h = conversation(with_file(
        FileState::Fetching {
            done: 1_200_000,
            total: Some(2_400_000),
        },
        "application/pdf",
    ));
    h.get_by_label_contains("1.1 MB of 2.3 MB");
    h.get_by_role_and_label(Role::Button, "Cancel").click();
    h.run();
    assert!(h
        .state()
        .commands
        .contains(&UiCommand::CancelTransfer { id: "dl:f1".into() }));

    let saved = PathBuf::from("/home/alice/Downloads/minutes.pdf");
    let mut h = conversation(with_file(
        FileState::Saved(saved.clone()),
        "application/pdf",
    ));
    h.get_by_role_and_label(Role::Button, "Open").click();
    h.run();
    assert!(h
        .state()
        .commands
        .contains(&UiCommand::OpenFile { path: saved }));

    // A picture not fetched (a stranger's): shown only on a click.
    let mut h = conversation(with_file(FileState::Remote, "image/jpeg"));
    h.get_by_role_and_label(Role::Button, "Show picture")
        .click();
    h.run();
    assert!(h.state().commands.contains(&UiCommand::FetchFile {
        peer: BOB.into(),
        id: "f1".into(),
        url: "https://up.example.org/f/minutes.pdf".into(),
        preview: true,
    }));
}

#[test]
fn an_upload_on_its_way_can_be_cancelled_and_a_failed_one_dismissed() {
    let mut m = with_file(FileState::Remote, "application/pdf");
    m.conversations.get_mut(BOB).unwrap().uploads = vec![
        Upload {
            id: "u1".into(),
            name: "slides.odp".into(),
            done: 500_000,
            total: Some(1_000_000),
            failed: None,
        },
        Upload {
            id: "u2".into(),
            name: "huge.iso".into(),
            failed: Some("huge.iso is 2.0 GB; your server takes files up to 10.0 MB".into()),
            ..Default::default()
        },
    ];
    let mut h = conversation(m);
    h.get_by_label_contains("your server takes files up to 10.0 MB");
    h.get_by_role_and_label(Role::Button, "Cancel").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "Dismiss").click();
    h.run();
    let cmds = &h.state().commands;
    assert!(
        cmds.contains(&UiCommand::CancelTransfer { id: "u1".into() }),
        "{cmds:?}"
    );
    assert!(cmds.contains(&UiCommand::DismissUpload {
        peer: BOB.into(),
        id: "u2".into()
    }));
}
