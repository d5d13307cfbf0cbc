//! Banter: a desktop XMPP client for voice and video calls, with chat alongside.
//!
//! This crate holds the XMPP layer (`xmpp`), Jingle calls (`jingle`), the local store
//! (`store`) and the `client` that front ends drive with commands and events. It knows
//! nothing of the front ends: the command line and the window (with the OS keyring,
//! notifications and signals) live in the binary (src/main.rs). Media lives in the
//! `banter-media` crate, the window's screens in `banter-ui`.

pub mod client;
pub mod fuzzing;
pub mod http;
pub mod jingle;
mod limits;
pub mod omemo;
pub mod rooms;
pub mod store;
pub mod xmpp;

pub use client::{start, ClientHandle, Command, Config, Event};
pub use xmpp_parsers;
