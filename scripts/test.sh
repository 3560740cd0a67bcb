#!/usr/bin/env bash
# The quick start's test command (and what .ci/run runs): install what is
# missing, build, and run every test. Long sweeps are opt-in through
# environment variables (RINGTAIL_MODEL_SEEDS, RINGTAIL_CRASH_POINTS,
# RINGTAIL_PROCESS_CRASH_CYCLES, RINGTAIL_SIM_SEEDS, RINGTAIL_SIM_FIRST_SEED); the
# defaults keep the suite short.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
