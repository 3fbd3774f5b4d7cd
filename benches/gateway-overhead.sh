#!/usr/bin/env bash
# What the gateway costs: GET /api/events through the gateway (:3000) and straight to
# event-service (:3002), with wrk, in one run, against a stack already running in release mode:
#
#   cargo run --release -p stack -- up --seed &      # wait for "stack: healthy"
#   benches/gateway-overhead.sh [duration_s] [connections]
#
# Prints requests/s and p50/p99 latency for both paths and the gateway/direct throughput ratio.
set -euo pipefail
duration=${1:-15}
connections=${2:-32}
threads=$(( connections < 2 ? 1 : 2 ))
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 2; }
for url in http://127.0.0.1:3000/health http://127.0.0.1:3002/health; do
  curl -fsS "$url" >/dev/null || { echo "no stack at $url: start it with cargo run --release -p stack -- up --seed" >&2; exit 2; }
done

run() { # name url; sets $rps
  local out p50 p99 non2xx
  out=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%-8s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo "GET /api/events?limit=20, wrk -t$threads -c$connections -d${duration}s"
run direct "http://127.0.0.1:3002/api/events?limit=20"
direct=$rps
run gateway "http://127.0.0.1:3000/api/events?limit=20"
gateway=$rps
awk -v g="$gateway" -v d="$direct" 'BEGIN { printf "gateway/direct throughput ratio: %.2f\n", g / d }'
