#!/usr/bin/env bash
# Builds and starts Banter. Installs missing Debian/Ubuntu packages first.
# Arguments are passed to banter, e.g. ./run.sh listen --jid you@example.org
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install-deps.sh
cargo build --release --bin banter
exec target/release/banter "$@"
