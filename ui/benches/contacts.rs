//! Frame time of the main window with 10 000 contacts (layout and tessellation, no GPU):
//!
//!     cargo bench -p banter-ui --bench contacts
//!
//! Prints one JSON line; BENCHMARKS.md records the figures.

use std::time::Instant;

use banter_ui::model::{Availability, ContactRow, Model};
use banter_ui::view;
use egui_kittest::Harness;

fn main() {
    let mut model = Model {
        account: Some("alice@example.org".into()),
        ..Default::default()
    };
    model.contacts = (0..10_000)
        .map(|i| ContactRow {
            jid: format!("user{i:05}@example.org"),
            name: Some(format!("User {i}")),
            availability: if i % 3 == 0 {
                Availability::Available
            } else {
                Availability::Offline
            },
            status: (i % 5 == 0).then(|| "at work".to_string()),
            ..Default::default()
        })
        .collect();
    model.selected = Some("user00000@example.org".into());
    let mut harness = Harness::builder().with_size([960.0, 640.0]).build_ui_state(
        |ui, m: &mut Model| {
            let _ = view::show(ui, m);
        },
        model,
    );
    for _ in 0..20 {
        harness.step();
    }
    let frames = 300;
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        let t = Instant::now();
        harness.step();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{}",
        serde_json::json!({
            "contacts": 10_000,
            "frames": frames,
            "frame_ms_median": times[frames / 2],
            "frame_ms_p95": times[frames * 95 / 100],
        })
    );
}
