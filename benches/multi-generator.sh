#!/usr/bin/env bash
# The distributed path on one machine: one generator at the full rate, then three at a third of
# it each (distinct seeds, user and seat slices), merged with `loadgen merge`; prints both
# confirmed-bookings/s and their ratio, then judges the merged history with `chaos check` against
# the final state read from the stack's databases. Needs a running local stack:
#
#   cargo run --release -p stack -- up &            # wait for "stack: running"
#   benches/multi-generator.sh [rate_per_s] [duration_s]
#
# Exit 0 when the merged confirmed/s is within 5% of the single generator's and the checker
# finds the merged history valid.
set -euo pipefail
rate=${1:-60}
duration=${2:-30}
host=${HOST_URL:-http://127.0.0.1:3000}
db=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/stampede/target}
curl -fsS "$host/health" >/dev/null || { echo "no stack at $host: cargo run --release -p stack -- up" >&2; exit 2; }
# PROFILE=dev uses debug builds (faster to build; the generators are not the bottleneck here).
profile=${PROFILE:-release}
cargo build -q --profile "$profile" -p loadgen -p chaos
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
loadgen=$CARGO_TARGET_DIR/$dir/loadgen
chaos=$CARGO_TARGET_DIR/$dir/chaos
work=${OUT_DIR:-reports/out/multi-generator-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$work"
# Enough seats that neither run sells out: 1.5 seats per booking on average, with room.
seats=$(( rate * duration * 2 + 500 ))
run() { # out seed rate [extra...]
  local out=$1 seed=$2 r=$3; shift 3
  "$loadgen" --host "$host" --rate "${r}/s" --duration "${duration}s" --seed "$seed" --progress 0s \
    --out "$out" "$@" -- --quiet >"$out.log" 2>&1
}

echo "preparing two events of $seats seats (one per run) and 60 users each"
"$loadgen" prepare --host "$host" --seats "$seats" --users 60 --out "$work/single.json" 2>/dev/null
"$loadgen" prepare --host "$host" --seats "$seats" --users 60 --out "$work/multi.json" 2>/dev/null

echo "one generator at ${rate}/s for ${duration}s"
run "$work/single" 1 "$rate" --data "$work/single.json"

third=$(python3 -c "print($rate / 3)")
echo "three generators at ${third}/s each, concurrently"
for i in 0 1 2; do
  run "$work/gen-$i" $((10 + i)) "$third" --data "$work/multi.json" --users-slice "$i/3" &
done
wait
"$loadgen" merge --out "$work/merged" "$work/gen-0" "$work/gen-1" "$work/gen-2"

ratio_ok=0
python3 - "$work" <<'PY' || ratio_ok=1
import json, sys
work = sys.argv[1]
single = json.load(open(f"{work}/single/summary.json"))
merged = json.load(open(f"{work}/merged/summary.json"))
s, m = single["bookings"]["confirmed_per_s"], merged["bookings"]["confirmed_per_s"]
print(f"single generator : {s:7.2f} confirmed/s  ttc p99 {single['time_to_confirm']['all']['p99_ms']:.0f} ms  attempted {single['bookings']['attempted']}")
print(f"3 merged         : {m:7.2f} confirmed/s  ttc p99 {merged['time_to_confirm']['all']['p99_ms']:.0f} ms  attempted {merged['bookings']['attempted']}")
print(f"merged/single    : {m / s:.3f}")
sys.exit(0 if abs(m / s - 1) <= 0.05 else 1)
PY

event=$(python3 -c "import json; print(json.load(open('$work/multi.json'))['eventId'])")
echo "waiting 10 s for the stack to quiesce, then checking the merged history"
sleep 10
"$chaos" collect --bookings-db "$db/ticketflow_bookings" --inventory-db "$db/ticketflow_inventory" \
  --payments-db "$db/ticketflow_payments" --notifications-db "$db/ticketflow_notifications" \
  --event "$event" --out "$work/final-state.json"
"$chaos" check --history "$work/merged/history.jsonl" --state "$work/final-state.json" --history-complete \
  --json "$work/verdict.json"
echo "run folders in $work"
exit "$ratio_ok"
