#!/usr/bin/env bash
# The window's idle cost (BENCHMARKS.md): CPU ticks (10 ms each) and RSS of the sign-in
# screen over SECS seconds, under Xvfb, after 5 s to settle.
#   bash scripts/window-idle.sh [BANTER_BINARY] [SECS]
set -euo pipefail
bin=${1:-target/release/banter}
secs=${2:-20}
dir=$(mktemp -d)
Xvfb -displayfd 3 -screen 0 1280x800x24 3>"$dir/display" >/dev/null 2>&1 &
xvfb=$!
for _ in $(seq 50); do [ -s "$dir/display" ] && break; sleep 0.1; done
display=":$(cat "$dir/display")"
DISPLAY=$display "$bin" --config-dir "$dir/cfg" --audio-in silence --audio-out null >/dev/null 2>&1 &
pid=$!
sleep 5
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks)
sleep "$secs"
t1=$(ticks)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
kill "$xvfb" 2>/dev/null || true
rm -rf "$dir"
echo "{\"bench\":\"window_idle\",\"secs\":$secs,\"cpu_ticks\":$((t1 - t0)),\"rss_kb\":$rss}"
