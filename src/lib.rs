//! Banter: a desktop XMPP client for voice and video calls, with chat alongside.
//!
//! This crate holds the XMPP layer (`xmpp`), the local store (`store`) and the
//! `client` that front ends drive with commands and events. Media lives in the
//! `banter-media` crate, the window in `banter-ui`.

mod backlog;
pub mod cameratest;
pub mod cli;
pub mod client;
pub mod fuzzing;
pub mod jingle;
mod limits;
pub mod local;
pub mod notify;
pub mod secrets;
pub mod signals;
pub mod soundtest;
pub mod store;
pub mod window;
pub mod xmpp;

pub use client::{start, ClientHandle, Command, Config, Event};
pub use xmpp_parsers;
