#!/usr/bin/env bash
# Cluster benchmark: a local 3-node Ringtail cluster (RF 3, group commit)
# against a 3-member etcd cluster (Debian's etcd-server), both on loopback,
# same machine, same harness (Benchmarks/ClusterBench), 64 clients, 100-byte
# values, uniform keys.
#
#   bash Benchmarks/run-cluster.sh                  # 2 rounds, 10 s per measurement
#   ROUNDS=3 SECONDS_PER_RUN=20 bash Benchmarks/run-cluster.sh
#   bash Benchmarks/run-cluster.sh --summarize Benchmarks/results/cluster-XXXX.jsonl
#   bash Benchmarks/run-cluster.sh --journal-ab     # Ringtail only: QUORUM writes with the
#                                                   # write journal on, then off, ROUNDS times
#
# Per round, for each measurement: Ringtail writes at ONE, QUORUM and ALL and
# etcd puts, then Ringtail reads at ONE, QUORUM and ALL and etcd (linearizable)
# gets. Odd rounds run Ringtail first, even rounds etcd first (A B A B), so
# both see comparable machine conditions. Both clusters stay up for the whole
# run; the one not measured is idle.
#
# Env: ROUNDS (2), SECONDS_PER_RUN (10), CLIENTS (64), VALUE_BYTES (100),
# KEYS (100000). Results: one JSON line per measurement appended to
# Benchmarks/results/cluster-<UTC timestamp>.jsonl (with "round"; a "meta"
# line first), then a markdown summary on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source Benchmarks/lib.sh
RESULTS="Benchmarks/results"
TMP="$RESULTS/tmp/cluster"

summarize() {
    python3 - "$1" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
meta = next((r for r in rows if r.get("meta")), {})
runs = [r for r in rows if not r.get("meta")]
print(f"Cluster benchmark: {meta.get('rounds')} round(s), {meta.get('clients')} clients, "
      f"{meta.get('value_bytes')}-byte values, {meta.get('seconds')} s per measurement; commit {meta.get('commit')}")
print()
print("| system | op | level | ops/s (median; min-max) | p50 ms | p99 ms | p99.9 ms | errors |")
print("|---|---|---|---|---|---|---|---|")
groups = {}
for r in runs:
    groups.setdefault((r["target"], r["op"], r["level"]), []).append(r)
order = {"ONE": 0, "QUORUM": 1, "ALL": 2, "etcd": 3}
for key in sorted(groups, key=lambda k: (k[1] != "write", order.get(k[2], 9))):
    g = groups[key]
    ops = [x["ops_per_s"] for x in g]
    med = lambda f: statistics.median([x[f] for x in g]) / 1000
    print(f"| {key[0]} | {key[1]} | {key[2]} | {statistics.median(ops):,.0f}; {min(ops):,.0f}-{max(ops):,.0f} "
          f"| {med('p50_us'):.2f} | {med('p99_us'):.2f} | {med('p999_us'):.2f} | {sum(x['errors'] for x in g)} |")
print()
print("Ringtail / etcd, per round (same round, adjacent measurements):")
print()
print("| op | level | throughput ratio (median; min-max) | p99 ratio etcd/Ringtail (median; min-max) |")
print("|---|---|---|---|")
for op in ("write", "read"):
    for level in ("ONE", "QUORUM", "ALL"):
        tr, pr = [], []
        for rnd in sorted({r["round"] for r in runs}):
            a = [r for r in runs if r["round"] == rnd and r["target"] == "ringtail" and r["op"] == op and r["level"] == level]
            b = [r for r in runs if r["round"] == rnd and r["target"] == "etcd" and r["op"] == op]
            if a and b and b[0]["ops_per_s"] > 0 and a[0]["p99_us"] > 0:
                tr.append(a[0]["ops_per_s"] / b[0]["ops_per_s"])
                pr.append(b[0]["p99_us"] / a[0]["p99_us"])
        if tr:
            print(f"| {op} | {level} | {statistics.median(tr):.1f}x; {min(tr):.1f}-{max(tr):.1f} "
                  f"| {statistics.median(pr):.1f}x; {min(pr):.1f}-{max(pr):.1f} |")
PY
}

if [[ "${1:-}" == "--summarize" ]]; then summarize "$2"; exit 0; fi
JOURNAL_AB=0
if [[ "${1:-}" == "--journal-ab" ]]; then JOURNAL_AB=1; fi

ROUNDS="${ROUNDS:-2}"
SECS="${SECONDS_PER_RUN:-10}"
CLIENTS="${CLIENTS:-64}"
VALUE_BYTES="${VALUE_BYTES:-100}"
KEYS="${KEYS:-100000}"

# Dependencies: etcd from Debian, the Ringtail build's own.
bash scripts/install-deps.sh
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client >/dev/null
fi
# The benchmark runs its own members on 2379-2384 (Debian's etcd-server
# package may have started a service there: stop it with `systemctl stop
# etcd` first). Nothing else is touched: busy ports stop the run.
require_free_ports 2379 2380 2381 2382 2383 2384 7501 7502 7503 9501 9502 9503

echo "building Ringtail (release) and the benchmark harness (release)..." >&2
swift build -c release --product ringtail --scratch-path .build-rel >&2
(cd Benchmarks/ClusterBench && swift build -c release >&2)
RT="$ROOT/.build-rel/release/ringtail"
BENCH="$ROOT/Benchmarks/ClusterBench/.build/release/ringtail-cluster-bench"

rm -rf "$TMP"
mkdir -p "$TMP"
ETCD_PIDS=()
cleanup() {
    "$RT" cluster down --dir "$TMP/ringtail" >/dev/null 2>&1 || true
    for p in "${ETCD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${ETCD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# Ringtail: 3 nodes, RF 3, defaults (group commit, 2 ms window).
"$RT" cluster up --dir "$TMP/ringtail" --nodes 3 --peer-port 7500 --client-port 9500 >&2
export RINGTAIL_HOST=127.0.0.1:9501
"$RT" keyspace create bench --rf 3 >&2
"$RT" table create bench.kv --partition-key key:text --column v:blob >&2
"$RT" wait schema-agreement >&2 || true
RT_HOSTS="127.0.0.1:9501,127.0.0.1:9502,127.0.0.1:9503"

if (( JOURNAL_AB )); then
    # The write journal's cost: every node restarted with write_journal on,
    # then off, QUORUM writes measured after each restart, ROUNDS times.
    journal() {
        for n in 1 2 3; do
            sed -i '/^write_journal/d' "$TMP/ringtail/n$n/ringtail.toml"
            echo "write_journal = $1" >> "$TMP/ringtail/n$n/ringtail.toml"
            "$RT" cluster stop "n$n" --dir "$TMP/ringtail" >&2
            "$RT" cluster start "n$n" --dir "$TMP/ringtail" >&2
        done
        sleep 2 # cluster start returns once the node serves; let gossip settle
    }
    for round in $(seq 1 "$ROUNDS"); do
        # Alternate which setting goes first, so neither always meets the smaller data set.
        settings="true false"
        if (( round % 2 == 0 )); then settings="false true"; fi
        for setting in $settings; do
            journal "$setting"
            line=$("$BENCH" --target ringtail --op write --level quorum --hosts "$RT_HOSTS" --clients "$CLIENTS" \
                --value-bytes "$VALUE_BYTES" --keys "$KEYS" --seconds "$SECS")
            python3 -c 'import json,sys; d=json.loads(sys.argv[3]); print("round %s journal %-5s: %8.0f ops/s, p99 %.1f ms" % (sys.argv[1], sys.argv[2], d["ops_per_s"], d["p99_us"] / 1000))' \
                "$round" "$setting" "$line"
        done
    done
    exit 0
fi

# etcd: 3 members on loopback, each with its own data directory (its WAL is
# fsynced before a put is acknowledged, etcd's only mode).
CLUSTER="e1=http://127.0.0.1:2380,e2=http://127.0.0.1:2382,e3=http://127.0.0.1:2384"
for i in 1 2 3; do
    client=$((2377 + 2 * i)); peer=$((2378 + 2 * i))
    etcd --name "e$i" --data-dir "$TMP/etcd$i" \
        --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
        --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "$CLUSTER" --initial-cluster-token ringtail-bench --initial-cluster-state new \
        --log-level error >"$TMP/etcd$i.log" 2>&1 &
    ETCD_PIDS+=($!)
done
ETCD_HOSTS="127.0.0.1:2379,127.0.0.1:2381,127.0.0.1:2383"
for _ in $(seq 1 60); do
    if ETCDCTL_API=3 etcdctl --endpoints="$ETCD_HOSTS" endpoint health >/dev/null 2>&1; then break; fi
    sleep 1
done
ETCDCTL_API=3 etcdctl --endpoints="$ETCD_HOSTS" endpoint health >&2

mkdir -p "$RESULTS"
OUT="$RESULTS/cluster-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
python3 -c 'import json,sys; print(json.dumps({"meta": True, "rounds": int(sys.argv[1]), "clients": int(sys.argv[2]), "value_bytes": int(sys.argv[3]), "seconds": float(sys.argv[4]), "keys": int(sys.argv[5]), "commit": sys.argv[6], "etcd": sys.argv[7], "cores": int(sys.argv[8])}))' \
    "$ROUNDS" "$CLIENTS" "$VALUE_BYTES" "$SECS" "$KEYS" "$(git rev-parse --short HEAD)" "$(etcd --version | head -1)" "$(nproc)" > "$OUT"

measure() { # round target op level hosts
    local line
    line=$("$BENCH" --target "$2" --op "$3" --level "$4" --hosts "$5" --clients "$CLIENTS" --value-bytes "$VALUE_BYTES" \
        --keys "$KEYS" --seconds "$SECS")
    echo "{\"round\": $1, ${line#\{}" | tee -a "$OUT" >&2
}

for round in $(seq 1 "$ROUNDS"); do
    for op in write read; do
        for level in one quorum all; do
            # etcd has one level: measured once per op, between Ringtail's ONE and QUORUM.
            if (( round % 2 == 1 )); then
                measure "$round" ringtail "$op" "$level" "$RT_HOSTS"
                if [[ $level == one ]]; then measure "$round" etcd "$op" etcd "$ETCD_HOSTS"; fi
            else
                if [[ $level == one ]]; then measure "$round" etcd "$op" etcd "$ETCD_HOSTS"; fi
                measure "$round" ringtail "$op" "$level" "$RT_HOSTS"
            fi
        done
    done
done
echo "results: $OUT" >&2
summarize "$OUT"
