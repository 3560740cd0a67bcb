#!/usr/bin/env bash
# The quick start's main job: install what is missing, build, start a local
# 3-node cluster (three `ringtail node` processes on 127.0.0.1), create an
# IoT keyspace and a time-series table, write and read at QUORUM, kill a
# node and show writes still succeeding with hints pending, restart it and
# show the hints delivered; then the append log: a replicated topic,
# produce while the partition leader is killed, consume everything in a
# group; then stop the cluster. Each step prints the command it runs, so you
# can type them yourself afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --product ringtail
R="$PWD/.build/debug/ringtail"
DIR="$PWD/.ringtail-demo-cluster"
# Client commands go to n1, which stays up throughout.
export RINGTAIL_HOST=127.0.0.1:9401

step() { echo; echo "== $*"; }
run() { echo "\$ ringtail ${*}"; "$R" "$@"; }
cleanup() { "$R" cluster down --dir "$DIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$R" cluster clean --dir "$DIR" >/dev/null
step "Start three node processes on 127.0.0.1 (racks r1, r2, r3 in dc1); returns when all are up"
run cluster up --nodes 3 --dir "$DIR"

step "An IoT keyspace replicated 3 times, and a time-series table: newest first, hourly windows"
run keyspace create iot --rf 3
run table create iot.readings --partition-key sensor:text --clustering ts:timestamp \
    --column temperature:double --column humidity:double --order desc --compaction time-window --window 1h

step "Write five readings at QUORUM (2 of 3 replicas acknowledge each)"
for m in 0 1 2 3 4; do
  run put iot.readings --key sensor-1 --clustering "2026-11-22T10:0${m}:00Z" \
      --set temperature="2${m}.5" --set humidity="4${m}" --consistency QUORUM
done
step "Read them back at QUORUM"
run scan iot.readings --key sensor-1 --consistency QUORUM

step "Kill n3 with SIGKILL (no drain, no flush); the others notice within seconds (phi-accrual detector)"
run cluster kill n3 --dir "$DIR"
run wait down n3 --timeout 30
run status

step "Writes at QUORUM still succeed with one replica down; n1 keeps a hint for n3"
for m in 5 6 7; do
  run put iot.readings --key sensor-1 --clustering "2026-11-22T10:0${m}:00Z" --set temperature="2${m}.5" --consistency QUORUM
done
echo "\$ ringtail put … --consistency ALL   (needs all 3 replicas: refused at once)"
"$R" put iot.readings --key sensor-1 --clustering 2026-11-22T10:09:00Z --set temperature=0 --consistency ALL || true
run hints

step "Restart n3: it replays its commit log, rejoins with a new gossip generation, and n1 delivers the hints"
run cluster start n3 --dir "$DIR"
run wait up n3 --timeout 30
run wait hints-delivered --timeout 60
run hints

step "n3 now holds every write: read at ONE through n3 itself"
run scan iot.readings --key sensor-1 --consistency ONE --host 127.0.0.1:9403

step "The append log on the same nodes: a topic with 3 partitions, each replicated on all 3 nodes"
run topic create sensors --partitions 3 --rf 3
run topic describe sensors

step "Produce 20,000 generated records with acks=all (idempotent), then kill the leader of partition 0 while producing 20,000 more"
run produce sensors --count 20000 --size 100
LEADER=$("$R" topic describe sensors --json | head -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader"])')
echo "\$ ringtail produce sensors --count 20000 &   # and, 0.3 s later: ringtail cluster kill $LEADER"
"$R" produce sensors --count 20000 --size 100 --host 127.0.0.1:9401 &
PRODUCER=$!
sleep 0.3
run cluster kill "$LEADER" --dir "$DIR"
wait "$PRODUCER"
sleep 4 # the controller fences a node it has not heard from for 3 s
echo "(the controller fenced $LEADER after 3 s; another in-sync replica leads partition 0 with a new epoch)"
HOST=127.0.0.1:9401; if [[ "$LEADER" == n1 ]]; then HOST=127.0.0.1:9402; fi
run topic describe sensors --host "$HOST"

step "Read everything back in a consumer group: 40,000 records, none lost, none twice"
echo "\$ ringtail consume sensors --group demo --from-beginning --print-offsets --timeout 3s > consumed.txt"
"$R" consume sensors --group demo --from-beginning --print-offsets --timeout 3s --host "$HOST" > "$DIR/consumed.txt"
READ=$(wc -l < "$DIR/consumed.txt")
DISTINCT=$(cut -f1,2 "$DIR/consumed.txt" | sort -u | wc -l)
echo "read $READ records at $DISTINCT distinct partition/offset positions"
if [[ "$READ" -ne 40000 || "$DISTINCT" -ne 40000 ]]; then
    echo "expected 40,000 records, each once: something was lost or read twice" >&2
    exit 1
fi
run groups describe demo --host "$HOST"

step "Restart $LEADER: it truncates anything its successor did not keep, catches up, and rejoins the in-sync sets"
run cluster start "$LEADER" --dir "$DIR"
sleep 5
run topic describe sensors --host "$HOST"

step "Stop the cluster (SIGTERM: each node drains, flushes and exits)"
run cluster down --dir "$DIR"
trap - EXIT
echo
echo "The cluster's folder is $DIR (configs, data, logs). Start it again with:"
echo "  .build/debug/ringtail cluster up --dir $DIR"
