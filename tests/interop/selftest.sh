#!/usr/bin/env bash
# End-to-end self test of the StanzaJS interop peer, StanzaJS against StanzaJS:
# a private Prosody (Debian package) with XMPP over WebSocket in a temp dir on free
# 127.0.0.1 ports, two users, then calls between two `peer.mjs` processes
# (callee sends 880 Hz, caller 440 Hz; each must hear the other's tone):
#   1. direct:   caller -> callee's full JID (session-initiate)
#   2. presence: caller -> callee's bare JID, full JID learnt from presence
#   3. jmi:      caller -> callee's bare JID with XEP-0353 propose/proceed
#
#   tests/interop/selftest.sh [--no-netns] [direct|presence|jmi ...]   (default: all three)
#   tests/interop/selftest.sh --server        (just run Prosody here, print the URL, wait)
#
# By default it re-runs itself in a fresh network namespace (`unshare -n`, only `lo`),
# so Chromium has no interface but loopback and the selected ICE pair must be
# 127.0.0.1 on both ends (--require-loopback-pair). Without a namespace Chromium also
# opens sockets on the machine's other addresses and may pair them with the 127.0.0.1
# candidates (packets then come *from* e.g. 192.0.2.2); only the signalling is then
# guaranteed loopback.
#
# Needs: prosody, chromium (apt-get install -y prosody chromium), openssl, node >= 18,
# and `npm ci` in tests/interop. Logs stay in $OUT (default a temp dir, printed).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

NETNS=1
if [ "${1:-}" = "--no-netns" ]; then NETNS=0; shift; fi
if [ "${1:-}" = "--server" ]; then NETNS=0; fi
if [ $NETNS = 1 ] && [ -z "${BANTER_INTEROP_IN_NETNS:-}" ]; then
    if unshare -n true 2>/dev/null && command -v ip >/dev/null; then
        exec unshare -n env BANTER_INTEROP_IN_NETNS=1 bash "$0" "$@"
    fi
    echo "selftest: cannot create a network namespace (unshare -n, ip); running without one" >&2
    NETNS=0
fi
LOOPBACK_ARGS=()
if [ -n "${BANTER_INTEROP_IN_NETNS:-}" ]; then
    ip link set lo up
    echo "selftest: in a private network namespace: $(ip -br addr | tr -s ' ' | tr '\n' ';')"
    LOOPBACK_ARGS=(--require-loopback-pair)
fi
DOMAIN=example.test
NODE=${NODE:-node}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

for bin in prosody prosodyctl openssl "$NODE" "$CHROMIUM"; do
    command -v "$bin" >/dev/null || { echo "selftest: missing $bin (apt-get install -y prosody chromium)" >&2; exit 2; }
done
[ -d "$HERE/node_modules/stanza" ] || { echo "selftest: run 'npm ci' in $HERE first" >&2; exit 2; }

free_port() {
    "$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

DIR="$(mktemp -d /tmp/banter-interop-XXXXXX)"
OUT="${OUT:-$DIR/logs}"
mkdir -p "$DIR/data" "$DIR/certs" "$OUT"
PROSODY_PID=""
cleanup() {
    if [ -n "$PROSODY_PID" ]; then
        kill "$PROSODY_PID" 2>/dev/null || true
        wait "$PROSODY_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

C2S_PORT=$(free_port)
HTTP_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$DOMAIN" \
    -keyout "$DIR/key.pem" -out "$DIR/cert.pem" >/dev/null 2>&1

cat >"$DIR/prosody.cfg.lua" <<EOF
pidfile = "$DIR/prosody.pid"
data_path = "$DIR/data"
run_as_root = true
log = { debug = "$DIR/prosody.log" }
interfaces = { "127.0.0.1" }
c2s_ports = { $C2S_PORT }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }
component_ports = { }
-- XMPP over WebSocket (RFC 7395) for the browser: ws://127.0.0.1:$HTTP_PORT/xmpp-websocket
http_ports = { $HTTP_PORT }
http_interfaces = { "127.0.0.1" }
https_ports = { }
https_interfaces = { }
http_default_host = "$DOMAIN"
consider_websocket_secure = true
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "http", "websocket" }
modules_disabled = { "s2s" }
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
certificates = "$DIR/certs"
ssl = { certificate = "$DIR/cert.pem", key = "$DIR/key.pem" }
VirtualHost "$DOMAIN"
EOF

prosody --config "$DIR/prosody.cfg.lua" -F >"$DIR/prosody.stdout" 2>&1 &
PROSODY_PID=$!
for _ in $(seq 1 300); do
    if (exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT) 2>/dev/null; then break; fi
    sleep 0.05
done
(exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT) 2>/dev/null || { echo "prosody did not start:"; cat "$DIR/prosody.stdout"; exit 1; }

WS="ws://127.0.0.1:$HTTP_PORT/xmpp-websocket"
PW_A="pw-alice-$RANDOM"
PW_B="pw-bob-$RANDOM"
prosodyctl --config "$DIR/prosody.cfg.lua" register alice "$DOMAIN" "$PW_A" >/dev/null
prosodyctl --config "$DIR/prosody.cfg.lua" register bob "$DOMAIN" "$PW_B" >/dev/null

echo "prosody: $WS (c2s 127.0.0.1:$C2S_PORT), dir $DIR, logs $OUT"

if [ "${1:-}" = "--server" ]; then
    echo "alice@$DOMAIN / $PW_A"
    echo "bob@$DOMAIN / $PW_B"
    echo "Ctrl-C to stop"
    wait "$PROSODY_PID"
    exit 0
fi

SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(direct presence jmi)

fails=0
passes=0
run_scenario() {
    local name=$1 res="stanza-bob-$1" target extra=()
    case "$name" in
        direct) target="bob@$DOMAIN/$res" ;;
        presence) target="bob@$DOMAIN" ;;
        jmi) target="bob@$DOMAIN"; extra=(--jmi) ;;
        *) echo "unknown scenario $name"; return 1 ;;
    esac
    echo "== $name: alice (440 Hz) calls $target (880 Hz)"
    local start=$SECONDS
    "$NODE" "$HERE/peer.mjs" --ws "$WS" --jid "bob@$DOMAIN" --password "$PW_B" --resource "$res" \
        --mode answer --answer-delay "${ANSWER_DELAY:-500}" --tone 880 --duration 30 --expect-hz 440 --timeout 60 --verbose "${LOOPBACK_ARGS[@]}" \
        >"$OUT/$name-answer.jsonl" 2>"$OUT/$name-answer.stderr" &
    local callee=$!
    # The callee must be online (and for JMI / presence, subscribed) before the call.
    for _ in $(seq 1 200); do
        grep -q '"event":"waiting"' "$OUT/$name-answer.jsonl" 2>/dev/null && break
        sleep 0.1
    done
    local rc_call=0 rc_answer=0
    "$NODE" "$HERE/peer.mjs" --ws "$WS" --jid "alice@$DOMAIN" --password "$PW_A" --resource "stanza-alice-$name" \
        --mode call --peer "$target" "${extra[@]}" --tone 440 --duration 5 --expect-hz 880 --timeout 60 --verbose "${LOOPBACK_ARGS[@]}" \
        >"$OUT/$name-call.jsonl" 2>"$OUT/$name-call.stderr" || rc_call=$?
    wait "$callee" || rc_answer=$?
    local ok=1
    check() { # file rc expected-hz expected-ended-by
        local f=$1 rc=$2 hz=$3 by=$4
        local result
        result=$(grep '"event":"result"' "$f" | tail -1)
        echo "   $(basename "$f"): exit $rc: $result"
        [ "$rc" = 0 ] || ok=0
        echo "$result" | grep -q '"ok":true' || ok=0
        echo "$result" | grep -q "\"ended_by\":\"$by\"" || { echo "   expected ended_by $by"; ok=0; }
        grep '"event":"audio"' "$f" | head -3 | sed 's/^/     /'
        # only loopback candidates may have been signalled
        if grep '"event":"candidate"' "$f" | grep '"action":"signalled"' | grep -v '"address":"127\.' >/dev/null; then
            echo "   NON-LOOPBACK CANDIDATE SIGNALLED"; ok=0
        fi
        grep -q '"event":"candidate".*"action":"signalled"' "$f" || { echo "   no candidate signalled"; ok=0; }
    }
    check "$OUT/$name-call.jsonl" "$rc_call" 880 local
    check "$OUT/$name-answer.jsonl" "$rc_answer" 440 peer
    if [ $ok = 1 ]; then
        echo "   PASS ($((SECONDS - start)) s)"
        passes=$((passes + 1))
    else
        echo "   FAIL (logs: $OUT/$name-*)"
        fails=$((fails + 1))
    fi
}

for s in "${SCENARIOS[@]}"; do
    run_scenario "$s"
done

echo "$passes passed, $fails failed"
[ $fails = 0 ]
