//! The window's fonts. Icons: Material Symbols (egui_material_icons), added once per
//! context when the window is first drawn.
//!
//! Emoji in colour: a system colour-emoji font (Noto Color Emoji, the Debian package
//! fonts-noto-color-emoji), when there is one, goes before egui's bundled monochrome
//! emoji in every family. Without one, emoji still render, in black and white.

/// Where distributions put a colour-emoji font.
const COLOUR_EMOJI: &[&str] = &[
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto-emoji/NotoColorEmoji.ttf",
];

/// Installs the first colour-emoji font found; whether one was.
pub fn install_colour_emoji(ctx: &egui::Context) -> bool {
    let Some(bytes) = COLOUR_EMOJI.iter().find_map(|p| std::fs::read(p).ok()) else {
        return false;
    };
    let mut fonts = egui::FontDefinitions::default();
    fonts.font_data.insert(
        "colour-emoji".into(),
        std::sync::Arc::new(egui::FontData::from_owned(bytes)),
    );
    for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
        let list = fonts.families.entry(family).or_default();
        // After the text font (its letters stay), before the monochrome emoji.
        list.insert(1.min(list.len()), "colour-emoji".into());
    }
    ctx.set_fonts(fonts);
    true
}

/// Adds the icon font to `ctx` unless it has it (egui checks by name: cheap each
/// frame, and it comes back after `set_fonts` replaced the fonts).
pub fn ensure_icons(ctx: &egui::Context) {
    egui_material_icons::initialize(ctx);
}
