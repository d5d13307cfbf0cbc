//! Frame time of the main window while one contact floods it (issue #12): the
//! flooder's conversation is open, 1 000 contacts are listed, and every frame takes
//! in 30 chat messages and 120 presences (the rates `cargo bench --bench flood`
//! measured a `banter listen` handling: about 1 700 messages and 7 000 presences
//! a second, at 60 frames a second), until 5 000 messages and 2 000 presences have
//! arrived. Frame time = the events applied + layout and tessellation (no GPU).
//!
//!     cargo bench -p banter-ui --bench flood
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

use std::time::Instant;

use banter_ui::model::{Availability, ContactRow, Delivery, Model, TimelineItem};
use banter_ui::view;
use egui_kittest::Harness;

const FLOODER: &str = "user00000@example.org";

fn main() {
    let mut model = Model {
        account: Some("alice@example.org".into()),
        now_ms: 1_780_000_000_000,
        ..Default::default()
    };
    model.contacts = (0..1_000)
        .map(|i| ContactRow {
            jid: format!("user{i:05}@example.org"),
            name: Some(format!("User {i}")),
            ..Default::default()
        })
        .collect();
    model.selected = Some(FLOODER.into());
    let mut harness = Harness::builder().with_size([960.0, 640.0]).build_ui_state(
        |ui, m: &mut Model| {
            let _ = view::show(ui, m);
        },
        model,
    );
    for _ in 0..5 {
        harness.step();
    }
    let (mut messages, mut presences) = (0usize, 0usize);
    let mut times = Vec::new();
    while messages < 5_000 || presences < 2_000 {
        let t = Instant::now();
        let m = harness.state_mut();
        for _ in 0..30 {
            if messages < 5_000 {
                m.receive_message(
                    FLOODER,
                    TimelineItem::Message {
                        id: format!("f{messages}"),
                        seq: messages as i64 + 1,
                        outgoing: false,
                        body: format!("flood {messages}"),
                        ts_ms: 1_780_000_000_000 + messages as i64,
                        delivery: Delivery::Received,
                        extra: Default::default(),
                    },
                );
                messages += 1;
            }
        }
        for _ in 0..120 {
            if presences < 2_000 {
                let status = format!("{presences}");
                let show = if presences % 2 == 0 {
                    Availability::Away
                } else {
                    Availability::Available
                };
                m.set_presence(FLOODER, show, Some(status));
                presences += 1;
            }
        }
        harness.step();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let frames = times.len();
    let last = *times.last().unwrap_or(&0.0);
    let items = harness.state().conversations[FLOODER].items.len();
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{}",
        serde_json::json!({
            "messages": messages,
            "presences": presences,
            "frames": frames,
            "frame_ms_median": times[frames / 2],
            "frame_ms_p95": times[frames * 95 / 100],
            "frame_ms_max": times[frames - 1],
            "frame_ms_last": last,
            "timeline_items_kept": items,
        })
    );
}
