//! banter-ui: Banter's window in egui. It knows no network: it draws a `Model` and
//! returns the `UiCommand`s that clicks produce; the binary feeds the model from the
//! client's events and carries the commands out. So every screen can be tested with a
//! model built in the test (see tests/).

pub mod command;
pub mod fonts;
pub mod i18n;
pub mod model;
pub mod view;

pub use command::UiCommand;
pub use model::Model;

pub use eframe;
pub use egui;
