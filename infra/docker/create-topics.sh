#!/usr/bin/env bash
# Creates every topic of infra/kafka-topics.txt and its <topic>.DLT (3 partitions, replication 1),
# as infra/local/up does for tansu. Idempotent (--if-not-exists). Runs in the apache/kafka image:
# docker-compose.yml's `kafka-topics` service and the Kubernetes Job `kafka-topics`.
#
# Environment:
#   BOOTSTRAP           broker to talk to (default kafka:9092, the broker's internal listener)
#   TOPICS_FILE         topic list, one a line, # comments (default /topics/kafka-topics.txt)
#   PARTITIONS          default 3
#   KAFKA_TOPIC_PREFIX  prefix for every name (default empty, as the services' default)
#   KAFKA_TOPICS_BIN    default /opt/kafka/bin/kafka-topics.sh
#   WAIT_SECONDS        how long to wait for the broker (default 180)
set -euo pipefail
BOOTSTRAP=${BOOTSTRAP:-kafka:9092}
TOPICS_FILE=${TOPICS_FILE:-/topics/kafka-topics.txt}
PARTITIONS=${PARTITIONS:-3}
PREFIX=${KAFKA_TOPIC_PREFIX:-}
KAFKA_TOPICS_BIN=${KAFKA_TOPICS_BIN:-/opt/kafka/bin/kafka-topics.sh}
WAIT_SECONDS=${WAIT_SECONDS:-180}

say() { printf '[kafka-topics] %s\n' "$*"; }

topics=()
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}
  line=${line//[[:space:]]/}
  [ -z "$line" ] && continue
  topics+=("${PREFIX}${line}" "${PREFIX}${line}.DLT")
done < "$TOPICS_FILE"
[ "${#topics[@]}" -gt 0 ] || { say "no topics in $TOPICS_FILE"; exit 1; }

say "waiting for the broker at $BOOTSTRAP (up to ${WAIT_SECONDS}s)"
deadline=$((SECONDS + WAIT_SECONDS))
until "$KAFKA_TOPICS_BIN" --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1; do
  [ "$SECONDS" -lt "$deadline" ] || { say "broker at $BOOTSTRAP did not answer"; exit 1; }
  sleep 2
done

# Each call starts a JVM (1-2 s): run four at a time.
say "creating ${#topics[@]} topics with $PARTITIONS partitions"
failed=0
pids=()
for topic in "${topics[@]}"; do
  "$KAFKA_TOPICS_BIN" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1 >/dev/null &
  pids+=("$!")
  if [ "${#pids[@]}" -ge 4 ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || { say "creating a topic failed"; exit 1; }

existing=$("$KAFKA_TOPICS_BIN" --bootstrap-server "$BOOTSTRAP" --list)
missing=0
for topic in "${topics[@]}"; do
  grep -qxF "$topic" <<<"$existing" || { say "missing after create: $topic"; missing=1; }
done
[ "$missing" = 0 ] || exit 1
say "ok: ${#topics[@]} topics present"
