//! The `banter` binary: the command line and the window, on top of the core library
//! (`banter`: client, XMPP, Jingle, store). What only a front end needs lives here: the
//! OS keyring, desktop notifications, signals, the sound and camera tests.

mod autostart;
mod backlog;
mod cameratest;
mod cli;
mod instance;
mod notify;
mod secrets;
mod signals;
mod soundtest;
mod tray;
mod window;

fn main() -> std::process::ExitCode {
    cli::main()
}
