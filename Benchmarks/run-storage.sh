#!/usr/bin/env bash
# Storage-engine benchmark: Ringtail vs LevelDB vs RocksDB, side by side.
#
#   bash Benchmarks/run-storage.sh                 # full run, 2 rounds
#   ROUNDS=3 bash Benchmarks/run-storage.sh
#   SCALE=0.01 ROUNDS=1 SKIP_RINGTAIL=1 bash Benchmarks/run-storage.sh   # smoke test
#   bash Benchmarks/run-storage.sh --summarize Benchmarks/results/storage-XXXX.jsonl
#
# Workload definitions (keys, values, orders) are documented at the top of
# Benchmarks/peers/peer_bench.c; Ringtail's `ringtail-storage-bench` implements the
# same CLI and prints the same one-line JSON shape.
#
# Scenarios (N scaled by SCALE, default 1.0), each on a fresh DB dir under
# Benchmarks/results/tmp/ which is deleted afterwards:
#   A  fillrandom N=1,000,000 threads=1 sync=0, then readrandom on that DB
#   B  fillrandom N=200,000 threads=64 sync=1 (group commit)
#   C  iot (10,000 sensors x 100 readings), then scan (50,000 scans) on that DB
# Per round the engines run in rotated order (leveldb rocksdb ringtail, then
# rocksdb ringtail leveldb, ...), scenario by scenario, so every engine sees
# comparable machine conditions.
#
# Env: ROUNDS (2), SCALE (1.0), SKIP_RINGTAIL (0), SCRATCH_PATH (.build; set
# .build-bench to build Ringtail apart from a development build). Results: one
# JSON line per run appended to Benchmarks/results/storage-<UTC timestamp>.jsonl
# (the engine's line with "round" and "scenario" prepended; a "meta" line
# first), then a markdown summary table on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RESULTS="Benchmarks/results"
TMP="$RESULTS/tmp"
PEER_SRC="Benchmarks/peers/peer_bench.c"
PEER_BIN="$TMP/peer_bench"
# Ringtail's binary: built into SCRATCH_PATH (default .build); if that build
# left no binary, a copy built with --scratch-path .build-bench is used.
SCRATCH_PATH="${SCRATCH_PATH:-.build}"
RINGTAIL_BIN="$SCRATCH_PATH/release/ringtail-storage-bench"
RINGTAIL_BIN_FALLBACKS=(".build/release/ringtail-storage-bench" ".build-bench/release/ringtail-storage-bench")

log() { printf '[run-storage] %s\n' "$*" >&2; }
warn() { printf '[run-storage] WARNING: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- summary
summarize() {
    python3 - "$1" <<'PY'
import json, statistics, sys
from collections import defaultdict

path = sys.argv[1]
runs, errors, meta = [], [], None
with open(path) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if r.get("meta"):
            meta = r
        elif "error" in r:
            errors.append(r)
        else:
            runs.append(r)

ENGINES = ["leveldb", "rocksdb", "ringtail"]
PEERS = ["leveldb", "rocksdb"]
groups = defaultdict(lambda: defaultdict(list))   # group -> engine -> [run]
order = []
for r in runs:
    g = (r.get("scenario", "?"), r["workload"], r.get("n"), r.get("threads"), r.get("sync"))
    if g not in groups:
        order.append(g)
    groups[g][r["engine"]].append(r)

def med(xs):
    return statistics.median(xs) if xs else float("nan")

def fmt_ops(x):
    return f"{x:,.0f}"

def fmt_us(x):
    return f"{x:,.1f}" if x >= 100 else f"{x:.2f}"

if meta:
    print(f"Storage benchmark — {meta.get('started_utc','?')} — host {meta.get('host','?')}, "
          f"{meta.get('nproc','?')} CPUs, {meta.get('cpu','?')}, fs {meta.get('fs','?')}, "
          f"SCALE={meta.get('scale','?')}, rounds={meta.get('rounds','?')}, "
          f"LevelDB {meta.get('leveldb','?')}, RocksDB {meta.get('rocksdb','?')}")
    print()
print("Medians across rounds; ops/s shows [min–max] across rounds. "
      "'vs best peer' = Ringtail ops/s ÷ the faster of LevelDB/RocksDB in the same round "
      "(median [min–max] over rounds). Latencies in µs, per operation (per scan for scan).")
print()
print("| scenario | workload | engine | rounds | ops/s [min–max] | p50 µs | p99 µs | p99.9 µs | peak RSS MB | disk MB | vs best peer |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for g in order:
    scen, wl, n, thr, sync = g
    label = f"{wl} n={n} thr={thr} sync={sync}"
    by_engine = groups[g]
    # per-round ratio ringtail / best peer
    ratio_txt = ""
    rt = {r.get("round"): r["ops_per_sec"] for r in by_engine.get("ringtail", [])}
    ratios = []
    for rnd, rops in rt.items():
        peer_ops = [r["ops_per_sec"] for p in PEERS for r in by_engine.get(p, []) if r.get("round") == rnd]
        if peer_ops and max(peer_ops) > 0:
            ratios.append(rops / max(peer_ops))
    if ratios:
        ratio_txt = f"{med(ratios):.2f}× [{min(ratios):.2f}–{max(ratios):.2f}]"
    for eng in ENGINES + sorted(set(by_engine) - set(ENGINES)):
        rs = by_engine.get(eng)
        if not rs:
            continue
        ops = [r["ops_per_sec"] for r in rs]
        row = [
            scen, label, eng, str(len(rs)),
            f"{fmt_ops(med(ops))} [{fmt_ops(min(ops))}–{fmt_ops(max(ops))}]",
            fmt_us(med([r["p50_us"] for r in rs])),
            fmt_us(med([r["p99_us"] for r in rs])),
            fmt_us(med([r["p999_us"] for r in rs])),
            f"{med([r['peak_rss_mb'] for r in rs]):.1f}",
            f"{med([r['disk_bytes'] for r in rs]) / 1048576:.1f}",
            ratio_txt if eng == "ringtail" else "",
        ]
        print("| " + " | ".join(row) + " |")
if errors:
    print()
    print(f"**{len(errors)} failed run(s):**")
    for e in errors:
        print(f"- round {e.get('round')} scenario {e.get('scenario')} {e.get('engine')} "
              f"{e.get('workload')}: {e.get('error')}")
PY
}

if [[ "${1:-}" == "--summarize" ]]; then
    summarize "${2:?usage: run-storage.sh --summarize FILE.jsonl}"
    exit 0
fi

ROUNDS="${ROUNDS:-2}"
SCALE="${SCALE:-1.0}"
SKIP_RINGTAIL="${SKIP_RINGTAIL:-0}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive integer" >&2; exit 2; }
[[ "$SCALE" =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "SCALE must be a positive number" >&2; exit 2; }

# ------------------------------------------------------------ prerequisites
PKGS=(libleveldb-dev librocksdb-dev liblz4-dev libzstd-dev gcc pkg-config)
missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    SUDO=""
    if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    if ! $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; then
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

mkdir -p "$TMP"
log "compiling $PEER_BIN"
gcc -O2 -Wall -o "$PEER_BIN" "$PEER_SRC" -lleveldb -lrocksdb -lpthread -lm

ENGINES=(leveldb rocksdb ringtail)
if [[ "$SKIP_RINGTAIL" == "1" ]]; then
    warn "SKIP_RINGTAIL=1: benchmarking the peers only"
    ENGINES=(leveldb rocksdb)
else
    log "building ringtail-storage-bench (release)"
    if ! swift build -c release --product ringtail-storage-bench --scratch-path "$SCRATCH_PATH" >&2; then
        warn "swift build failed"
    fi
    for candidate in "${RINGTAIL_BIN_FALLBACKS[@]}"; do
        if [[ ! -x "$RINGTAIL_BIN" && -x "$candidate" ]]; then
            warn "$RINGTAIL_BIN not found: using $candidate"
            RINGTAIL_BIN="$candidate"
        fi
    done
    if [[ ! -x "$RINGTAIL_BIN" ]]; then
        warn "$RINGTAIL_BIN not found: skipping ringtail"
        ENGINES=(leveldb rocksdb)
    fi
fi

# ------------------------------------------------------------------ scaling
scaled() { awk -v s="$SCALE" -v n="$1" 'BEGIN { v = int(n * s + 0.5); if (v < 1) v = 1; print v }'; }
N_A="$(scaled 1000000)"
N_B="$(scaled 200000)"
SENSORS="$(scaled 10000)"
SCANS="$(scaled 50000)"

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$RESULTS/storage-$STAMP.jsonl"

ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
python3 - "$OUT" "$STAMP" "$SCALE" "$ROUNDS" "$(ver librocksdb-dev)" "$(ver libleveldb-dev)" \
    "$(stat -f -c %T "$TMP" 2>/dev/null || echo '?')" "${ENGINES[*]}" <<'PY'
import json, os, platform, sys
out, stamp, scale, rounds, rocks, level, fs, engines = sys.argv[1:]
cpu = "?"
try:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
except OSError:
    pass
meta = {"meta": True, "started_utc": stamp, "host": platform.node(), "kernel": platform.release(),
        "nproc": os.cpu_count(), "cpu": cpu, "fs": fs, "scale": float(scale), "rounds": int(rounds),
        "rocksdb": rocks, "leveldb": level, "engines": engines.split()}
with open(out, "a") as f:
    f.write(json.dumps(meta, separators=(",", ":")) + "\n")
PY
log "results -> $OUT  (A: N=$N_A, B: N=$N_B x64 sync, C: $SENSORS sensors / $SCANS scans, rounds=$ROUNDS)"

# --------------------------------------------------------------------- runs
CUR_DB=""
cleanup() { if [[ -n "$CUR_DB" && -d "$CUR_DB" ]]; then rm -rf "$CUR_DB"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILURES=0
engine_bin() { if [[ "$1" == "ringtail" ]]; then echo "$RINGTAIL_BIN"; else echo "$PEER_BIN"; fi; }

# run ROUND SCENARIO ENGINE WORKLOAD [flags...]  — appends one JSON line; returns 1 on failure
run() {
    local round="$1" scen="$2" eng="$3" wl="$4"
    shift 4
    local bin out line rc=0 errf="$TMP/stderr.$$"
    bin="$(engine_bin "$eng")"
    sync # keep the previous run's dirty pages out of this run
    out="$("$bin" --engine "$eng" --workload "$wl" "$@" 2>"$errf")" || rc=$?
    line="$(printf '%s\n' "$out" | grep '^{' | tail -n 1 || true)"
    if [[ $rc -ne 0 || -z "$line" ]]; then
        warn "$eng $wl (round $round, scenario $scen) failed with exit $rc:"
        tail -n 20 "$errf" >&2 || true
        printf '{"round":%d,"scenario":"%s","engine":"%s","workload":"%s","error":"exit %d"}\n' \
            "$round" "$scen" "$eng" "$wl" "$rc" >>"$OUT"
        FAILURES=$((FAILURES + 1))
        rm -f "$errf"
        return 1
    fi
    rm -f "$errf"
    printf '{"round":%d,"scenario":"%s",%s\n' "$round" "$scen" "${line#\{}" >>"$OUT"
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("[run-storage]   %-8s %-10s %12.0f ops/s  p50 %.2fus p99 %.2fus p99.9 %.2fus  rss %.0fMB disk %.1fMB  (%.1fs)" % (r["engine"], r["workload"], r["ops_per_sec"], r["p50_us"], r["p99_us"], r["p999_us"], r["peak_rss_mb"], r["disk_bytes"]/1048576, r["seconds"]), file=sys.stderr)' "$line" || true
}

new_db() { CUR_DB="$(mktemp -d "$PWD/$TMP/db.XXXXXX")"; }
drop_db() { rm -rf "$CUR_DB"; CUR_DB=""; }

for ((round = 1; round <= ROUNDS; round++)); do
    # rotate the engine order by (round - 1)
    k=$(((round - 1) % ${#ENGINES[@]}))
    ORDER=("${ENGINES[@]:k}" "${ENGINES[@]:0:k}")
    log "round $round/$ROUNDS: order ${ORDER[*]}"

    for eng in "${ORDER[@]}"; do
        log "A $eng"
        new_db
        if run "$round" A "$eng" fillrandom --db "$CUR_DB" --n "$N_A" --threads 1 --sync 0; then
            run "$round" A "$eng" readrandom --db "$CUR_DB" --n "$N_A" --threads 1 --sync 0 || true
        fi
        drop_db
    done
    for eng in "${ORDER[@]}"; do
        log "B $eng"
        new_db
        run "$round" B "$eng" fillrandom --db "$CUR_DB" --n "$N_B" --threads 64 --sync 1 || true
        drop_db
    done
    for eng in "${ORDER[@]}"; do
        log "C $eng"
        new_db
        if run "$round" C "$eng" iot --db "$CUR_DB" --n "$SENSORS" --threads 1 --sync 0; then
            run "$round" C "$eng" scan --db "$CUR_DB" --n "$SENSORS" --scans "$SCANS" --threads 1 || true
        fi
        drop_db
    done
done

echo
summarize "$OUT"
echo
echo "raw results: $OUT"
if ((FAILURES)); then
    warn "$FAILURES run(s) failed"
    exit 1
fi
