#!/usr/bin/env bash
# The quick start's main job: install what is missing, build, and run the
# narrated storage demo (ingest, time-range queries, deletes, TTL, flush,
# compaction, and a writer killed with SIGKILL). Later issues turn this
# into the local cluster demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --product ringtail
exec .build/debug/ringtail local --data .ringtail-demo demo "$@"
