#!/usr/bin/env bash
# Self-check of tests/omemo/slix_peer.py, Python against Python, through a private Prosody.
#
# Starts Prosody (the Debian package) with a config like tests/support/mod.rs's on free 127.0.0.1
# ports, with a self-signed certificate for example.test and 127.0.0.1, registers alice, bob and
# carol, runs one slix_peer.py per account, lets them subscribe to each other and sends
# OMEMO-encrypted messages both ways in each namespace (eu.siacs.conversations.axolotl and
# urn:xmpp:omemo:2), then restarts bob from his state and checks that his device id and sessions
# survived. Everything lives in a temp dir that is deleted on exit; every process started here is
# killed on exit.
#
# Usage: tests/omemo/slix_selfcheck.sh        (SLIX_VENV=/tmp/slix-venv by default; created from
#                                              tests/omemo/requirements.txt when missing;
#                                              SELFCHECK_KEEP=1 keeps the temp dir with the logs,
#                                              SLIX_PEER_DEBUG=1 makes the peers log to NAME.err)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
venv="${SLIX_VENV:-/tmp/slix-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi
py="$venv/bin/python"

tmp="$(mktemp -d /tmp/slix-selfcheck.XXXXXX)"
prosody_pid=""
cleanup() {
    local rc=$?
    if [ -n "$prosody_pid" ] && kill -0 "$prosody_pid" 2>/dev/null; then
        kill "$prosody_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$prosody_pid" 2>/dev/null || break; sleep 0.05; done
    fi
    # a Prosody the driver restarted (its pid in restarted.pid)
    if [ -s "$tmp/restarted.pid" ]; then
        kill "$(cat "$tmp/restarted.pid")" 2>/dev/null || true
    fi
    if [ "$rc" != 0 ] && [ -f "$tmp/prosody.log" ]; then
        echo "--- last lines of prosody.log ---" >&2
        tail -n 30 "$tmp/prosody.log" >&2 || true
    fi
    if [ -n "${SELFCHECK_KEEP:-}" ]; then
        echo "kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

domain=example.test
read -r port tls_port < <("$py" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
)

# A self-signed certificate shaped like the one tests/support/mod.rs makes with rcgen: EC P-256,
# SANs example.test and 127.0.0.1, no CA flag. It is also the only trust anchor the peers use.
"$py" - "$tmp" "$domain" <<'EOF'
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
d, domain = sys.argv[1], sys.argv[2]
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "selfcheck self signed cert")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(domain), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256()))
open(f"{d}/cert.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
other_key = ec.generate_private_key(ec.SECP256R1())
other = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(other_key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
         .sign(other_key, hashes.SHA256()))
open(f"{d}/other-ca.pem", "wb").write(other.public_bytes(serialization.Encoding.PEM))
open(f"{d}/key.pem", "wb").write(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
EOF
mkdir -p "$tmp/data" "$tmp/certs"

cat >"$tmp/prosody.cfg.lua" <<EOF
pidfile = "$tmp/prosody.pid"
data_path = "$tmp/data"
run_as_root = true
log = { debug = "$tmp/prosody.log" }
interfaces = { "127.0.0.1" }
c2s_ports = { $port }
c2s_direct_tls_ports = { $tls_port }
legacy_ssl_ports = { }
s2s_ports = { }
http_ports = { }
https_ports = { }
component_ports = { }
modules_enabled = { "roster", "saslauth", "tls", "disco", "carbons", "mam", "pep", "smacks", "ping", "offline", "time", "version" }
modules_disabled = { "s2s" }
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
archive_expires_after = "never"
default_archive_policy = true
limits = { c2s = { rate = "10mb/s" } }
certificates = "$tmp/certs"
ssl = { certificate = "$tmp/cert.pem", key = "$tmp/key.pem" }
VirtualHost "$domain"
EOF

prosody --config "$tmp/prosody.cfg.lua" -F >"$tmp/prosody.out" 2>&1 &
prosody_pid=$!
disown "$prosody_pid"  # the driver may kill it on purpose: no "Killed" notice from bash
for _ in $(seq 1 300); do
    if "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
        break
    fi
    kill -0 "$prosody_pid" 2>/dev/null || { cat "$tmp/prosody.out" >&2; exit 1; }
    sleep 0.05
done

for user in alice bob carol; do
    pw="pw-$user-$RANDOM$RANDOM"
    printf '%s\n' "$pw" >"$tmp/$user.pw"
    prosodyctl --config "$tmp/prosody.cfg.lua" register "$user" "$domain" "$pw" >/dev/null 2>&1
done

"$py" - "$here/slix_peer.py" "$tmp" "127.0.0.1:$port" "$domain" "$prosody_pid" <<'EOF'
import json, os, queue, signal, socket, subprocess, sys, threading, time

peer_py, tmp, server, domain, prosody_pid = sys.argv[1:6]
prosody_pid = int(prosody_pid)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally: below, killing the peers
OLD, TWO = "eu.siacs.conversations.axolotl", "urn:xmpp:omemo:2"
procs = []
passed = failed = 0


class Bot:
    def __init__(self, user, *extra, label=None):
        self.name, self.jid = label or user, f"{user}@{domain}"
        self.q, self.seen = queue.Queue(), []
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(
            [sys.executable, peer_py, "--jid", self.jid, "--password-file", f"{tmp}/{user}.pw",
             "--server", server, "--ca-file", f"{tmp}/cert.pem", "--state", f"{tmp}/state-{user}",
             *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(f"{tmp}/{self.name}.err", "ab"),
            text=True, bufsize=1)
        procs.append(self.p)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            ev = json.loads(line)
            print(f"  {self.name} <- {line.rstrip()}", flush=True)
            self.q.put(ev)
        self.q.put({"event": "exit", "code": self.p.wait()})

    def cmd(self, **c):
        print(f"  {self.name} -> {json.dumps(c)}", flush=True)
        self.p.stdin.write(json.dumps(c) + "\n")
        self.p.stdin.flush()

    def wait(self, what, pred, timeout=20):
        """The first event not returned before that matches, whether already seen or still to come."""
        for ev in self.seen:
            if not ev.get("_taken") and pred(ev):
                ev["_taken"] = True
                return ev
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                ev = self.q.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise AssertionError(f"{self.name}: timed out waiting for {what}")
            self.seen.append(ev)
            if ev["event"] == "exit":
                raise AssertionError(f"{self.name} exited ({ev['code']}) waiting for {what}")
            if pred(ev):
                ev["_taken"] = True
                return ev

    def ready(self):
        ev = self.wait("ready", lambda e: e["event"] == "ready", 60)
        ev["wall_ms"] = int((time.monotonic() - self.t0) * 1000)
        print(f"READY {self.name}: device {ev['device_id']} {ev['namespaces']} "
              f"in {ev['wall_ms']} ms (process start to ready)", flush=True)
        return ev


def check(name, fn):
    global passed, failed
    print(f"== {name}", flush=True)
    try:
        fn()
        passed += 1
        print(f"PASS {name}", flush=True)
    except AssertionError as e:
        failed += 1
        print(f"FAIL {name}: {e}", flush=True)


tags = iter(range(1, 1000000))


def roundtrip(a, b, body, namespace=None, expect_ns=None):
    tag = next(tags)
    c = {"cmd": "send", "to": b.jid, "body": body, "tag": tag}
    if namespace:
        c["namespace"] = namespace
    a.cmd(**c)
    sent = a.wait("sent", lambda e: e["event"] in ("sent", "error") and e.get("tag") == tag)
    assert sent["event"] == "sent", f"send failed: {sent}"
    ev = b.wait(f"message {body!r}", lambda e: e["event"] in ("message", "error")
                and e.get("carbon") is None and e.get("from", "").startswith(a.jid))
    assert ev["event"] == "message", f"got {ev}"
    assert ev["body"] == body and ev["encrypted"] is True, f"got {ev}"
    if expect_ns:
        assert ev["namespace"] == expect_ns, f"namespace {ev['namespace']}, wanted {expect_ns}"
    return ev


try:
    alice, bob = Bot("alice"), Bot("bob")
    ra, rb = alice.ready(), bob.ready()

    def subscribe():
        alice.cmd(cmd="subscribe", to=bob.jid)
        alice.wait("roster both", lambda e: e["event"] == "roster" and e["jid"] == bob.jid
                   and e["subscription"] == "both")
        bob.wait("roster both", lambda e: e["event"] == "roster" and e["jid"] == alice.jid
                 and e["subscription"] == "both")
    check("alice and bob subscribe to each other", subscribe)

    for ns in (OLD, TWO):
        check(f"alice -> bob in {ns}", lambda ns=ns: roundtrip(alice, bob, f"hi bob ({ns}) ü <&>", ns, ns))
        check(f"bob completes the {ns} session with an empty message",
              lambda ns=ns: alice.wait("empty", lambda e: e["event"] == "empty"
                                       and e["namespace"] == ns and e["from"].startswith(bob.jid)))
        check(f"bob -> alice in {ns}", lambda ns=ns: roundtrip(bob, alice, f"hi alice ({ns}) 🙂", ns, ns))
        check(f"alice -> bob again in {ns}", lambda ns=ns: roundtrip(alice, bob, f"again ({ns})", ns, ns))
    check("default choice is urn:xmpp:omemo:2", lambda: roundtrip(alice, bob, "default", None, TWO))

    def plain():
        alice.cmd(cmd="send_plain", to=bob.jid, body="plain text")
        ev = bob.wait("plain", lambda e: e["event"] == "message" and e["body"] == "plain text")
        assert ev["encrypted"] is False and ev["namespace"] is None, ev
    check("plain message", plain)

    def restart():
        bob.cmd(cmd="quit")
        code = bob.p.wait(timeout=15)
        assert code == 0, f"bob exited {code}"
        nb = Bot("bob")
        r = nb.ready()
        assert r["device_id"] == rb["device_id"], f"device id changed {rb['device_id']} -> {r['device_id']}"
        globals()["bob"] = nb
        for ns in (OLD, TWO):
            roundtrip(alice, nb, f"after restart ({ns})", ns, ns)
            roundtrip(nb, alice, f"reply after restart ({ns})", ns, ns)
    check("bob restarts from his state (same device, sessions kept)", restart)

    def second_device():
        bob2 = Bot("bob", "--state", f"{tmp}/state-bob2", "--resource", "second", label="bob2")
        r = bob2.ready()
        assert r["device_id"] != rb["device_id"], r
        # alice encrypts for both of bob's devices; bob's second device gets it too
        ev = roundtrip(alice, bob, "to both of bob's devices", TWO, TWO)
        ev2 = bob2.wait("copy", lambda e: e["event"] == "message" and e["body"] == "to both of bob's devices")
        assert ev2["encrypted"] is True, ev2
        # bob's first device encrypts for his second one too: it gets a decryptable carbon copy
        for ns in (OLD, TWO):
            roundtrip(bob, alice, f"bob to alice, copy to self ({ns})", ns, ns)
            ev3 = bob2.wait("sent carbon", lambda e: e["event"] == "message"
                            and e["body"] == f"bob to alice, copy to self ({ns})")
            assert ev3["carbon"] == "sent" and ev3["encrypted"] is True and ev3["namespace"] == ns, ev3
        bob2.cmd(cmd="quit")
        assert bob2.p.wait(timeout=15) == 0
    check("a second device of bob's: encrypted to, and carbons of bob's own sends decrypt", second_device)

    def oldmemo_only():
        carol = Bot("carol", "--namespaces", "oldmemo")
        r = carol.ready()
        assert r["namespaces"] == [OLD], r
        # no presence subscription between bob and carol: open-access PEP nodes suffice
        roundtrip(carol, bob, "carol to bob, no subscription", None, OLD)
        roundtrip(bob, carol, "bob to carol, no subscription", None, OLD)
        carol.cmd(cmd="subscribe", to=alice.jid)
        carol.wait("roster both", lambda e: e["event"] == "roster" and e["jid"] == alice.jid
                   and e["subscription"] == "both")
        roundtrip(alice, carol, "to an oldmemo-only peer", None, OLD)
        roundtrip(carol, alice, "from an oldmemo-only peer", None, OLD)
        carol.cmd(cmd="quit")
        assert carol.p.wait(timeout=15) == 0
    check("--namespaces oldmemo peer, default sends pick oldmemo", oldmemo_only)

    def server_restart():
        # the server goes away and comes back with the same data: both peers reconnect by
        # themselves, print "ready" again, and their sessions carry on
        os.kill(prosody_pid, signal.SIGKILL)
        for b in (alice, bob):
            b.wait("disconnected", lambda e: e["event"] == "disconnected")
        p = subprocess.Popen(["prosody", "--config", f"{tmp}/prosody.cfg.lua", "-F"],
                             stdout=open(f"{tmp}/prosody.out", "ab"), stderr=subprocess.STDOUT)
        open(f"{tmp}/restarted.pid", "w").write(str(p.pid))
        for b in (alice, bob):
            r = b.wait("ready again", lambda e: e["event"] == "ready", 60)
            assert r["device_id"] == (ra if b is alice else rb)["device_id"], r
        for ns in (OLD, TWO):
            roundtrip(alice, bob, f"after server restart ({ns})", ns, ns)
            roundtrip(bob, alice, f"reply after server restart ({ns})", ns, ns)
    check("the server restarts: peers reconnect, sessions carry on", server_restart)

    def wrong_ca():
        # the server's certificate is checked: a peer trusting another CA never gets ready
        bad = Bot("bob", "--state", f"{tmp}/state-bad", "--ca-file", f"{tmp}/other-ca.pem", label="bob-bad-ca")
        ev = bad.wait("error", lambda e: e["event"] in ("error", "ready"), 30)
        assert ev["event"] == "error" and "certificate" in ev["message"], ev
        assert bad.p.wait(timeout=15) != 0
    check("a peer that does not trust the server's certificate refuses it", wrong_ca)

    alice.cmd(cmd="quit")
    bob.cmd(cmd="quit")
    for p in procs:
        p.wait(timeout=15)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()

print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
EOF
