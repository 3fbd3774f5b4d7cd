#!/usr/bin/env bash
# Seat locking strategies beside their physical limit, in one run on this machine:
#   - `cargo bench -p benches --bench locking` (criterion): lock + release of k seats per strategy,
#     and n concurrent lockers on a hot-spot pool;
#   - redis-benchmark, one client: EVALSHA of inventory-service's own lock and release scripts
#     (SCRIPT LOAD of the source in locks.rs), and SET NX PX;
#   - pgbench, one client, prepared: the same statements the Postgres strategies send.
# Prints each strategy's ops/s as a ratio of its limit, as markdown tables.
#
#   benches/locking-limits.sh [rounds] [measurement_s] [warm_up_s]    # default 5 1 0.3: about 9 minutes
#
# Needs Redis on 127.0.0.1:6379 and Postgres on 127.0.0.1:5432 (user postgres, trust): infra/local/up.
# Everything it creates is removed at the end: Redis keys under stampede-bench:limits-<hex>:, the
# database stampede_bench_<hex> (the criterion benches clean up their own the same way; the name
# must not look like ticketflow_<x>_<hex>, which .ci/run drops with FORCE whenever it starts).
# Environment: REDIS_REQUESTS (redis-benchmark -n, default 10000), PGBENCH_SECONDS (default 2).
#
# The limit of a strategy is what the same commands cost from a minimal C client, one at a time:
#   lua            1 / (1/EVALSHA lock_k + 1/EVALSHA release_k)
#   setnx          1 / (k/SET NX + 1/EVALSHA release_k)
#   pg_update      pgbench tps of: BEGIN; SAVEPOINT; guarded UPDATE; RELEASE; COMMIT; + release
#   pg_skip_locked pgbench tps of: BEGIN; SELECT .. FOR UPDATE SKIP LOCKED; UPDATE; COMMIT; + release
#                  release = BEGIN; advisory lock; INSERT released_bookings; UPDATE; COMMIT (seats::release)
#   full           1 / (1/lua + 1/pg_update)   (the full path sends exactly those commands)
#
# The machine is shared and its load swings by several times within seconds, so a number is only
# comparable with one measured next to it. Strategies run in three groups (redis: lua + setnx;
# postgres: pg_update + pg_skip_locked; full), each group as: its limits, its criterion benches, its
# limits again (criterion runs lua/k next to setnx/k); a round is the three groups; the limit of a
# round is the mean of the before and after passes. Every ratio is computed within a round, and the
# table shows the median over the rounds with each round's value beside it. Many short rounds beat
# a few long ones here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-5}
measure=${2:-1}
warm_up=${3:-0.3}
requests=${REDIS_REQUESTS:-10000}
pg_seconds=${PGBENCH_SECONDS:-2}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/stampede/target}
say() { printf '[limits] %s\n' "$*" >&2; }
die() { printf '[limits] error: %s\n' "$*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------------
missing=()
command -v redis-benchmark >/dev/null || missing+=(redis-tools)
pgbench --version >/dev/null 2>&1 || missing+=(postgresql)   # Debian ships pgbench in postgresql-<v>
command -v psql >/dev/null || missing+=(postgresql-client)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: install them (apt-get) or rerun as root"
  say "installing ${missing[*]} (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || die "no Redis on 127.0.0.1:6379 (run infra/local/up)"
pg_isready -q -h 127.0.0.1 -p 5432 || die "no Postgres on 127.0.0.1:5432 (run infra/local/up)"

# --- names and cleanup -------------------------------------------------------------------------
hex=$(tr -d '-' </proc/sys/kernel/random/uuid | cut -c1-12)
prefix="stampede-bench:limits-$hex:"
database="stampede_bench_$hex"
out="$CARGO_TARGET_DIR/locking-limits"
rm -rf "$out" && mkdir -p "$out"
rcli() { redis-cli -h 127.0.0.1 -p 6379 "$@"; }
psql_admin() { psql -h 127.0.0.1 -U postgres -d postgres -qtAX "$@"; }
cleanup() {
  rcli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli -h 127.0.0.1 -p 6379 DEL >/dev/null || true
  psql_admin -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
uuid() { cat /proc/sys/kernel/random/uuid; }

# --- build first, so no compilation runs during any measurement ---------------------------------
say "building: cargo bench -p benches --bench locking --no-run"
cargo bench -q -p benches --bench locking --no-run
# The bench binary prints inventory-service's script sources (locks.rs) when asked.
script_source() { STAMPEDE_LOCK_SCRIPT=$1 cargo bench -q -p benches --bench locking; }
sha_lock=$(script_source lock | rcli -x SCRIPT LOAD)
sha_release=$(script_source release | rcli -x SCRIPT LOAD)
[[ $sha_lock =~ ^[0-9a-f]{40}$ && $sha_release =~ ^[0-9a-f]{40}$ ]] || die "SCRIPT LOAD failed: $sha_lock $sha_release"

# --- Redis: keys as SeatLocks names them: <prefix>seat:{<event>}:<seat> --------------------------
event=$(uuid)
owner=$(uuid)
redis_keys=()
for _ in $(seq 10); do redis_keys+=("${prefix}seat:{$event}:$(uuid)"); done

# --- Postgres: a database with inventory-service's migration and one event of 1,000 seats -------
psql_admin -c "CREATE DATABASE \"$database\"" >/dev/null
pdb() { psql -h 127.0.0.1 -U postgres -d "$database" -qtAX -v ON_ERROR_STOP=1 "$@"; }
for migration in services/inventory-service/migrations/*.sql; do pdb -f "$migration" >/dev/null; done
pdb -c "INSERT INTO seats (id, event_id, position, section, row_label, seat_number, price_cents)
        SELECT gen_random_uuid(), '$event', g, 'FLOOR', 'R' || (g / 20), (g % 20 + 1)::text, 10000
          FROM generate_series(0, 999) g" >/dev/null
mapfile -t seat_ids < <(pdb -c "SELECT id FROM seats ORDER BY position LIMIT 10")

# pgbench scripts: the statements of benches/src/strategy.rs and inventory_service::seats
# (lock_guarded; release with its advisory lock and released_bookings row), with the seats as
# literals (prepared once, like sqlx's cached statements) and a new booking id per transaction,
# as every criterion iteration has.
booking="md5(:b::text)::uuid"
for k in 1 4 10; do
  ids="'{$(IFS=,; echo "${seat_ids[*]:0:k}")}'::uuid[]"
  release="BEGIN;
SELECT pg_advisory_xact_lock(hashtextextended($booking::text, 0));
INSERT INTO released_bookings (booking_id) VALUES ($booking) ON CONFLICT DO NOTHING;
UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, locked_until = NULL, updated_at = now() WHERE id = ANY($ids) AND booking_id = $booking;
COMMIT;"
  cat >"$out/pg_update_$k.sql" <<SQL
\set b random(1, 2000000000)
BEGIN;
SAVEPOINT lock_seats;
UPDATE seats SET status = 'LOCKED', booking_id = $booking, locked_until = now() + interval '300 seconds', updated_at = now() WHERE event_id = '$event' AND id = ANY($ids) AND (status = 'AVAILABLE' OR (status = 'LOCKED' AND booking_id = $booking)) RETURNING id;
RELEASE SAVEPOINT lock_seats;
COMMIT;
$release
SQL
  cat >"$out/pg_skip_locked_$k.sql" <<SQL
\set b random(1, 2000000000)
BEGIN;
SELECT id FROM seats WHERE event_id = '$event' AND id = ANY($ids) AND status = 'AVAILABLE' FOR UPDATE SKIP LOCKED;
UPDATE seats SET status = 'LOCKED', booking_id = $booking, locked_until = now() + interval '300 seconds', updated_at = now() WHERE id = ANY($ids);
COMMIT;
$release
SQL
done

rb() { # name args...: one client, one request at a time; appends "<round> <group> <pass> <name> <rps>"
  local name=$1; shift
  local rps
  rps=$(redis-benchmark -h 127.0.0.1 -p 6379 -c 1 -n "$requests" --csv "$@" 2>&1 | awk -F'"' 'NR == 2 {print $4}') || true
  [ -n "$rps" ] || die "redis-benchmark $name gave no result"
  echo "$round $group $pass $name $rps" >>"$out/limits.txt"
  say "round $round, $group, $pass: redis-benchmark $name: $rps req/s"
}
pb() { # name: pgbench of $out/<name>.sql, one client, prepared
  local tps try
  for try in 1 2; do
    if pgbench -h 127.0.0.1 -U postgres -n -M prepared -c 1 -T "$pg_seconds" -f "$out/$1.sql" "$database" \
      >"$out/pgbench.out" 2>&1; then
      break
    fi
    say "pgbench $1 failed (try $try): $(tail -n 3 "$out/pgbench.out" | tr '\n' ' ')"
  done
  tps=$(awk '/^tps = / {print $3}' "$out/pgbench.out" | tail -n 1)
  [ -n "$tps" ] || die "pgbench $1 gave no result: $(cat "$out/pgbench.out")"
  echo "$round $group $pass $1 $tps" >>"$out/limits.txt"
  say "round $round, $group, $pass: pgbench $1: $tps tps"
}
limits() { # the limits of $group's strategies, for k = 1, 4, 10
  local k
  for k in 1 4 10; do
    case $group in
      redis | full)
        rb "evalsha_lock_$k" EVALSHA "$sha_lock" "$k" "${redis_keys[@]:0:k}" "$owner" 300000
        # After the first call the keys are gone, so this is the release's GET without the DEL: a
        # slightly optimistic limit.
        rb "evalsha_release_$k" EVALSHA "$sha_release" "$k" "${redis_keys[@]:0:k}" "$owner" ;;
    esac
    case $group in
      postgres) pb "pg_update_$k"; pb "pg_skip_locked_$k" ;;
      full) pb "pg_update_$k" ;;
    esac
  done
  [ "$group" != redis ] || rb set_nx -r 1000000000 SET "${prefix}setnx:{$event}:__rand_int__" "$owner" NX PX 300000
  rcli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli -h 127.0.0.1 -p 6379 DEL >/dev/null
}
criterion() { # filter home: cargo bench of the matching benches, numbers under home
  say "criterion: cargo bench -p benches --bench locking -- --warm-up-time $warm_up --measurement-time $measure '$1'"
  STAMPEDE_BENCH_OUT="$out/contention.jsonl" CRITERION_HOME="$2" \
    cargo bench -q -p benches --bench locking -- --warm-up-time "$warm_up" --measurement-time "$measure" "$1" 2>&1 |
    tee -a "$out/criterion.log" >&2
}

started=$(date -u +%FT%TZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$rounds"); do
  for group in redis postgres full; do
    case $group in
      redis) filter='^lock_release/(lua|setnx)/' ;;
      postgres) filter='^lock_release/(pg_update|pg_skip_locked)/' ;;
      full) filter='^lock_release/full/' ;;
    esac
    pass=before; limits
    criterion "$filter" "$out/criterion-$round"
    pass=after; limits
  done
done
group=contention
criterion '^contention/' "$out/criterion-contention"

# --- the table ---------------------------------------------------------------------------------
LOAD="load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
  OUT="$out" STARTED="$started" ROUNDS="$rounds" COMMAND="benches/locking-limits.sh $rounds $measure $warm_up" \
  REQUESTS="$requests" PG_SECONDS="$pg_seconds" python3 - <<'PY'
import json, os, platform, statistics, subprocess
out, rounds = os.environ["OUT"], int(os.environ["ROUNDS"])
GROUP = {"lua": "redis", "setnx": "redis", "pg_update": "postgres", "pg_skip_locked": "postgres", "full": "full"}
runs = {}  # (round, group, name) -> [before, after]
for line in open(f"{out}/limits.txt"):
    r, group, _, name, value = line.split()
    runs.setdefault((int(r), group, name), []).append(float(value))

def peer(r, strategy, name):
    """The mean of the passes right before and right after the strategy's benches in round r."""
    values = runs[(r, GROUP[strategy], name)]
    return sum(values) / len(values)

def ops(r, strategy, k):
    with open(f"{out}/criterion-{r}/lock_release/{strategy}/{k}/new/estimates.json") as f:
        e = json.load(f)
    return 1e9 / (e.get("slope") or e["mean"])["point_estimate"]

def limit(r, strategy, k):
    get = lambda name: peer(r, strategy, name)
    lua = lambda: 1 / (1 / get(f"evalsha_lock_{k}") + 1 / get(f"evalsha_release_{k}"))
    if strategy == "lua":
        return lua()
    if strategy == "setnx":
        return 1 / (k / get("set_nx") + 1 / get(f"evalsha_release_{k}"))
    if strategy in ("pg_update", "pg_skip_locked"):
        return get(f"{strategy}_{k}")
    return 1 / (1 / lua() + 1 / get(f"pg_update_{k}"))

SOURCE = {"lua": "EVALSHA lock + release", "setnx": "k x SET NX + EVALSHA release",
          "pg_update": "pgbench, same statements", "pg_skip_locked": "pgbench, same statements",
          "full": "EVALSHA lock + release + pgbench pg_update"}
R = range(1, rounds + 1)
med = statistics.median
per_round = lambda values: " ".join(f"{v:.2f}" for v in values)

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
redis_v = subprocess.run(["redis-cli", "INFO", "server"], capture_output=True, text=True).stdout
redis_v = next((l.split(":", 1)[1].strip() for l in redis_v.splitlines() if l.startswith("redis_version:")), "?")
pg_v = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"], capture_output=True, text=True).stdout.strip()
print(f"\n{os.environ['STARTED']}, {os.cpu_count()} cores ({cpu}), Redis {redis_v}, Postgres {pg_v}; {os.environ['LOAD']}")
print(f"command: {os.environ['COMMAND']}  ({rounds} rounds; redis-benchmark -c 1 -n {os.environ['REQUESTS']}, "
      f"pgbench -c 1 -M prepared -T {os.environ['PG_SECONDS']}); medians over the rounds\n")
print("| strategy | k | ops/s (lock + release) | limit ops/s | limit from | ratio | ratio per round |")
print("|---|---:|---:|---:|---|---:|---|")
for strategy in GROUP:
    for k in (1, 4, 10):
        o = [ops(r, strategy, k) for r in R]
        l = [limit(r, strategy, k) for r in R]
        ratios = [a / b for a, b in zip(o, l)]
        print(f"| {strategy} | {k} | {med(o):,.0f} | {med(l):,.0f} | {SOURCE[strategy]} | {med(ratios):.2f} | {per_round(ratios)} |")

print()
for k in (1, 4, 10):
    ours = [ops(r, "lua", k) / ops(r, "setnx", k) for r in R]
    peers = [limit(r, "lua", k) / limit(r, "setnx", k) for r in R]
    goal = " (goal >= 3)" if k == 4 else ""
    print(f"- k = {k}: Lua / SETNX = {med(ours):.2f}{goal} (rounds: {per_round(ours)}); "
          f"the limits' own Lua / SETNX = {med(peers):.2f} (rounds: {per_round(peers)})")
lua4 = [ops(r, "lua", 4) / limit(r, "lua", 4) for r in R]
print(f"- k = 4: Lua / redis-benchmark EVALSHA (lock + release) = {med(lua4):.2f} (goal >= 0.7; rounds: {per_round(lua4)}); "
      f"EVALSHA lock alone {med([peer(r, 'lua', 'evalsha_lock_4') for r in R]):,.0f}/s, release alone "
      f"{med([peer(r, 'lua', 'evalsha_release_4') for r in R]):,.0f}/s; SET NX {med([peer(r, 'setnx', 'set_nx') for r in R]):,.0f}/s")

path = f"{out}/contention.jsonl"
if os.path.exists(path):
    print("\ncontention: 4 seats per attempt, 80 % of picks on 200 of 1,000 seats, each locker holds "
          "its seats until its next attempt (one pass, no peer)\n")
    print("| strategy | lockers | attempts/s | acquisitions/s | conflict rate | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for line in open(path):
        s = json.loads(line)
        print(f"| {s['strategy']} | {s['lockers']} | {s['attempts_per_s']:,.0f} | {s['acquisitions_per_s']:,.0f} "
              f"| {100 * s['conflict_rate']:.1f} % | {s['errors']} |")
print(f"\nraw numbers: {out}")
PY
