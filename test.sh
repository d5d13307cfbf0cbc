#!/usr/bin/env bash
# Runs Banter's whole test suite: formatting, lints, unit and end-to-end tests
# (the end-to-end tests start their own Prosody and coturn). Installs missing
# Debian/Ubuntu packages first.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install-deps.sh --tests
export CARGO_TERM_COLOR=never
# Snapshot images have clock times in them, and are rendered on Mesa's lavapipe.
export TZ=UTC WGPU_BACKEND=vulkan
# The interop harness (StanzaJS, playwright-core, esbuild) from the npm registry.
if [ ! -f tests/interop/node_modules/.package-lock.json ] ||
  [ tests/interop/package-lock.json -nt tests/interop/node_modules/.package-lock.json ]; then
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi
# The speech-quality test scores recordings with PyPI's `pesq` (a venv under target/).
BANTER_PESQ_PYTHON="$(bash scripts/pesq-venv.sh)"
export BANTER_PESQ_PYTHON
# The OMEMO interop peer is python-omemo with its oldmemo backend from PyPI (a venv under target/).
BANTER_OMEMO_PYTHON="$(bash scripts/omemo-venv.sh)"
export BANTER_OMEMO_PYTHON
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace -- --test-threads=2
