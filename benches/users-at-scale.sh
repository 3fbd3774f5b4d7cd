#!/usr/bin/env bash
# How many users one loadgen process holds on this box, and what each one costs. loadgen prints
# its own peak RSS and CPU time, and both per user, at the end of every run (summary.json
# `generator`); this script runs it at several sizes and puts those figures in one table.
#
#   benches/users-at-scale.sh [--stack] [USERS ...]      default USERS: 1000 10000 100000
#
# 1. For each USERS: that many closed-model users of the `health` persona (GET /health, then
#    think) against loadgen's hello_server on 127.0.0.1:8099, for DURATION.
# 2. With --stack: STACK_USERS logged-in users of the `visit` persona (events, an event, their
#    profile, a booking followed to its end, STACK_THINK between steps) against a stack already
#    running at STACK (`STAMPEDE_ENV=dev cargo run --release -p stack -- up --seed`: dev turns
#    rate limits off). Their accounts come from `loadgen prepare` (about 2 min for 10,000
#    sign-ups), kept in STACK_DATA and reused while the stack still knows them.
#
# Environment (defaults): THINK=10s DURATION=30s (health runs), STACK=http://127.0.0.1:3000,
# STACK_USERS=10000, STACK_THINK=30s, STACK_DURATION=180s,
# STACK_DATA=~/.cache/stampede/users-at-scale-<STACK_USERS>.json, KEEP=1 keeps the run folders.
#
# Limits: every user's requests go through one shared connection pool, so connections follow the
# requests in flight, not the users; with a think time most users hold none. Still, the script
# raises the open-files limit to its hard limit (`ulimit -n $(ulimit -Hn)`, no root needed) for
# bursts, and prints it with the loopback's ephemeral port range (each client connection to one
# server address takes one port of it). Every run is bounded (`timeout`), loopback only, and the
# hello_server and temporary files are removed on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/stampede/target}

with_stack=0
sizes=()
for arg in "$@"; do
  case $arg in
    --stack) with_stack=1 ;;
    ''|*[!0-9]*) echo "users-at-scale: $arg is neither --stack nor a number of users" >&2; exit 2 ;;
    *) sizes+=("$arg") ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
think=${THINK:-10s}
duration=${DURATION:-30s}
stack=${STACK:-http://127.0.0.1:3000}
stack_users=${STACK_USERS:-10000}
stack_think=${STACK_THINK:-30s}
stack_duration=${STACK_DURATION:-180s}
stack_data=${STACK_DATA:-$HOME/.cache/stampede/users-at-scale-$stack_users.json}
port=8099
hello="http://127.0.0.1:$port"

seconds() { # 30s, 3m, 1h -> seconds (the durations loadgen takes)
  case $1 in
    *ms) echo 1 ;;
    *s) echo "${1%s}" ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *h) echo $(( ${1%h} * 3600 )) ;;
    *) echo "users-at-scale: duration $1: use 30s, 3m or 1h" >&2; exit 2 ;;
  esac
}
seconds "$think" >/dev/null; seconds "$duration" >/dev/null; seconds "$stack_duration" >/dev/null

ulimit -n "$(ulimit -Hn)"
echo "open files: $(ulimit -n); ephemeral ports: $(tr '\t' '-' </proc/sys/net/ipv4/ip_local_port_range); $(nproc) CPUs; $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes')"

cargo build -q --release -p loadgen --bin loadgen --example hello_server
loadgen=$CARGO_TARGET_DIR/release/loadgen
work=$(mktemp -d)
server=""
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "run folders kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# One line of the table from a run folder: users, requests, errors, RSS, CPU, per user.
row() { # label run_folder exit_code
  python3 - "$1" "$2/summary.json" "$3" <<'PY'
import json, sys
label, path, code = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    s = json.load(open(path))
except OSError:
    print(f"{label:<24} no summary (loadgen exit {code})")
    sys.exit()
g = s.get("generator") or {}
count = sum(r["count"] for r in s["routes"] if not r["name"].startswith("SAGA"))
failed = sum(r["failures"] for r in s["routes"] if not r["name"].startswith("SAGA"))
pct = 100.0 * failed / count if count else 0.0
print(f"{label:<24} {g.get('peak_users', 0):>8} {count:>10} {failed:>8} {pct:>7.2f}% "
      f"{g.get('peak_rss_bytes', 0) / 2**20:>9.1f} {g.get('kib_per_user', 0):>9.1f} "
      f"{g.get('added_kib_per_user', 0):>9.1f} {g.get('cpu_s', 0):>7.1f} {g.get('cpu_ms_per_user', 0):>8.2f}  exit {code}")
PY
}
header() {
  printf '%-24s %8s %10s %8s %8s %9s %9s %9s %7s %8s\n' run users requests errors errors \
    'RSS MiB' 'KiB/user' '+KiB/user' 'CPU s' 'ms/user'
}

"$CARGO_TARGET_DIR/release/examples/hello_server" "127.0.0.1:$port" 2>/dev/null &
server=$!
for _ in $(seq 100); do curl -fsS "$hello/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$hello/health" >/dev/null || { echo "users-at-scale: hello_server did not answer on $hello" >&2; exit 3; }

echo
echo "health persona against hello_server, think $think, load window $duration"
header
for n in "${sizes[@]}"; do
  out=$work/health-$n
  # Making 100,000 users and letting them finish takes a while beyond the window: 120 s of slack.
  code=0
  timeout --kill-after=10 $(( $(seconds "$duration") + $(seconds "$think") + 120 )) \
    "$loadgen" --host "$hello" --scenarios health --users "$n" --think "$think" \
    --duration "$duration" --progress 0s --out "$out" -- --quiet >"$work/health-$n.log" 2>&1 || code=$?
  row "health $n" "$out" "$code"
done
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
server=""

[ "$with_stack" = 1 ] || exit 0

echo
echo "visit persona (logged in) against $stack, $stack_users users, think $stack_think, load window $stack_duration"
curl -fsS "$stack/health" >/dev/null 2>&1 || {
  echo "users-at-scale: no stack answers on $stack; start one: STAMPEDE_ENV=dev cargo run --release -p stack -- up --seed" >&2
  exit 2
}
out=$work/visit-$stack_users
run_visit() {
  timeout --kill-after=10 $(( $(seconds "$stack_duration") + $(seconds "$stack_think") + 240 )) \
    "$loadgen" --host "$stack" --data "$stack_data" --scenarios visit --users "$stack_users" \
    --think "$stack_think" --duration "$stack_duration" --seats-per-booking 1 \
    --threshold 'error-rate<1%' --progress 10s --out "$out" -- --quiet 2>&1 | tee "$work/visit.log"
}
code=0
if [ -f "$stack_data" ]; then
  run_visit || code=$?
fi
if [ ! -f "$stack_data" ] || [ "$code" = 2 ]; then
  # No data, or the stack does not know it (a fresh database): sign the users up again.
  echo "preparing $stack_users users and a 20,000-seat event into $stack_data"
  mkdir -p "$(dirname "$stack_data")"
  timeout 900 "$loadgen" prepare --host "$stack" --seats 20000 --users "$stack_users" --out "$stack_data"
  rm -rf "$out"
  code=0
  run_visit || code=$?
fi
header
row "visit $stack_users" "$out" "$code"
