#!/usr/bin/env bash
# The quick start's main job: install what is missing, build, and run the
# narrated storage demo (ingest, time-range queries, deletes, TTL, flush,
# compaction, and a writer killed with SIGKILL), then a simulated 5-node
# cluster under crashes and network partitions with its checkers' verdict.
# The real multi-process cluster demo comes with the cluster issue.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --product ringtail
.build/debug/ringtail local --data .ringtail-demo demo "$@"
echo
echo "== A 5-node cluster (RF 3, QUORUM) in the simulator: 2,000 requests while nodes"
echo "   crash and restart and the network partitions; then faults heal, hints drain,"
echo "   and the checkers judge the run."
exec .build/debug/ringtail simulate --nodes 5 --rf 3 --faults 4 --seed 7
