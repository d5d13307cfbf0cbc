//! The catalogues stay whole (every message in English and German, with the same
//! variables, none with a syntax error), plural rules pick the right form, the
//! system's language is read as gettext reads it, and no view passes an English
//! literal to a widget without the localisation layer.

use banter_ui::i18n::{self, Lang};

#[test]
fn catalogues_parse_and_match() {
    assert_eq!(i18n::catalogue_errors(), Vec::<String>::new());
    let en = i18n::catalogue(Lang::En);
    let de = i18n::catalogue(Lang::De);
    assert!(en.len() > 150, "only {} English messages", en.len());
    let mut ids = std::collections::HashSet::new();
    for (id, _) in &en {
        assert!(ids.insert(id.clone()), "{id} twice in English");
    }
    let de_map: std::collections::HashMap<_, _> = de.iter().cloned().collect();
    let en_map: std::collections::HashMap<_, _> = en.iter().cloned().collect();
    for (id, vars) in &en {
        match de_map.get(id) {
            None => panic!("{id} has no German"),
            Some(v) => assert_eq!(v, vars, "{id}: the variables differ"),
        }
    }
    for (id, _) in &de {
        assert!(en_map.contains_key(id), "{id} is German only");
    }
}

#[test]
fn the_language_follows_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(i18n::language_from(env(&[])), Lang::En);
    assert_eq!(
        i18n::language_from(env(&[("LANG", "de_DE.UTF-8")])),
        Lang::De
    );
    assert_eq!(
        i18n::language_from(env(&[("LANG", "de_AT.UTF-8")])),
        Lang::De
    );
    assert_eq!(
        i18n::language_from(env(&[("LANG", "fr_FR.UTF-8")])),
        Lang::En
    );
    let lc_all = env(&[("LANG", "de_DE.UTF-8"), ("LC_ALL", "en_US.UTF-8")]);
    assert_eq!(i18n::language_from(lc_all), Lang::En);
    let language = env(&[("LANG", "en_GB.UTF-8"), ("LANGUAGE", "de:en")]);
    assert_eq!(i18n::language_from(language), Lang::De);
    // gettext ignores LANGUAGE under the C locale.
    let c = env(&[("LANG", "C"), ("LANGUAGE", "de")]);
    assert_eq!(i18n::language_from(c), Lang::En);
}

/// Each test thread has its own language: English and German side by side, and a
/// message missing from a catalogue shows its id rather than nothing.
#[test]
fn messages_in_each_language() {
    i18n::set_thread_language(Some(Lang::De));
    let de = banter_ui::t!("common-settings");
    i18n::set_thread_language(Some(Lang::En));
    let en = banter_ui::t!("common-settings");
    assert_eq!(en, "Settings");
    assert_eq!(de, "Einstellungen");
    assert_eq!(banter_ui::t!("no-such-message"), "no-such-message");
    i18n::set_thread_language(None);
}

/// The views' sources: no string literal that starts with a letter goes straight into
/// a widget that shows text (it must come through `t!`).
#[test]
fn no_view_shows_a_literal() {
    let widgets = [
        ".label(\"",
        ".button(\"",
        ".small_button(\"",
        ".heading(\"",
        ".weak(\"",
        ".strong(\"",
        ".monospace(\"",
        ".hyperlink_to(\"",
        ".selectable_label(",
        ".checkbox(",
        ".on_hover_text(\"",
        ".on_disabled_hover_text(\"",
        ".hint_text(\"",
        ".selected_text(\"",
        "RichText::new(\"",
        "Button::new(\"",
        "Label::new(\"",
        "Checkbox::new(",
        "Window::new(\"",
        "from_label(\"",
        ".colored_label(",
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut found = Vec::new();
    let mut files = vec![std::path::PathBuf::from(dir)];
    while let Some(p) = files.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                files.push(e.unwrap().path());
            }
            continue;
        }
        let name = p.display().to_string();
        if !name.ends_with(".rs") || name.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for w in widgets {
                let w = w.trim_end_matches('"');
                let Some(at) = line.find(w) else { continue };
                let rest = &line[at + w.len()..];
                // The first literal of the call: not one inside `t!(…)`.
                let Some(q) = rest.find('"') else { continue };
                let through_t = rest[..q].trim_end().ends_with("t!(");
                let literal = rest[q + 1..].split('"').next().unwrap_or_default();
                let starts_a_word = literal.chars().next().is_some_and(char::is_alphabetic);
                // An example address (a hint) is not a word to translate.
                let address = literal.contains('@');
                if !through_t && starts_a_word && !address {
                    found.push(format!("{name}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "text not through t!:\n{}",
        found.join("\n")
    );
}
