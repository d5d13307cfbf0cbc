// Links Debian's libspeexdsp (echo canceller and preprocessor; package libspeexdsp-dev)
// and builds the small C shims over libvpx (VP8 and VP9; package libvpx-dev) and V4L2 (cameras;
// the kernel headers of linux-libc-dev).
fn main() {
    println!("cargo:rustc-link-lib=speexdsp");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc/banter_vpx.c");
    println!("cargo:rerun-if-changed=csrc/banter_v4l2.c");
    // -O2 even in debug builds: these run once per video frame.
    cc::Build::new()
        .file("csrc/banter_vpx.c")
        .file("csrc/banter_v4l2.c")
        .opt_level(2)
        .warnings(true)
        .compile("banter_video");
    println!("cargo:rustc-link-lib=vpx");
}
