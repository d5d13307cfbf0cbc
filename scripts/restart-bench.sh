#!/usr/bin/env bash
# Time from the path's return to audio at the far end, after UDP blackouts of 3 s and
# 40 s mid-call, and the silence after the caller's only address is replaced
# (tests/network_e2e.rs, release build), N runs each (default 5): the figures for
# BENCHMARKS.md. Needs root (a network namespace per run) and nftables.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-5}"
cargo build --release -q
for test in a_3_second_udp_blackout a_40_second_udp_blackout the_callee_restarts; do
  for i in $(seq "$n"); do
    cargo test --release -q --test network_e2e "$test" -- --nocapture 2>&1 |
      grep -E '^blackout' | sed "s/^/$test run $i: /"
  done
done
for i in $(seq "$n"); do
  cargo test --release -q --test network_e2e the_callers_address -- --nocapture 2>&1 |
    grep -E '^the longest silence' | sed "s/^/address replaced run $i: /"
done
