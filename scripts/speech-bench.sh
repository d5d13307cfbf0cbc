#!/usr/bin/env bash
# Speech quality of Banter's call audio under loss and jitter (issue #21): espeak-ng
# speech through two local media sessions (media/examples/speech_quality.rs) and a relay
# that drops and delays RTP, recorded at the far end and scored with wide-band PESQ
# (PyPI `pesq`, in a venv under target/). Not part of CI (minutes); the figures go in
# BENCHMARKS.md.
#
#     bash scripts/speech-bench.sh [RUNS]
#
# Installs espeak-ng (apt) and the Python packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
command -v espeak-ng >/dev/null || sudo_apt=1
if [ "${sudo_apt:-0}" = 1 ]; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q espeak-ng >/dev/null; else sudo apt-get install -y -q espeak-ng >/dev/null; fi
fi
python=$(bash scripts/pesq-venv.sh)
cargo build -q --release -p banter-media --example speech_quality
work=target/speech-bench
mkdir -p "$work"
speech="$work/speech.wav"
espeak-ng -v en-us -s 150 -w "$speech" \
  "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. It is easy to tell the depth of a well. These days a chicken leg is a rare dish."
# condition: name loss jitter_ms [red|plain] (loss `geP`: bursty, Gilbert-Elliott, bursts
# of 3 on average; `plain`: without RED, as with a peer that does not take it)
conditions=("clean 0 0" "loss5 0.05 0" "loss15 0.15 0" "bursty5 ge0.05 0" "jitter30 0 30" "loss5+jitter30 0.05 30" "loss5-plain 0.05 0 plain" "loss15-plain 0.15 0 plain")
for c in "${conditions[@]}"; do
  set -- $c
  for i in $(seq 1 "$runs"); do
    stats=$(./target/release/examples/speech_quality "$speech" "$work/$1-$i.wav" "$2" "$3" 32 "${4:-red}")
    score=$("$python" scripts/pesq_score.py "$speech" "$work/$1-$i.wav")
    echo "{\"condition\": \"$1\", \"run\": $i, \"stats\": $stats, \"score\": $score}"
  done
done
