#!/usr/bin/env bash
# A fuzzing campaign: each target until RUNS executions (default 10 million) or
# SECONDS_MAX seconds, two targets at a time (two cores), corpus kept in corpus/TARGET
# (seeded from seeds/TARGET). Prints one line per target: executions, seconds, result.
# Usage: fuzz/campaign.sh [RUNS] [SECONDS_MAX] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")"
RUNS=${1:-10000000}
MAX=${2:-1800}
shift 2 2>/dev/null || shift $#
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(guard jingle jmi message roster_disco vp8_rtp rtcp turn_framing wav y4m)
fi
cargo fuzz build --sanitizer none -O >/dev/null 2>&1 || { echo "build failed" >&2; exit 1; }
mkdir -p logs
run_one() {
  local t=$1
  mkdir -p "corpus/$t"
  cargo fuzz run --sanitizer none -O "$t" "corpus/$t" "seeds/$t" -- \
    -runs="$RUNS" -max_total_time="$MAX" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 >"logs/$t.log" 2>&1
  local rc=$?
  local done_line
  done_line=$(grep -E '^Done [0-9]+ runs' "logs/$t.log" | tail -1)
  local execs
  execs=$(grep -E 'stat::number_of_executed_units' "logs/$t.log" | awk '{print $2}')
  echo "$t: ${execs:-?} executions; ${done_line:-no Done line}; exit $rc$( [ $rc -ne 0 ] && echo ' (see fuzz/logs/'"$t"'.log and fuzz/artifacts/'"$t"')')"
}
i=0
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  i=$((i + 1))
  if [ $((i % 2)) -eq 0 ]; then wait; fi
done
wait
