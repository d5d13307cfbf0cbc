//! Every word the window shows goes through here: Fluent catalogues
//! (`ui/locales/LANG/*.ftl`, built in), English and German, with their plural rules;
//! dates and times in the language's own format.
//!
//! `t!("id")` or `t!("id", name = value, …)` gives a message in the current language:
//! the UI thread's (tests set their own thread's, so they can run side by side), else
//! the one chosen for the process. A message missing from a catalogue falls back to
//! English; one missing from English shows its id (tests/i18n keep them complete).

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentResource, FluentValue};

/// A language the window speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Lang {
    #[default]
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// Its own name for itself (the Settings' picker shows each so).
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
        }
    }

    /// The code kept in settings.json.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::De => 1,
        }
    }

    /// chrono's locale for day and month names.
    pub fn chrono_locale(self) -> chrono::Locale {
        match self {
            Lang::En => chrono::Locale::en_GB,
            Lang::De => chrono::Locale::de_DE,
        }
    }
}

/// The catalogues, one list of files per language, in `Lang::index` order.
const CATALOGUES: [(&str, &[&str]); 2] = [
    (
        "en-GB",
        &[
            include_str!("../locales/en/common.ftl"),
            include_str!("../locales/en/account.ftl"),
            include_str!("../locales/en/call.ftl"),
            include_str!("../locales/en/chat.ftl"),
            include_str!("../locales/en/rooms.ftl"),
            include_str!("../locales/en/desktop.ftl"),
        ],
    ),
    (
        "de-DE",
        &[
            include_str!("../locales/de/common.ftl"),
            include_str!("../locales/de/account.ftl"),
            include_str!("../locales/de/call.ftl"),
            include_str!("../locales/de/chat.ftl"),
            include_str!("../locales/de/rooms.ftl"),
            include_str!("../locales/de/desktop.ftl"),
        ],
    ),
];

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static [Bundle; 2] {
    static BUNDLES: OnceLock<[Bundle; 2]> = OnceLock::new();
    BUNDLES.get_or_init(|| CATALOGUES.map(|(tag, files)| bundle(tag, files)))
}

fn bundle(tag: &str, files: &[&str]) -> Bundle {
    let langid = tag.parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![langid]);
    // No Unicode isolation marks around placeables: egui's fonts draw them as boxes.
    b.set_use_isolating(false);
    for text in files {
        let resource = match FluentResource::try_new((*text).to_string()) {
            Ok(r) => r,
            // A catalogue with a syntax error keeps the messages that parsed
            // (tests/i18n checks there are none).
            Err((r, _)) => r,
        };
        let _ = b.add_resource(resource);
    }
    b
}

/// The process's language (threads without their own use it).
static PROCESS: AtomicU8 = AtomicU8::new(0);

thread_local! {
    static THREAD: Cell<Option<Lang>> = const { Cell::new(None) };
}

/// The language of this process's window (and of threads without their own).
pub fn set_language(lang: Lang) {
    PROCESS.store(lang.index() as u8, Ordering::Relaxed);
}

/// This thread's own language (tests); `None` follows the process's.
pub fn set_thread_language(lang: Option<Lang>) {
    THREAD.with(|t| t.set(lang));
}

/// The language in use here.
pub fn language() -> Lang {
    THREAD
        .with(Cell::get)
        .unwrap_or(match PROCESS.load(Ordering::Relaxed) {
            1 => Lang::De,
            _ => Lang::En,
        })
}

/// The system's language, from the environment as POSIX orders it (`LC_ALL`, then
/// `LC_MESSAGES`, then `LANG`; `LANGUAGE`'s first entry before them, as gettext reads
/// it): German if it says so, else English.
pub fn system_language() -> Lang {
    language_from(|k| std::env::var(k).ok())
}

/// [`system_language`] from any source of variables (the tests give their own).
pub fn language_from(var: impl Fn(&str) -> Option<String>) -> Lang {
    let var = |k: &str| var(k).filter(|v| !v.is_empty());
    let locale = var("LC_ALL")
        .or_else(|| var("LC_MESSAGES"))
        .or_else(|| var("LANG"));
    // LANGUAGE counts only where a locale other than C/POSIX is set (gettext's rule).
    let first = var("LANGUAGE").and_then(|l| l.split(':').next().map(str::to_string));
    let chosen = match (locale, first) {
        (Some(l), Some(first)) if l != "C" && l != "POSIX" && !first.is_empty() => first,
        (Some(l), _) => l,
        (None, _) => return Lang::En,
    };
    if chosen.starts_with("de") {
        Lang::De
    } else {
        Lang::En
    }
}

/// Message `id` in the current language, its variables from `args`.
pub fn message(id: &str, args: Option<&FluentArgs>) -> String {
    let all = bundles();
    let here = &all[language().index()];
    for b in [here, &all[0]] {
        if let Some(pattern) = b.get_message(id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            return b.format_pattern(pattern, args, &mut errors).into_owned();
        }
    }
    id.to_string()
}

/// `x` with `digits` decimals, as the language writes them (1.5 in English, 1,5 in
/// German).
pub fn decimal(x: f64, digits: usize) -> String {
    let text = format!("{x:.digits$}");
    match language() {
        Lang::De => text.replace('.', ","),
        Lang::En => text,
    }
}

/// `t!("id")`, or `t!("id", name = value, …)` with values that are text or numbers.
#[macro_export]
macro_rules! t {
    ($id:expr) => {
        $crate::i18n::message($id, None)
    };
    ($id:expr, $($name:ident = $value:expr),+ $(,)?) => {{
        let mut args = $crate::i18n::FluentArgs::new();
        $( args.set(stringify!($name), $crate::i18n::Arg::arg($value)); )+
        $crate::i18n::message($id, Some(&args))
    }};
}

#[doc(hidden)]
pub use fluent_bundle::FluentArgs;

/// What can stand in a message: text or a number.
pub trait Arg {
    fn arg(self) -> FluentValue<'static>;
}

impl Arg for String {
    fn arg(self) -> FluentValue<'static> {
        FluentValue::from(self)
    }
}

impl Arg for &String {
    fn arg(self) -> FluentValue<'static> {
        FluentValue::from(self.clone())
    }
}

impl Arg for &str {
    fn arg(self) -> FluentValue<'static> {
        FluentValue::from(self.to_string())
    }
}

macro_rules! number_arg {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            fn arg(self) -> FluentValue<'static> {
                FluentValue::from(self as f64)
            }
        }
    )*};
}
number_arg!(u8, u16, u32, u64, usize, i32, i64, f32, f64);

/// Every message id of a language's catalogue, with the variables its value uses
/// (for the tests that keep the catalogues complete).
pub fn catalogue(lang: Lang) -> Vec<(String, Vec<String>)> {
    use fluent_syntax::ast;
    let mut out = Vec::new();
    for text in CATALOGUES[lang.index()].1 {
        let Ok(res) = fluent_syntax::parser::parse(*text) else {
            continue;
        };
        for entry in res.body {
            if let ast::Entry::Message(m) = entry {
                let mut vars = Vec::new();
                if let Some(p) = &m.value {
                    variables(p, &mut vars);
                }
                vars.sort();
                vars.dedup();
                out.push((m.id.name.to_string(), vars));
            }
        }
    }
    out
}

fn variables(p: &fluent_syntax::ast::Pattern<&str>, out: &mut Vec<String>) {
    use fluent_syntax::ast::{Expression, InlineExpression, PatternElement};
    fn inline(e: &InlineExpression<&str>, out: &mut Vec<String>) {
        if let InlineExpression::VariableReference { id } = e {
            out.push(id.name.to_string());
        }
    }
    for el in &p.elements {
        if let PatternElement::Placeable { expression } = el {
            match expression {
                Expression::Inline(e) => inline(e, out),
                Expression::Select { selector, variants } => {
                    inline(selector, out);
                    for v in variants {
                        variables(&v.value, out);
                    }
                }
            }
        }
    }
}

/// Every catalogue file's parse errors, as text (none, or a test fails).
pub fn catalogue_errors() -> Vec<String> {
    let mut out = Vec::new();
    for (tag, files) in CATALOGUES {
        for (i, text) in files.iter().enumerate() {
            if let Err((_, errors)) = FluentResource::try_new((*text).to_string()) {
                out.push(format!("{tag} file {i}: {errors:?}"));
            }
        }
    }
    out
}
