#!/usr/bin/env bash
# Self-check of tests/omemo/peer.py, Python against Python: two peers (alice, bob), each step in a
# separate process so that session persistence across runs is exercised.
# Usage: tests/omemo/selfcheck.sh        (PYTHON=/path/to/python to override the interpreter)
set -u

PYTHON="${PYTHON:-/tmp/omemo-venv/bin/python}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEER="$HERE/peer.py"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/omemo-selfcheck.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && sed 's/^/       /' <<<"$2"; }

peer() { "$PYTHON" "$PEER" "$@"; }
# json_get FILE KEY -> prints the value (JSON null -> "null")
json_get() { "$PYTHON" -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print("null" if v is None else v)' "$1" "$2"; }

# run NAME OUTFILE CMD... : runs CMD, stdout to OUTFILE; records failure with stderr if non-zero
run() {
    local name="$1" out="$2"; shift 2
    local rc=0
    "$@" >"$out" 2>"$WORK/stderr" || rc=$?
    [ "$rc" -eq 0 ] && return 0
    fail "$name (exit $rc)" "$(cat "$WORK/stderr")"
    return 1
}

expect_text() {  # NAME JSONFILE EXPECTED
    local got; got="$(json_get "$2" text 2>&1)"
    if [ "$got" = "$3" ]; then ok "$1"; else fail "$1: expected '$3', got '$got'" "$(cat "$2")"; fi
}

cd "$WORK" || exit 1
A="$WORK/alice" B="$WORK/bob"

# --- init ---------------------------------------------------------------------------------------
run "init alice" alice.json peer "$A" init --jid alice@example.test --device-id 4242 || { echo "0 passed, 1 failed"; exit 1; }
run "init bob" bob.json peer "$B" init --jid bob@example.test || { echo "$passed passed, 1 failed"; exit 1; }
AID="$(json_get alice.json device_id)"; BID="$(json_get bob.json device_id)"
[ "$AID" = 4242 ] && ok "init --device-id pins the device id" || fail "alice device id is $AID, wanted 4242"
case "$BID" in ''|*[!0-9]*) fail "bob device id '$BID' is not a number";; *) ok "bob got random device id $BID";; esac
json_get alice.json bundle > alice.bundle.xml
json_get bob.json bundle > bob.bundle.xml
grep -q "<device id=\"$AID\"" <(json_get alice.json device_list) && ok "alice device list lists $AID" \
    || fail "alice device list" "$(json_get alice.json device_list)"
run "init alice again" alice2.json peer "$A" init --jid alice@example.test
cmp -s alice.json alice2.json && ok "init on existing state loads, same output" || fail "second init output differs"

# --- 1. bob -> alice (PreKey message) -------------------------------------------------------------
if run "bob encrypt #1" m1.xml peer "$B" encrypt --to alice@example.test --device "$AID" --bundle alice.bundle.xml --text "hello alice"; then
    grep -q "prekey=\"true\"" m1.xml && ok "first message carries a key exchange (prekey=\"true\")" \
        || fail "first message should be a prekey message" "$(cat m1.xml)"
    grep -q "<payload>" m1.xml && ok "first message has a payload (not a key-transport)" || fail "m1 has no payload"
fi
run "alice decrypt #1" d1.json peer "$A" decrypt --from bob@example.test --device "$BID" --bundle bob.bundle.xml --message m1.xml \
    && expect_text "alice decrypts bob's prekey message" d1.json "hello alice"
[ -f "$A/outbox-1.xml" ] && ok "alice queued an empty session-completion message (outbox-1.xml)" \
    || fail "alice wrote no outbox message after the prekey message"

# --- 2. alice -> bob (normal message on the passive session) --------------------------------------
if run "alice encrypt #2" m2.xml peer "$A" encrypt --to bob@example.test --device "$BID" --bundle bob.bundle.xml --text "hi bob, ünïcødé ✓"; then
    grep -q "prekey" m2.xml && fail "alice's reply must not be a prekey message" "$(cat m2.xml)" || ok "reply is a normal message"
fi
run "bob decrypt #2" d2.json peer "$B" decrypt --from alice@example.test --device "$AID" --bundle alice.bundle.xml --message m2.xml \
    && expect_text "bob decrypts alice's reply" d2.json "hi bob, ünïcødé ✓"

# --- 3. bob -> alice again (session confirmed: no key exchange) -----------------------------------
if run "bob encrypt #3" m3.xml peer "$B" encrypt --to alice@example.test --device "$AID" --bundle alice.bundle.xml --text "second message"; then
    grep -q "prekey" m3.xml && fail "bob's second message must not be a prekey message" "$(cat m3.xml)" || ok "bob's second message is a normal message"
fi
run "alice decrypt #3" d3.json peer "$A" decrypt --from bob@example.test --device "$BID" --bundle bob.bundle.xml --message m3.xml \
    && expect_text "alice decrypts bob's normal message" d3.json "second message"

# --- extras -----------------------------------------------------------------------------------------
if [ -f "$A/outbox-1.xml" ]; then
    run "bob decrypt empty message" d4.json peer "$B" decrypt --from alice@example.test --device "$AID" --bundle alice.bundle.xml --message "$A/outbox-1.xml" \
        && expect_text "bob decrypts alice's (late) empty message as text=null" d4.json "null"
fi
if peer "$A" decrypt --from bob@example.test --device "$BID" --bundle bob.bundle.xml --message m3.xml >replay.out 2>replay.err; then
    fail "replayed message was accepted" "$(cat replay.out)"
else
    [ -s replay.err ] && ok "replay is rejected (non-zero exit, error on stderr)" || fail "replay rejected without a message on stderr"
fi
run "init alice after use" alice3.json peer "$A" init --jid alice@example.test \
    && { [ "$(json_get alice3.json device_id)" = "$AID" ] && ! cmp -s alice.json alice3.json \
         && ok "alice's bundle changed after her pre key was used (same device id)" \
         || fail "alice's bundle should have been republished without the used pre key"; }

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
