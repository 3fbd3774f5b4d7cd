#!/usr/bin/env bash
# Seat locking strategies beside their physical limit, in one run on this machine:
#   - `cargo bench -p benches --bench locking` (criterion): lock + release of k seats per strategy,
#     and n concurrent lockers on a hot-spot pool;
#   - redis-benchmark, one client: EVALSHA of inventory-service's own lock and release scripts
#     (SCRIPT LOAD of the source in locks.rs), and SET NX PX;
#   - pgbench, one client, prepared: the same statements the Postgres strategies send.
# Prints each strategy's ops/s as a ratio of its limit, as markdown tables.
#
#   benches/locking-limits.sh [measurement_s] [warm_up_s]     # default 3 1: about 6 minutes
#
# Needs Redis on 127.0.0.1:6379 and Postgres on 127.0.0.1:5432 (user postgres, trust): infra/local/up.
# Everything it creates is removed at the end: Redis keys under stampede-bench:limits-<hex>:, the
# database ticketflow_bench_<hex> (the criterion benches clean up their own the same way).
# Environment: REDIS_REQUESTS (redis-benchmark -n, default 30000), PGBENCH_SECONDS (default 5).
#
# The limit of a strategy is what the same commands cost from a minimal C client, one at a time:
#   lua            1 / (1/EVALSHA lock_k + 1/EVALSHA release_k)
#   setnx          1 / (k/SET NX + 1/EVALSHA release_k)
#   pg_update      pgbench tps of: BEGIN; SAVEPOINT; guarded UPDATE; RELEASE; COMMIT; BEGIN; release UPDATE; COMMIT
#   pg_skip_locked pgbench tps of: BEGIN; SELECT .. FOR UPDATE SKIP LOCKED; UPDATE; COMMIT; BEGIN; release UPDATE; COMMIT
#   full           1 / (1/lua + 1/pg_update)   (the full path sends exactly those commands)
# The machine's load drifts, so each strategy's limit is measured right before and right after its
# own criterion benches, and the limit is the mean of the two (both are printed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
measure=${1:-3}
warm_up=${2:-1}
requests=${REDIS_REQUESTS:-30000}
pg_seconds=${PGBENCH_SECONDS:-5}
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
database="ticketflow_bench_$hex"
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

# pgbench scripts: the statements of benches/src/strategy.rs and inventory_service::seats, with
# the values as literals (prepared once, like sqlx's cached statements).
for k in 1 4 10; do
  ids="'{$(IFS=,; echo "${seat_ids[*]:0:k}")}'::uuid[]"
  release="UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, locked_until = NULL, updated_at = now() WHERE id = ANY($ids) AND booking_id = '$owner';"
  cat >"$out/pg_update_$k.sql" <<SQL
BEGIN;
SAVEPOINT lock_seats;
UPDATE seats SET status = 'LOCKED', booking_id = '$owner', locked_until = now() + interval '300 seconds', updated_at = now() WHERE event_id = '$event' AND id = ANY($ids) AND (status = 'AVAILABLE' OR (status = 'LOCKED' AND booking_id = '$owner')) RETURNING id;
RELEASE SAVEPOINT lock_seats;
COMMIT;
BEGIN;
$release
COMMIT;
SQL
  cat >"$out/pg_skip_locked_$k.sql" <<SQL
BEGIN;
SELECT id FROM seats WHERE event_id = '$event' AND id = ANY($ids) AND status = 'AVAILABLE' FOR UPDATE SKIP LOCKED;
UPDATE seats SET status = 'LOCKED', booking_id = '$owner', locked_until = now() + interval '300 seconds', updated_at = now() WHERE id = ANY($ids);
COMMIT;
BEGIN;
$release
COMMIT;
SQL
done

rb() { # name args...: one client, one request at a time; appends "<strategy> <pass> <name> <rps>"
  local name=$1; shift
  local rps
  rps=$(redis-benchmark -h 127.0.0.1 -p 6379 -c 1 -n "$requests" --csv "$@" | awk -F'"' 'NR == 2 {print $4}')
  [ -n "$rps" ] || die "redis-benchmark $name gave no result"
  echo "$strategy $pass $name $rps" >>"$out/limits.txt"
  say "$strategy, $pass: redis-benchmark $name: $rps req/s"
}
pb() { # name: pgbench of $out/<name>.sql, one client, prepared
  local tps
  tps=$(pgbench -h 127.0.0.1 -U postgres -n -M prepared -c 1 -T "$pg_seconds" -f "$out/$1.sql" "$database" 2>&1 |
    awk '/^tps = / {print $3}' | tail -n 1)
  [ -n "$tps" ] || die "pgbench $1 gave no result"
  echo "$strategy $pass $1 $tps" >>"$out/limits.txt"
  say "$strategy, $pass: pgbench $1: $tps tps"
}
limits() { # the limit of $strategy, for k = 1, 4, 10
  local k
  for k in 1 4 10; do
    case $strategy in
      lua | setnx | full)
        [ "$strategy" = setnx ] || rb "evalsha_lock_$k" EVALSHA "$sha_lock" "$k" "${redis_keys[@]:0:k}" "$owner" 300000
        # After the first call the keys are gone, so this is the release's GET without the DEL: a
        # slightly optimistic limit.
        rb "evalsha_release_$k" EVALSHA "$sha_release" "$k" "${redis_keys[@]:0:k}" "$owner" ;;
    esac
    case $strategy in
      pg_update | full) pb "pg_update_$k" ;;
      pg_skip_locked) pb "pg_skip_locked_$k" ;;
    esac
  done
  [ "$strategy" != setnx ] || rb set_nx -r 1000000000 SET "${prefix}setnx:{$event}:__rand_int__" "$owner" NX PX 300000
  rcli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli -h 127.0.0.1 -p 6379 DEL >/dev/null
}
criterion() { # filter: cargo bench of the matching benches, numbers under $out/criterion
  say "criterion: cargo bench -p benches --bench locking -- --warm-up-time $warm_up --measurement-time $measure '$1'"
  STAMPEDE_BENCH_OUT="$out/contention.jsonl" CRITERION_HOME="$out/criterion" \
    cargo bench -q -p benches --bench locking -- --warm-up-time "$warm_up" --measurement-time "$measure" "$1" 2>&1 |
    tee -a "$out/criterion.log" >&2
}

# The machine is shared and its load drifts (a build elsewhere slows every fsync), so each
# strategy's limit is measured right before and right after its own criterion benches.
started=$(date -u +%FT%TZ)
for strategy in lua setnx pg_update pg_skip_locked full; do
  pass=before; limits
  criterion "^lock_release/$strategy/"
  pass=after; limits
done
criterion "^contention/"

# --- the table ---------------------------------------------------------------------------------
OUT="$out" STARTED="$started" COMMAND="benches/locking-limits.sh $measure $warm_up" \
  REQUESTS="$requests" PG_SECONDS="$pg_seconds" python3 - <<'PY'
import json, os, platform, subprocess
out = os.environ["OUT"]
runs = {}  # (strategy, name) -> {pass: value}
for line in open(f"{out}/limits.txt"):
    strategy, run, name, value = line.split()
    runs.setdefault((strategy, name), {})[run] = float(value)

def measured(strategy, name):
    """The mean of the runs right before and right after the strategy's benches."""
    r = runs[(strategy, name)]
    return sum(r.values()) / len(r)

def ops(strategy, k):
    with open(f"{out}/criterion/lock_release/{strategy}/{k}/new/estimates.json") as f:
        e = json.load(f)
    ns = (e.get("slope") or e["mean"])["point_estimate"]
    return 1e9 / ns

def limit(strategy, k, run=None):
    get = (lambda name: runs[(strategy, name)][run]) if run else (lambda name: measured(strategy, name))
    lua = lambda: 1 / (1 / get(f"evalsha_lock_{k}") + 1 / get(f"evalsha_release_{k}"))
    if strategy == "lua":
        return lua(), "EVALSHA lock + release"
    if strategy == "setnx":
        return 1 / (k / get("set_nx") + 1 / get(f"evalsha_release_{k}")), f"{k} x SET NX + EVALSHA release"
    if strategy in ("pg_update", "pg_skip_locked"):
        return get(f"{strategy}_{k}"), "pgbench, same statements"
    return 1 / (1 / lua() + 1 / get(f"pg_update_{k}")), "EVALSHA lock + release + pgbench pg_update"

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
redis_v = subprocess.run(["redis-cli", "INFO", "server"], capture_output=True, text=True).stdout
redis_v = next((l.split(":", 1)[1].strip() for l in redis_v.splitlines() if l.startswith("redis_version:")), "?")
pg_v = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"], capture_output=True, text=True).stdout.strip()
print(f"\n{os.environ['STARTED']}, {os.cpu_count()} cores ({cpu}), Redis {redis_v}, Postgres {pg_v}")
print(f"command: {os.environ['COMMAND']}  (redis-benchmark -c 1 -n {os.environ['REQUESTS']}, pgbench -c 1 -M prepared -T {os.environ['PG_SECONDS']})\n")
print("| strategy | k | ops/s (lock + release) | limit ops/s (before / after) | limit from | ratio |")
print("|---|---:|---:|---:|---|---:|")
table = {}
for strategy in ["lua", "setnx", "pg_update", "pg_skip_locked", "full"]:
    for k in (1, 4, 10):
        o = ops(strategy, k)
        l, source = limit(strategy, k)
        b, a = limit(strategy, k, "before")[0], limit(strategy, k, "after")[0]
        table[(strategy, k)] = (o, l)
        print(f"| {strategy} | {k} | {o:,.0f} | {l:,.0f} ({b:,.0f} / {a:,.0f}) | {source} | {o / l:.2f} |")

print()
for k in (1, 4, 10):
    (lo, ll), (so, sl) = table[("lua", k)], table[("setnx", k)]
    goal = " (goal >= 3)" if k == 4 else ""
    print(f"- k = {k}: Lua / SETNX = {lo / so:.2f}{goal}; the limits' own Lua / SETNX = {ll / sl:.2f}")
lo, ll = table[("lua", 4)]
print(f"- k = 4: Lua / redis-benchmark EVALSHA (lock + release) = {lo / ll:.2f} (goal >= 0.7); "
      f"EVALSHA lock alone {measured('lua', 'evalsha_lock_4'):,.0f}/s, release alone "
      f"{measured('lua', 'evalsha_release_4'):,.0f}/s; SET NX {measured('setnx', 'set_nx'):,.0f}/s")

path = f"{out}/contention.jsonl"
if os.path.exists(path):
    print("\ncontention: 4 seats per attempt, 80 % of picks on 200 of 1,000 seats, each locker holds "
          "its seats until its next attempt\n")
    print("| strategy | lockers | attempts/s | acquisitions/s | conflict rate | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for line in open(path):
        s = json.loads(line)
        print(f"| {s['strategy']} | {s['lockers']} | {s['attempts_per_s']:,.0f} | {s['acquisitions_per_s']:,.0f} "
              f"| {100 * s['conflict_rate']:.1f} % | {s['errors']} |")
print(f"\nraw numbers: {out}")
PY
