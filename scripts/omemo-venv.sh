#!/usr/bin/env bash
# The Python of the OMEMO interop peer (tests/omemo/peer.py: python-omemo and its
# oldmemo backend from PyPI, the library slixmpp-omemo uses), a venv under target/,
# made or brought up to tests/omemo/requirements.txt. Prints the interpreter's path.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CARGO_TARGET_DIR:-target}/omemo-venv"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/omemo/requirements.txt "$stamp"; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q -r tests/omemo/requirements.txt >&2
  cp tests/omemo/requirements.txt "$stamp"
fi
echo "$(cd "$venv" && pwd)/bin/python"
