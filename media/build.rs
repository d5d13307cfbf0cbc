// Links Debian's libspeexdsp (echo canceller and preprocessor; package libspeexdsp-dev)
// and builds the small C shim over libvpx (VP8; package libvpx-dev).
fn main() {
    println!("cargo:rustc-link-lib=speexdsp");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc/banter_vpx.c");
    cc::Build::new()
        .file("csrc/banter_vpx.c")
        .warnings(true)
        .compile("banter_vpx");
    println!("cargo:rustc-link-lib=vpx");
}
