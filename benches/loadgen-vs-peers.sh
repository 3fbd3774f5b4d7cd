#!/usr/bin/env bash
# How many requests/s loadgen generates on one core, beside wrk and Locust doing the same, in one
# run: each generator is pinned to CPU 1 against a trivial GET /health server pinned to CPU 0
# (loadgen's hello_server example), with the same number of connections/users, for the same time.
#
#   benches/loadgen-vs-peers.sh [duration_s] [connections]
#
# Installs wrk (apt) and Locust (pip, into ~/.cache/stampede/venv-locust) when missing.
set -euo pipefail
duration=${1:-15}
connections=${2:-32}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=8099
url="http://127.0.0.1:$port"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/stampede/target}

[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs (target on one, generator on the other)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "installing wrk" >&2; sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq wrk >/dev/null; }
venv=$HOME/.cache/stampede/venv-locust
if [ ! -x "$venv/bin/locust" ]; then
  echo "installing locust into $venv" >&2
  python3 -m venv "$venv" && "$venv/bin/pip" install -q 'locust==2.*'
fi

cargo build -q --release -p loadgen --bin loadgen --example hello_server
taskset -c 0 "$CARGO_TARGET_DIR/release/examples/hello_server" "127.0.0.1:$port" 2>/dev/null &
server=$!
work=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -fsS "$url/health" >/dev/null 2>&1 && break; sleep 0.1; done

echo "GET /health, $connections connections/users, ${duration}s each, generator on CPU 1, target on CPU 0"

wrk_out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" "$url/health")
wrk_rps=$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out")
printf '%-8s %10.0f req/s\n' wrk "$wrk_rps"

cat >"$work/locustfile.py" <<'PY'
from locust import FastHttpUser, task

class Health(FastHttpUser):
    @task
    def health(self):
        self.client.get("/health")
PY
taskset -c 1 "$venv/bin/locust" -f "$work/locustfile.py" --headless -u "$connections" -r "$connections" \
  -t "${duration}s" --host "$url" --only-summary --csv "$work/locust" >/dev/null 2>&1 || true
locust_rps=$(python3 -c "
import csv
rows = list(csv.DictReader(open('$work/locust_stats.csv')))
print(next(r['Requests/s'] for r in rows if r['Name'] == 'Aggregated'))")
printf '%-8s %10.0f req/s   (FastHttpUser, one process)\n' locust "$locust_rps"

taskset -c 1 "$CARGO_TARGET_DIR/release/loadgen" --host "$url" --scenarios health --users "$connections" \
  --duration "${duration}s" --progress 0s --out "$work/loadgen" -- --quiet >/dev/null 2>&1
loadgen_rps=$(python3 -c "
import json
s = json.load(open('$work/loadgen/summary.json'))
print(sum(r['per_s'] for r in s['routes']))")
printf '%-8s %10.0f req/s\n' loadgen "$loadgen_rps"

awk -v l="$loadgen_rps" -v w="$wrk_rps" -v c="$locust_rps" \
  'BEGIN { printf "loadgen/wrk %.2f   loadgen/locust %.2f\n", l / w, l / c }'
