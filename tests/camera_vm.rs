//! Camera capture against a real V4L2 driver. This machine has no camera, so the test
//! boots Debian's kernel under QEMU with the kernel's virtual camera (vivid, the driver
//! V4L2 applications are tested against) and runs the real `banter` binary in it
//! (tests/vm/boot.sh). Its pictures go through the whole video path of a call and are
//! checked against vivid's colour bars.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use banter_media::video::y4m::read_y4m;
use serde_json::Value;

mod support;

/// vivid's default picture: 75 % colour bars, white to black (BT.601, limited range).
/// (Y, U, V) of each of the eight bars.
const BARS: [(u8, u8, u8); 8] = [
    (180, 128, 128), // white
    (162, 44, 142),  // yellow
    (131, 156, 44),  // cyan
    (112, 72, 58),   // green
    (84, 184, 198),  // magenta
    (65, 100, 212),  // red
    (35, 212, 114),  // blue
    (16, 128, 128),  // black
];

fn boot(out: &Path, script: &str) -> (bool, String) {
    std::fs::write(out.join("guest.sh"), script).unwrap();
    let boot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/boot.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(boot)
        .arg(out)
        .arg("/bin/sh")
        .arg(out.join("guest.sh"));
    let (ok, stdout, stderr) = support::run(cmd, Duration::from_secs(600));
    (ok, format!("{stdout}\n{stderr}"))
}

fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn a_v4l2_camera_through_the_call_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let o = out.display();
    let banter = env!("CARGO_BIN_EXE_banter");
    // The camera is listed; it goes through VP8 and RTP; and a second program asking
    // for it while it streams is told it is busy.
    let script = format!(
        "set -x
{banter} devices --json > {o}/devices.json 2> {o}/devices.err
{banter} camera-test --video-in camera:vivid --video-out {o}/cam.y4m --duration 6 \
  --json > {o}/test.json 2> {o}/test.err
echo $? > {o}/test.rc
{banter} camera-test --video-in camera:vivid --duration 8 > /dev/null 2>&1 &
sleep 3
{banter} camera-test --video-in camera:vivid --duration 1 > {o}/busy.out 2> {o}/busy.err
echo $? > {o}/busy.rc
wait
"
    );
    let (ok, log) = boot(out, &script);
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap_or_default();
    assert!(ok, "the guest failed: {log}\n{}", read("stderr"));

    let devices = events(&out.join("devices.json"));
    let cameras = devices.first().map(|d| d["cameras"].clone());
    assert!(
        cameras
            .as_ref()
            .and_then(|c| c.as_array())
            .is_some_and(|c| c.iter().any(|n| n == "vivid (/dev/video0)")),
        "cameras: {cameras:?} {}",
        read("devices.err")
    );

    assert_eq!(read("test.rc").trim(), "0", "{}", read("test.err"));
    let report = events(&out.join("test.json"))
        .into_iter()
        .find(|e| e["event"] == "camera-test")
        .expect("a camera-test report");
    eprintln!("{report}");
    assert_eq!(report["camera"], "vivid");
    assert_eq!(
        (&report["capture_width"], &report["capture_height"]),
        (&Value::from(640), &Value::from(480))
    );
    assert_eq!(
        (&report["width"], &report["height"]),
        (&report["capture_width"], &report["capture_height"])
    );
    // vivid's webcam gives 640x480 at 25 fps at most; the guest may be emulated (no
    // KVM on the CI machine), and then how fast vivid draws and the guest encodes is the
    // emulator's speed, not Banter's: the same build measured 16, 22 and 24 fps here
    // and 11 in a fresh-clone CI run (sending 48 pictures in 6 s, all 47 that followed
    // the first decoded). So what is checked is Banter's part: six seconds give ≥ 40
    // pictures even at the 11 fps a loaded emulated guest manages, and every picture
    // sent comes out of the decoder (at most the one in flight at the end missing).
    // (Until 2026-12-06 this also required a median of 15 fps, which measured the
    // emulator.)
    let decoded = report["frames_decoded"].as_u64().unwrap();
    let sent = report["frames_sent"].as_u64().unwrap();
    assert!(decoded >= 40, "{report}");
    assert!(
        decoded + 2 >= sent,
        "pictures lost in the pipeline: {report}"
    );

    // The pictures that came out are vivid's: its eight bars with their colours, and
    // its clock in the corner moving on.
    let data = std::fs::read(out.join("cam.y4m")).unwrap();
    let (w, h, frames) = read_y4m(&data).expect("a Y4M file");
    assert_eq!((w, h), (640, 480));
    assert!(frames.len() >= 40, "{} pictures", frames.len());
    for f in &frames[10..] {
        for (i, &(y, u, v)) in BARS.iter().enumerate() {
            let x = i * w / 8 + w / 16;
            let row = 400;
            let got = (
                f.y[row * w + x],
                f.u[row / 2 * w / 2 + x / 2],
                f.v[row / 2 * w / 2 + x / 2],
            );
            let near = |a: u8, b: u8, tol: i16| (a as i16 - b as i16).abs() <= tol;
            assert!(
                near(got.0, y, 6) && near(got.1, u, 10) && near(got.2, v, 10),
                "bar {i}: got YUV {got:?}, vivid draws {:?}",
                (y, u, v)
            );
        }
    }
    let clock = |f: &banter_media::video::y4m::Y4mFrame| -> Vec<u8> {
        (4..20)
            .flat_map(|r| f.y[r * w + 16..r * w + 160].to_vec())
            .collect()
    };
    assert_ne!(
        clock(&frames[10]),
        clock(&frames[30]),
        "the picture does not move"
    );

    assert_ne!(read("busy.rc").trim(), "0", "a busy camera opened twice");
    assert!(
        read("busy.err").contains("vivid is in use by another program"),
        "{}",
        read("busy.err")
    );
}
