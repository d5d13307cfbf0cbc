//! A contact's face (issue #15, avatars): their picture in a disc, or, without one, a
//! disc in a colour of their own (from the address, so the same everywhere and
//! every time) with the initials of their name.

use super::*;

/// Up to two initials: the first letters of the first two words of the name, or the
/// first letter of the address.
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '@' || c == '.')
        .filter(|w| !w.is_empty())
        .collect();
    let first = |w: &str| {
        w.chars()
            .next()
            .map(|c| c.to_uppercase().collect::<String>())
    };
    let mut out = words.first().and_then(|w| first(w)).unwrap_or_default();
    // A second initial only for names of several words ("Bob Smith"), not for an
    // address ("bob@example.org" is "B").
    if !name.contains('@') {
        if let Some(second) = words.get(1).and_then(|w| first(w)) {
            out.push_str(&second);
        }
    }
    if out.is_empty() {
        "?".into()
    } else {
        out
    }
}

/// The contact's colour: a hue from its address (FNV-1a), in a strength that white
/// initials read on in light and dark themes alike.
pub fn colour_of(jid: &str) -> Color32 {
    let h = jid.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let hue = (h % 360) as f32 / 360.0;
    egui::ecolor::Hsva::new(hue, 0.6, 0.6, 1.0).into()
}

/// Paints the disc of `size` at `centre`: the picture, else the initials.
pub fn paint_avatar(ui: &egui::Ui, centre: egui::Pos2, size: f32, face: Face<'_>) {
    let Face { name, jid, picture } = face;
    if let Some(p) = picture {
        let rect = egui::Rect::from_center_size(centre, Vec2::splat(size));
        egui::Image::new(&p.0)
            .corner_radius(size / 2.0)
            .paint_at(ui, rect);
        return;
    }
    let painter = ui.painter();
    painter.circle_filled(centre, size / 2.0, colour_of(jid));
    let g = painter.layout_no_wrap(
        initials(name),
        egui::FontId::proportional(size * 0.42),
        Color32::WHITE,
    );
    painter.galley(centre - g.size() / 2.0, g, Color32::WHITE);
}

/// Whose face: name and address, and their picture if there is one.
#[derive(Clone, Copy)]
pub struct Face<'a> {
    pub name: &'a str,
    pub jid: &'a str,
    pub picture: Option<&'a crate::model::VideoTexture>,
}

impl<'a> Face<'a> {
    /// A contact's face as the model knows it (a stranger: the address alone).
    pub fn of(model: &'a Model, jid: &'a str) -> Face<'a> {
        let c = model.contact(jid);
        Face {
            name: c.map_or(jid, |c| c.display_name()),
            jid,
            picture: c.and_then(|c| c.avatar.as_ref()),
        }
    }
}

/// The disc as a widget of its own (a header, a call window).
pub fn avatar(ui: &mut egui::Ui, size: f32, face: Face<'_>) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(size), egui::Sense::hover());
    if ui.is_rect_visible(rect) {
        paint_avatar(ui, rect.center(), size, face);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_of_names_and_addresses() {
        assert_eq!(initials("Bob Smith"), "BS");
        assert_eq!(initials("carol"), "C");
        assert_eq!(initials("dave@example.org"), "D");
        assert_eq!(initials("émile zola"), "ÉZ");
        assert_eq!(initials("   "), "?");
        assert_eq!(colour_of("bob@x"), colour_of("bob@x"));
        assert_ne!(colour_of("bob@x"), colour_of("carol@x"));
    }
}
