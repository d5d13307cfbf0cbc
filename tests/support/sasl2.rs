//! Prosody 0.12 with SASL2, Bind 2 and FAST: Debian's prosody-modules (hg 2023-02)
//! copied into the test server's plugins with the four changes 0.12.3 needs. As
//! shipped, mod_sasl2 calls `ssl_info`, which 0.12 lacks, and sends no stream features
//! at all; mod_sasl2_fast reads `event.stream` (absent in 0.12), calls
//! `get_child_attr` (absent) and formats a float date Lua 5.4 refuses.

use std::path::Path;

const MODULES: &str = "/usr/lib/prosody/modules";

/// (module, text as shipped, text for 0.12).
const PATCHES: &[(&str, &str, &str)] = &[
    (
        "sasl2",
        "local info = origin.conn:ssl_info();",
        "local info = origin.conn.ssl_info and origin.conn:ssl_info();",
    ),
    (
        "sasl2_fast",
        "\tlocal username = session.username;\n\tif not username then\n\t\tusername = jid.node(event.stream.from);\n\t\tif not username then return; end\n\tend\n\tlocal sasl_handler = get_sasl_handler(username);",
        "\tlocal sasl_handler = get_sasl_handler();",
    ),
    (
        "sasl2_fast",
        "local client_id = auth:get_child_attr(\"user-agent\", nil, \"id\");",
        "local ua = auth:get_child(\"user-agent\"); local client_id = ua and ua.attr.id;",
    ),
    (
        "sasl2_fast",
        "expiry = dt.datetime(token_info.expires_at);",
        "expiry = dt.datetime(math.floor(token_info.expires_at));",
    ),
];

/// Writes the patched modules into `plugins` (which Prosody searches first).
pub fn install_modules(plugins: &Path) {
    for name in ["sasl2", "sasl2_bind2", "sasl2_fast"] {
        let from = format!("{MODULES}/mod_{name}/mod_{name}.lua");
        let mut text = std::fs::read_to_string(&from).unwrap_or_else(|e| {
            panic!("{from}: {e} (package prosody-modules; scripts/install-deps.sh --tests)")
        });
        for (module, shipped, fixed) in PATCHES.iter().filter(|p| p.0 == name) {
            assert!(
                text.contains(shipped),
                "mod_{module} is not the version these tests patch: {shipped:?} not found"
            );
            text = text.replace(shipped, fixed);
        }
        std::fs::write(plugins.join(format!("mod_{name}.lua")), text).unwrap();
    }
}

/// The keyring's part for the library (`client::TokenKeeper`): what the client asks to
/// keep, in memory and readable by the test.
#[derive(Default)]
pub struct KeptTokens(std::sync::Mutex<Option<String>>);

impl banter::client::TokenKeeper for KeptTokens {
    fn load(&self) -> Option<String> {
        self.0.lock().unwrap().clone()
    }
    fn save(&self, state: Option<&str>) {
        *self.0.lock().unwrap() = state.map(str::to_string);
    }
}
