//! `banter sound-test`, `camera-test` and `devices`.

use super::*;

pub(super) async fn sound_test(
    media: &MediaArgs,
    duration: f64,
    json: bool,
) -> Result<(), CliError> {
    let cfg = media.config()?;
    let mut out = std::io::stdout();
    let report = crate::soundtest::run(
        cfg.audio_in,
        cfg.audio_out,
        cfg.processing,
        Duration::from_secs_f64(duration.max(0.5)),
        |s| {
            if json {
                let _ = writeln!(out, "{}", client::stats_json(None, s));
            }
        },
    )
    .await?;
    if json {
        println!(
            "{}",
            json!({"event": "sound-test", "latency_ms": report.latency_ms,
                   "level_in_max": report.level_in_max, "level_out_max": report.level_out_max,
                   "packets": report.packets})
        );
    } else {
        println!(
            "one-way latency {:.1} ms (capture to playout, device buffers not included); \
             loudest input {:.0} dBFS, loudest output {:.0} dBFS",
            report.latency_ms, report.level_in_max, report.level_out_max
        );
    }
    Ok(())
}

pub(super) async fn camera_test(
    media: &MediaArgs,
    duration: f64,
    json: bool,
) -> Result<(), CliError> {
    let cfg = media.config()?;
    let mut out = std::io::stdout();
    let r = crate::cameratest::run(
        cfg.video_in,
        cfg.video_out,
        Duration::from_secs_f64(duration.max(1.0)),
        |s| {
            if json {
                let _ = writeln!(out, "{}", client::stats_json(None, s));
            }
        },
    )
    .await?;
    if json {
        let mut v = serde_json::to_value(&r).unwrap_or_default();
        v["event"] = json!("camera-test");
        println!("{v}");
    } else {
        println!(
            "{}: captured at {}x{}, {} fps; after {} and RTP {} pictures of {}x{} came \
             through at {:.1} fps, {:.0} kbit/s",
            r.camera,
            r.capture_width,
            r.capture_height,
            r.capture_fps,
            r.codec.unwrap_or("VP8"),
            r.frames_decoded,
            r.width,
            r.height,
            r.fps,
            r.send_kbps
        );
    }
    Ok(())
}

pub(super) fn devices(json: bool) {
    let (inputs, outputs) = banter_media::audio::list_devices();
    let cameras: Vec<String> = banter_media::video::camera::list()
        .into_iter()
        .map(|c| format!("{} ({})", c.name, c.path))
        .collect();
    if json {
        println!(
            "{}",
            json!({"event": "devices", "inputs": inputs, "outputs": outputs, "cameras": cameras})
        );
        return;
    }
    let show = |title: &str, v: &[String]| {
        println!("{title}:");
        if v.is_empty() {
            println!("  (none found)");
        }
        for d in v {
            println!("  {d}");
        }
    };
    show("audio inputs", &inputs);
    show("audio outputs", &outputs);
    show("cameras", &cameras);
}
