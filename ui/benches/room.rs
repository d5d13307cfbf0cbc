//! Frame time of a busy room on screen (issue #14): 2 000 occupants with the people
//! list open, and 100 000 messages arriving, 30 a frame (one busy room's worth at 60
//! frames a second). Every tenth names us. Frame time = the lines applied + layout
//! and tessellation (no GPU).
//!
//!     cargo bench -p banter-ui --bench room
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

use std::time::Instant;

use banter_ui::model::{Model, OccupantRow, RoomLine, RoomLineKind};
use banter_ui::view;
use egui_kittest::Harness;

const ROOM: &str = "busy@conference.example.org";
const MESSAGES: usize = 100_000;

fn main() {
    let mut model = Model {
        account: Some("alice@example.org".into()),
        now_ms: 1_780_000_000_000,
        ..Default::default()
    };
    let r = model.room_mut(ROOM);
    r.joined = true;
    r.nick = "alice".into();
    r.show_occupants = true;
    for i in 0..2_000u32 {
        r.upsert_occupant(OccupantRow {
            nick: format!("person{i:04}"),
            role: if i.is_multiple_of(50) {
                "moderator"
            } else {
                "participant"
            }
            .into(),
            affiliation: "none".into(),
            jid: None,
            show: "available".into(),
        });
    }
    model.selected_room = Some(ROOM.into());
    let mut harness = Harness::builder().with_size([960.0, 640.0]).build_ui_state(
        |ui, m: &mut Model| {
            let _ = view::show(ui, m);
        },
        model,
    );
    for _ in 0..5 {
        harness.step();
    }
    let mut sent = 0usize;
    let mut times = Vec::new();
    while sent < MESSAGES {
        let t = Instant::now();
        let m = harness.state_mut();
        for _ in 0..30 {
            let body = if sent.is_multiple_of(10) {
                format!("alice, message {sent} is for you")
            } else {
                format!("message {sent} for everyone in the room, long enough to wrap once or twice in a window of this size")
            };
            m.room_line(
                ROOM,
                RoomLine {
                    nick: format!("person{:04}", sent % 2_000),
                    body,
                    ts_ms: 1_780_000_000_000 + sent as i64,
                    kind: RoomLineKind::Message,
                    own: false,
                    mention: false,
                    ..Default::default()
                },
                false,
            );
            sent += 1;
        }
        harness.step();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let frames = times.len();
    let lines = harness.state().room(ROOM).map_or(0, |r| r.lines.len());
    times.sort_by(|a, b| a.total_cmp(b));
    let at = |q: usize| times.get(frames * q / 100).copied().unwrap_or(0.0);
    println!(
        "{}",
        serde_json::json!({
            "occupants": 2_000,
            "messages": sent,
            "frames": frames,
            "frame_ms_median": at(50),
            "frame_ms_p95": at(95),
            "frame_ms_max": times.last().copied().unwrap_or(0.0),
            "lines_kept": lines,
        })
    );
}
