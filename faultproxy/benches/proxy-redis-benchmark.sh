#!/usr/bin/env bash
# Throughput of the fault proxy's pass-through path: redis-benchmark straight at Redis and through
# `faultproxy` (release build, no toxics) in the same run, alternating, then the ratio
# proxied/direct per test (target >= 0.8).
#
#   faultproxy/benches/proxy-redis-benchmark.sh
#   REDIS=127.0.0.1:6379 CLIENTS=50 REQUESTS=200000 ROUNDS=2 TESTS=get,set faultproxy/benches/proxy-redis-benchmark.sh
#
# Needs redis-benchmark, curl and python3 (to pick free ports); exits non-zero if a step fails,
# and with MIN_RATIO=0.8 set, if a ratio is below it.
set -euo pipefail

REDIS=${REDIS:-127.0.0.1:6379}
CLIENTS=${CLIENTS:-50}
REQUESTS=${REQUESTS:-200000}
ROUNDS=${ROUNDS:-2}
TESTS=${TESTS:-get,set}
MIN_RATIO=${MIN_RATIO:-}
REDIS_HOST=${REDIS%:*}
REDIS_PORT=${REDIS##*:}

cd "$(dirname "$0")/../.."
for tool in redis-benchmark curl python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "building faultproxy (release)..." >&2
cargo build --release -p faultproxy --bin faultproxy --quiet
API_PORT=$(free_port)
PROXY_PORT=$(free_port)
LOG=$(mktemp)
RUST_LOG=warn "${CARGO_TARGET_DIR:-target}"/release/faultproxy --listen "127.0.0.1:$API_PORT" >"$LOG" 2>&1 &
PROXY_PID=$!
trap 'kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; rm -f "$LOG"' EXIT

for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$API_PORT/version" >/dev/null && break
    sleep 0.1
done
curl -sf -X POST "http://127.0.0.1:$API_PORT/proxies" \
    -d "{\"name\":\"redis_bench\",\"listen\":\"127.0.0.1:$PROXY_PORT\",\"upstream\":\"$REDIS\"}" >/dev/null

# Prints "TEST rps" lines for one redis-benchmark run against host:port.
bench() {
    redis-benchmark -h "$1" -p "$2" -t "$TESTS" -c "$CLIENTS" -n "$REQUESTS" -q 2>&1 \
        | tr '\r' '\n' | awk '/requests per second/ { sub(":", "", $1); print $1, $2 }'
}

RESULTS=$(mktemp)
for round in $(seq "$ROUNDS"); do
    echo "round $round: direct $REDIS" >&2
    bench "$REDIS_HOST" "$REDIS_PORT" | sed 's/^/direct /' | tee -a "$RESULTS" >&2
    echo "round $round: proxied 127.0.0.1:$PROXY_PORT" >&2
    bench 127.0.0.1 "$PROXY_PORT" | sed 's/^/proxied /' | tee -a "$RESULTS" >&2
done

echo
echo "redis-benchmark -t $TESTS -c $CLIENTS -n $REQUESTS -q, $ROUNDS round(s), mean requests/s"
awk -v min="$MIN_RATIO" '
    { sum[$1 " " $2] += $3; n[$1 " " $2]++; tests[$2] = 1 }
    END {
        status = 0
        printf "%-6s %12s %12s %7s\n", "test", "direct", "proxied", "ratio"
        for (t in tests) {
            d = sum["direct " t] / n["direct " t]; p = sum["proxied " t] / n["proxied " t]
            r = p / d
            printf "%-6s %12.0f %12.0f %7.2f\n", t, d, p, r
            if (min != "" && r < min) status = 1
        }
        exit status
    }' "$RESULTS"
rm -f "$RESULTS"
