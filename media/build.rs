// Links Debian's libspeexdsp (echo canceller and preprocessor; package libspeexdsp-dev).
fn main() {
    println!("cargo:rustc-link-lib=speexdsp");
    println!("cargo:rerun-if-changed=build.rs");
}
