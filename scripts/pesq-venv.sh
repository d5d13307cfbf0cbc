#!/usr/bin/env bash
# The Python that scores speech (wide-band PESQ, PyPI `pesq`): a venv under target/,
# made once. Prints its interpreter's path. Used by scripts/speech-bench.sh and the
# speech-quality test (test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CARGO_TARGET_DIR:-target}/pesq-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pesq, scipy' 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q numpy scipy >&2
  "$venv/bin/pip" install -q pesq >&2
fi
echo "$(cd "$venv" && pwd)/bin/python"
