#!/usr/bin/env bash
# The quick start's main job: install what is missing, build, start a local
# 3-node cluster (three `ringtail node` processes on 127.0.0.1), create an
# IoT keyspace and a time-series table, write and read at QUORUM, kill a
# node and show writes still succeeding with hints pending, restart it and
# show the hints delivered, then stop the cluster. Each step prints the
# command it runs, so you can type them yourself afterwards.
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

step "Stop the cluster (SIGTERM: each node drains, flushes and exits)"
run cluster down --dir "$DIR"
trap - EXIT
echo
echo "The cluster's folder is $DIR (configs, data, logs). Start it again with:"
echo "  .build/debug/ringtail cluster up --dir $DIR"
