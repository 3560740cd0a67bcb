/*
 * peer_bench.c — LevelDB / RocksDB peer harness for Ringtail's storage benchmark.
 *
 * Build:  gcc -O2 -o peer_bench peer_bench.c -lleveldb -lrocksdb -lpthread -lm
 * Usage:  peer_bench --engine leveldb|rocksdb --workload NAME --db DIR
 *                    [--n N] [--threads T] [--sync 0|1] [--scans S] [--seed X]
 *
 * Uses only the C APIs (<leveldb/c.h>, <rocksdb/c.h>). Prints exactly one JSON
 * object on one line on stdout; diagnostics go to stderr; exit status 1 on any
 * engine error or failed correctness check, 2 on bad usage.
 *
 * ==========================================================================
 * SHARED WORKLOAD DEFINITIONS (Ringtail's Swift benchmark reproduces these
 * byte for byte; all integer arithmetic is on uint64 with wrap-around)
 * ==========================================================================
 *
 * splitmix64(x):
 *     state = x + 0x9E3779B97F4A7C15
 *     z = state
 *     z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
 *     z = (z ^ (z >> 27)) * 0x94D049BB133111EB
 *     return z ^ (z >> 31)
 *   (a bijection on uint64, so the N keys below are all distinct)
 *
 * key(i), 0 <= i < N: 16 bytes = lowercase hex of splitmix64(i), zero padded,
 *     i.e. printf("%016llx", splitmix64(i)).       e.g. key(0) = "e220a8397b1dcdaf"
 *
 * value(i): 100 bytes.
 *     base = splitmix64(i ^ 0xABCDEF)
 *     for j in 0..<50:
 *         w    = splitmix64(base + (j >> 3))          // j >> 3 = j / 8, 0...6
 *         b    = (w >> (8 * (j & 7))) & 0xFF         // byte (j % 8) of w, little-endian
 *         v[j] = 'a' + (b % 26)
 *     for j in 0..<50: v[50 + j] = v[j]              // second half repeats the first
 *   -> 50 pseudo-random lowercase letters then the same 50 again (~2:1 compressible).
 *   value(0) = "bwubitwemalamedzmjwaubclflzccvvpbtipmjbzquzyrigapo" x 2 (see --selftest).
 *
 * fillrandom (--n N, default 1,000,000; --threads T, default 1; --sync, default 0):
 *     Write order: plain i = 0, 1, ..., N-1, put(key(i), value(i)). The keys are
 *     hashes, so this is a random-key-order insert (no permutation is applied).
 *     With T > 1, thread t (0 <= t < T) puts the indices i with i % T == t,
 *     in ascending order. One put per operation, no batching.
 *     --sync 1: every put uses write option sync=true (the engines group-commit
 *     concurrent synced writers internally). --sync 0: WAL on, no fsync.
 *
 * readrandom (--n N must equal the N of the fillrandom that built DIR; --seed X,
 *     default 42; --threads T, default 1):
 *     Opens the existing DB (create_if_missing=false). For k in 0..<N:
 *         j = splitmix64(X + k) % N ; get(key(j))
 *     With T > 1, thread t does the k with k % T == t.
 *     Every key must be found and its value must equal value(j) byte for byte
 *     (checked outside the per-op timer, inside the wall clock); otherwise exit 1.
 *     JSON reports "found".
 *
 * iot (--n SENSORS, default 10,000; always 100 readings per sensor; single writer):
 *     for t in 0..<100: for s in 0..<SENSORS: put(key, value) with
 *         key   = "sensor-" + 8-digit zero-padded decimal s + 8-byte big-endian
 *                 uint64 timestamp_us, timestamp_us = 1767225600000000 + t * 60000000
 *                 (23 bytes total)
 *         value = 24 bytes: three little-endian IEEE-754 binary64 doubles
 *                 temperature = (20.0 + Double(s % 10)) + Double(t) * 0.01
 *                 humidity    = 40.0 + Double(s % 7)
 *                 voltage     = 3.3 - Double(t) * 0.001
 *                 (evaluated exactly in that order, no fused multiply-add)
 *     ops = SENSORS * 100. --sync as for fillrandom. --threads must be 1.
 *
 * scan (--n SENSORS as used for iot; --scans S, default 50,000; --seed X, default 42;
 *     --threads T, default 1):
 *     Opens the DB filled by iot. For k in 0..<S:
 *         s = splitmix64(X + k) % SENSORS
 *         prefix = "sensor-" + 8-digit zero-padded s   (15 bytes)
 *         create an iterator, seek(prefix), read (key and value of) up to 100
 *         consecutive entries whose key starts with prefix, destroy the iterator.
 *     Each scan must return exactly 100 rows (23-byte keys, 24-byte values),
 *     otherwise exit 1. Latency is per scan (iterator create .. destroy).
 *     With T > 1, thread t does the k with k % T == t. JSON reports "rows".
 *
 * Timing: the wall clock ("seconds") runs from the first thread starting its
 *     loop to the last thread finishing it: operations only. Opening the DB is not
 *     timed; neither is closing it (after a write workload the DB is closed, which
 *     may leave unflushed memtable data in the WAL, then "disk_bytes" is measured).
 *     Per-operation latency is clock_gettime(CLOCK_MONOTONIC) around the single
 *     engine call (put / get / whole scan); key and value generation and the
 *     correctness checks sit outside it.
 *
 * Latency histogram: nanosecond values; values < 256 get exact buckets, larger
 *     values keep their top 8 significant bits (bucket width / lower bound
 *     <= 1/128 ~ 0.78%); a percentile reports its bucket's midpoint (clamped to
 *     the observed min/max), so relative error <= 0.4%. Per-thread histograms
 *     are merged. Percentile q = smallest bucket whose cumulative count is
 *     >= ceil(q * count).
 *
 * peak_rss_mb = getrusage(RUSAGE_SELF).ru_maxrss / 1024 (KiB -> MiB).
 * disk_bytes  = sum of st_size of all regular files under DIR (recursive,
 *               lstat) after the DB is closed.
 *
 * Engine settings (identical for both engines; echoed in the JSON):
 *     create_if_missing (write workloads), write buffer / memtable 64 MiB,
 *     LRU block cache 32 MiB, bloom filter 10 bits/key, block size 16 KiB,
 *     max_open_files 1000, compression LevelDB snappy / RocksDB LZ4.
 *     RocksDB additionally: rocksdb_options_increase_parallelism(opts, 2),
 *     full (format-version>=5) bloom filter via the block-based table options.
 *     Everything else is left at the library defaults (e.g. LevelDB 2 MiB
 *     table files, RocksDB 64 MiB target file size, 2 write buffers).
 *     Reads use default read options (checksums not verified, fill cache).
 *
 * JSON fields (one line, this order):
 *     engine, workload, n, ops, threads, sync, seed, seconds, ops_per_sec,
 *     p50_us, p99_us, p999_us, max_us, peak_rss_mb, disk_bytes,
 *     [found (readrandom) | rows, scans (scan)],
 *     write_buffer_mb, block_cache_mb, bloom_bits_per_key, block_size_kb,
 *     max_open_files, compression
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <leveldb/c.h>
#include <rocksdb/c.h>

/* ------------------------------------------------------------------ settings */

#define WRITE_BUFFER_BYTES (64u << 20)
#define BLOCK_CACHE_BYTES  (32u << 20)
#define BLOOM_BITS_PER_KEY 10
#define BLOCK_SIZE_BYTES   (16u << 10)
#define MAX_OPEN_FILES     1000

#define KEY_LEN        16
#define VALUE_LEN      100
#define IOT_READINGS   100
#define IOT_KEY_LEN    23
#define IOT_PREFIX_LEN 15
#define IOT_VALUE_LEN  24
#define IOT_T0_US      1767225600000000ULL
#define IOT_STEP_US    60000000ULL

/* --------------------------------------------------------------- utilities */

/* _exit: other threads may still be inside the engine; skip static destructors */
static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("peer_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    _exit(1);
}

static inline uint64_t splitmix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline void make_key(uint64_t i, char out[KEY_LEN]) {
    static const char hex[] = "0123456789abcdef";
    uint64_t h = splitmix64(i);
    for (int k = KEY_LEN - 1; k >= 0; k--) {
        out[k] = hex[h & 0xF];
        h >>= 4;
    }
}

static inline void make_value(uint64_t i, char out[VALUE_LEN]) {
    uint64_t base = splitmix64(i ^ 0xABCDEFULL);
    uint64_t w = 0;
    for (int j = 0; j < 50; j++) {
        if ((j & 7) == 0) w = splitmix64(base + (uint64_t)(j >> 3));
        unsigned b = (unsigned)((w >> (8 * (j & 7))) & 0xFF);
        out[j] = (char)('a' + b % 26);
    }
    memcpy(out + 50, out, 50);
}

static inline void put_le_double(char *p, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    for (int k = 0; k < 8; k++) p[k] = (char)((u >> (8 * k)) & 0xFF);
}

static inline void make_iot_prefix(uint64_t s, char out[IOT_PREFIX_LEN]) {
    memcpy(out, "sensor-", 7);
    uint64_t v = s;
    for (int k = 14; k >= 7; k--) {
        out[k] = (char)('0' + v % 10);
        v /= 10;
    }
}

static inline void make_iot_key(uint64_t s, uint64_t t, char out[IOT_KEY_LEN]) {
    make_iot_prefix(s, out);
    uint64_t ts = IOT_T0_US + t * IOT_STEP_US;
    for (int k = 0; k < 8; k++) out[15 + k] = (char)((ts >> (8 * (7 - k))) & 0xFF);
}

static inline void make_iot_value(uint64_t s, uint64_t t, char out[IOT_VALUE_LEN]) {
    /* volatile products keep the compiler from contracting into an FMA */
    volatile double tprod = (double)t * 0.01;
    volatile double vprod = (double)t * 0.001;
    double temperature = (20.0 + (double)(s % 10)) + tprod;
    double humidity = 40.0 + (double)(s % 7);
    double voltage = 3.3 - vprod;
    put_le_double(out, temperature);
    put_le_double(out + 8, humidity);
    put_le_double(out + 16, voltage);
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- histogram */

#define H_SUB_BITS 7                               /* 128 sub-buckets per octave */
#define H_SUB (1u << H_SUB_BITS)
#define H_LINEAR (2u * H_SUB)                      /* 0..255 exact */
#define H_BUCKETS (H_LINEAR + (64 - H_SUB_BITS - 1) * H_SUB) /* 7424 */

typedef struct {
    uint64_t count;
    uint64_t min, max;
    double sum;
    uint64_t b[H_BUCKETS];
} hist_t;

static void hist_init(hist_t *h) {
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

static inline unsigned hist_index(uint64_t v) {
    if (v < H_LINEAR) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= 8 */
    unsigned shift = msb - H_SUB_BITS;                   /* >= 1 */
    unsigned m = (unsigned)(v >> shift);                 /* 128..255 */
    return H_LINEAR + (shift - 1) * H_SUB + (m - H_SUB);
}

static void hist_bucket_range(unsigned idx, double *lo, double *hi) {
    if (idx < H_LINEAR) {
        *lo = *hi = (double)idx;
        return;
    }
    unsigned shift = (idx - H_LINEAR) / H_SUB + 1;
    unsigned m = H_SUB + (idx - H_LINEAR) % H_SUB;
    *lo = ldexp((double)m, (int)shift);
    *hi = *lo + ldexp(1.0, (int)shift) - 1.0;
}

static inline void hist_add(hist_t *h, uint64_t v) {
    h->b[hist_index(v)]++;
    h->count++;
    h->sum += (double)v;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
}

static void hist_merge(hist_t *dst, const hist_t *src) {
    for (unsigned i = 0; i < H_BUCKETS; i++) dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
}

/* value in ns */
static double hist_quantile(const hist_t *h, double q) {
    if (h->count == 0) return 0.0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1) rank = 1;
    if (rank > h->count) rank = h->count;
    uint64_t cum = 0;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        cum += h->b[i];
        if (cum >= rank) {
            double lo, hi;
            hist_bucket_range(i, &lo, &hi);
            double mid = (lo + hi) / 2.0;
            if (mid < (double)h->min) mid = (double)h->min;
            if (mid > (double)h->max) mid = (double)h->max;
            return mid;
        }
    }
    return (double)h->max;
}

/* ------------------------------------------------------------ engine layer */

typedef enum { ENG_LEVELDB, ENG_ROCKSDB } engine_kind;

typedef struct {
    engine_kind kind;
    /* leveldb */
    leveldb_t *ldb;
    leveldb_options_t *lopts;
    leveldb_cache_t *lcache;
    leveldb_filterpolicy_t *lfilter;
    leveldb_writeoptions_t *lwopts;
    leveldb_readoptions_t *lropts;
    /* rocksdb */
    rocksdb_t *rdb;
    rocksdb_options_t *ropts;
    rocksdb_block_based_table_options_t *rbbto;
    rocksdb_cache_t *rcache;
    rocksdb_writeoptions_t *rwopts;
    rocksdb_readoptions_t *rropts;
} db_t;

static void check_err(char *err, const char *what) {
    if (err != NULL) {
        fprintf(stderr, "peer_bench: %s: %s\n", what, err);
        fflush(stderr);
        _exit(1);
    }
}

static void db_open(db_t *d, engine_kind kind, const char *dir, int create, int sync) {
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    char *err = NULL;
    if (kind == ENG_LEVELDB) {
        d->lopts = leveldb_options_create();
        d->lcache = leveldb_cache_create_lru(BLOCK_CACHE_BYTES);
        d->lfilter = leveldb_filterpolicy_create_bloom(BLOOM_BITS_PER_KEY);
        leveldb_options_set_create_if_missing(d->lopts, (uint8_t)create);
        leveldb_options_set_write_buffer_size(d->lopts, WRITE_BUFFER_BYTES);
        leveldb_options_set_cache(d->lopts, d->lcache);
        leveldb_options_set_filter_policy(d->lopts, d->lfilter);
        leveldb_options_set_block_size(d->lopts, BLOCK_SIZE_BYTES);
        leveldb_options_set_compression(d->lopts, leveldb_snappy_compression);
        leveldb_options_set_max_open_files(d->lopts, MAX_OPEN_FILES);
        d->lwopts = leveldb_writeoptions_create();
        leveldb_writeoptions_set_sync(d->lwopts, (uint8_t)sync);
        d->lropts = leveldb_readoptions_create();
        d->ldb = leveldb_open(d->lopts, dir, &err);
        check_err(err, "leveldb_open");
    } else {
        d->ropts = rocksdb_options_create();
        rocksdb_options_increase_parallelism(d->ropts, 2);
        rocksdb_options_set_create_if_missing(d->ropts, (unsigned char)create);
        rocksdb_options_set_write_buffer_size(d->ropts, WRITE_BUFFER_BYTES);
        rocksdb_options_set_max_open_files(d->ropts, MAX_OPEN_FILES);
        rocksdb_options_set_compression(d->ropts, rocksdb_lz4_compression);
        d->rbbto = rocksdb_block_based_options_create();
        d->rcache = rocksdb_cache_create_lru(BLOCK_CACHE_BYTES);
        rocksdb_block_based_options_set_block_cache(d->rbbto, d->rcache);
        rocksdb_block_based_options_set_block_size(d->rbbto, BLOCK_SIZE_BYTES);
        /* the table options take ownership of the filter policy */
        rocksdb_block_based_options_set_filter_policy(
            d->rbbto, rocksdb_filterpolicy_create_bloom_full(BLOOM_BITS_PER_KEY));
        rocksdb_options_set_block_based_table_factory(d->ropts, d->rbbto);
        d->rwopts = rocksdb_writeoptions_create();
        rocksdb_writeoptions_set_sync(d->rwopts, (unsigned char)sync);
        d->rropts = rocksdb_readoptions_create();
        d->rdb = rocksdb_open(d->ropts, dir, &err);
        check_err(err, "rocksdb_open");
    }
}

static void db_close(db_t *d) {
    if (d->kind == ENG_LEVELDB) {
        leveldb_close(d->ldb);
        leveldb_writeoptions_destroy(d->lwopts);
        leveldb_readoptions_destroy(d->lropts);
        leveldb_options_destroy(d->lopts);
        leveldb_cache_destroy(d->lcache);
        leveldb_filterpolicy_destroy(d->lfilter);
    } else {
        rocksdb_close(d->rdb);
        rocksdb_writeoptions_destroy(d->rwopts);
        rocksdb_readoptions_destroy(d->rropts);
        rocksdb_options_destroy(d->ropts);
        rocksdb_block_based_options_destroy(d->rbbto);
        rocksdb_cache_destroy(d->rcache);
    }
}

static inline void db_put(db_t *d, const char *k, size_t kl, const char *v, size_t vl) {
    char *err = NULL;
    if (d->kind == ENG_LEVELDB)
        leveldb_put(d->ldb, d->lwopts, k, kl, v, vl, &err);
    else
        rocksdb_put(d->rdb, d->rwopts, k, kl, v, vl, &err);
    check_err(err, "put");
}

/* returns malloc'd value or NULL if not found */
static inline char *db_get(db_t *d, const char *k, size_t kl, size_t *vl) {
    char *err = NULL;
    char *v;
    if (d->kind == ENG_LEVELDB)
        v = leveldb_get(d->ldb, d->lropts, k, kl, vl, &err);
    else
        v = rocksdb_get(d->rdb, d->rropts, k, kl, vl, &err);
    check_err(err, "get");
    return v;
}

static inline void db_free(db_t *d, char *p) {
    if (d->kind == ENG_LEVELDB)
        leveldb_free(p);
    else
        rocksdb_free(p);
}

/* One prefix scan: returns the number of rows (<= limit); checks key/value sizes. */
static int db_scan_prefix(db_t *d, const char *prefix, size_t plen, int limit, int *bad) {
    int rows = 0;
    char *err = NULL;
    size_t kl = 0, vl = 0;
    if (d->kind == ENG_LEVELDB) {
        leveldb_iterator_t *it = leveldb_create_iterator(d->ldb, d->lropts);
        leveldb_iter_seek(it, prefix, plen);
        while (rows < limit && leveldb_iter_valid(it)) {
            const char *k = leveldb_iter_key(it, &kl);
            if (kl < plen || memcmp(k, prefix, plen) != 0) break;
            const char *v = leveldb_iter_value(it, &vl);
            if (kl != IOT_KEY_LEN || vl != IOT_VALUE_LEN || v == NULL) *bad = 1;
            rows++;
            leveldb_iter_next(it);
        }
        leveldb_iter_get_error(it, &err);
        leveldb_iter_destroy(it);
    } else {
        rocksdb_iterator_t *it = rocksdb_create_iterator(d->rdb, d->rropts);
        rocksdb_iter_seek(it, prefix, plen);
        while (rows < limit && rocksdb_iter_valid(it)) {
            const char *k = rocksdb_iter_key(it, &kl);
            if (kl < plen || memcmp(k, prefix, plen) != 0) break;
            const char *v = rocksdb_iter_value(it, &vl);
            if (kl != IOT_KEY_LEN || vl != IOT_VALUE_LEN || v == NULL) *bad = 1;
            rows++;
            rocksdb_iter_next(it);
        }
        rocksdb_iter_get_error(it, &err);
        rocksdb_iter_destroy(it);
    }
    check_err(err, "iterator");
    return rows;
}

/* -------------------------------------------------------------- disk usage */

static uint64_t dir_bytes(const char *path) {
    uint64_t total = 0;
    DIR *dh = opendir(path);
    if (!dh) die("opendir %s: %s", path, strerror(errno));
    struct dirent *e;
    char buf[PATH_MAX];
    while ((e = readdir(dh)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(buf, sizeof(buf), "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(buf, &st) != 0) continue; /* raced with deletion */
        if (S_ISDIR(st.st_mode))
            total += dir_bytes(buf);
        else if (S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
    }
    closedir(dh);
    return total;
}

/* ----------------------------------------------------------------- workers */

typedef enum { WL_FILLRANDOM, WL_READRANDOM, WL_IOT, WL_SCAN } workload_kind;

typedef struct {
    db_t *db;
    workload_kind wl;
    int tid, nthreads;
    uint64_t n;      /* N (keys) or sensors */
    uint64_t scans;
    uint64_t seed;
    pthread_barrier_t *barrier;
    /* results */
    hist_t *hist;
    uint64_t t_start, t_end;
    uint64_t ops, found, rows;
} worker_t;

static void *worker_main(void *arg) {
    worker_t *w = arg;
    db_t *d = w->db;
    hist_t *h = w->hist;
    char key[32], val[VALUE_LEN + 8], expect[VALUE_LEN];
    const uint64_t T = (uint64_t)w->nthreads, t0 = (uint64_t)w->tid;

    pthread_barrier_wait(w->barrier);
    w->t_start = now_ns();
    switch (w->wl) {
    case WL_FILLRANDOM:
        for (uint64_t i = t0; i < w->n; i += T) {
            make_key(i, key);
            make_value(i, val);
            uint64_t a = now_ns();
            db_put(d, key, KEY_LEN, val, VALUE_LEN);
            hist_add(h, now_ns() - a);
            w->ops++;
        }
        break;
    case WL_READRANDOM:
        for (uint64_t k = t0; k < w->n; k += T) {
            uint64_t j = splitmix64(w->seed + k) % w->n;
            make_key(j, key);
            size_t vl = 0;
            uint64_t a = now_ns();
            char *v = db_get(d, key, KEY_LEN, &vl);
            hist_add(h, now_ns() - a);
            w->ops++;
            if (v == NULL) die("readrandom: key(%" PRIu64 ") = %.16s not found", j, key);
            make_value(j, expect);
            if (vl != VALUE_LEN || memcmp(v, expect, VALUE_LEN) != 0)
                die("readrandom: key(%" PRIu64 ") has a wrong value (len %zu)", j, vl);
            db_free(d, v);
            w->found++;
        }
        break;
    case WL_IOT: /* single writer, enforced in main */
        for (uint64_t t = 0; t < IOT_READINGS; t++) {
            for (uint64_t s = 0; s < w->n; s++) {
                make_iot_key(s, t, key);
                make_iot_value(s, t, val);
                uint64_t a = now_ns();
                db_put(d, key, IOT_KEY_LEN, val, IOT_VALUE_LEN);
                hist_add(h, now_ns() - a);
                w->ops++;
            }
        }
        break;
    case WL_SCAN:
        for (uint64_t k = t0; k < w->scans; k += T) {
            uint64_t s = splitmix64(w->seed + k) % w->n;
            make_iot_prefix(s, key);
            int bad = 0;
            uint64_t a = now_ns();
            int rows = db_scan_prefix(d, key, IOT_PREFIX_LEN, IOT_READINGS, &bad);
            hist_add(h, now_ns() - a);
            w->ops++;
            if (rows != IOT_READINGS)
                die("scan: sensor %" PRIu64 " returned %d rows, expected %d", s, rows,
                    IOT_READINGS);
            if (bad) die("scan: sensor %" PRIu64 " returned a malformed row", s);
            w->rows += (uint64_t)rows;
        }
        break;
    }
    w->t_end = now_ns();
    return NULL;
}

/* -------------------------------------------------------------------- main */

static void usage(void) {
    fprintf(stderr,
            "usage: peer_bench --engine leveldb|rocksdb --workload "
            "fillrandom|readrandom|iot|scan --db DIR\n"
            "                  [--n N] [--threads T] [--sync 0|1] [--scans S] [--seed X]\n"
            "       peer_bench --selftest   (prints reference keys/values)\n");
    exit(2);
}

static uint64_t parse_u64(const char *s, const char *flag) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end || *end || s[0] == '-') {
        fprintf(stderr, "peer_bench: bad value for %s: %s\n", flag, s);
        exit(2);
    }
    return (uint64_t)v;
}

static void selftest(void) {
    char key[KEY_LEN + 1] = {0}, val[VALUE_LEN + 1] = {0};
    for (uint64_t i = 0; i < 3; i++) {
        make_key(i, key);
        make_value(i, val);
        char ref[32];
        snprintf(ref, sizeof(ref), "%016llx", (unsigned long long)splitmix64(i));
        if (memcmp(ref, key, KEY_LEN) != 0) die("selftest: hex mismatch");
        printf("key(%" PRIu64 ")=%s value(%" PRIu64 ")=%s\n", i, key, i, val);
    }
    char ik[IOT_KEY_LEN], iv[IOT_VALUE_LEN];
    make_iot_key(7, 3, ik);
    make_iot_value(7, 3, iv);
    printf("iot key(s=7,t=3)=");
    for (int k = 0; k < IOT_KEY_LEN; k++) printf("%02x", (unsigned char)ik[k]);
    printf(" value=");
    for (int k = 0; k < IOT_VALUE_LEN; k++) printf("%02x", (unsigned char)iv[k]);
    printf("\n");
    /* histogram self-check: relative error of the reported midpoint */
    double worst = 0;
    for (uint64_t v = 1; v < (1ULL << 40); v = v + 1 + v / 97) {
        double lo, hi;
        hist_bucket_range(hist_index(v), &lo, &hi);
        if ((double)v < lo || (double)v > hi) die("selftest: %" PRIu64 " outside bucket", v);
        double err = fabs((lo + hi) / 2 - (double)v) / (double)v;
        if (err > worst) worst = err;
    }
    printf("histogram buckets=%u worst_relative_error=%.5f\n", (unsigned)H_BUCKETS, worst);
}

int main(int argc, char **argv) {
    const char *engine = NULL, *workload = NULL, *dir = NULL;
    uint64_t n = 0, scans = 50000, seed = 42;
    int n_set = 0, threads = 1, sync = 0;

    for (int a = 1; a < argc; a++) {
        const char *f = argv[a];
        if (strcmp(f, "--selftest") == 0) {
            selftest();
            return 0;
        }
        if (a + 1 >= argc) usage();
        const char *v = argv[++a];
        if (strcmp(f, "--engine") == 0) engine = v;
        else if (strcmp(f, "--workload") == 0) workload = v;
        else if (strcmp(f, "--db") == 0) dir = v;
        else if (strcmp(f, "--n") == 0) { n = parse_u64(v, f); n_set = 1; }
        else if (strcmp(f, "--threads") == 0) threads = (int)parse_u64(v, f);
        else if (strcmp(f, "--sync") == 0) sync = (int)parse_u64(v, f);
        else if (strcmp(f, "--scans") == 0) scans = parse_u64(v, f);
        else if (strcmp(f, "--seed") == 0) seed = parse_u64(v, f);
        else usage();
    }
    if (!engine || !workload || !dir) usage();
    if (threads < 1 || threads > 4096 || (sync != 0 && sync != 1)) usage();

    engine_kind ek;
    if (strcmp(engine, "leveldb") == 0) ek = ENG_LEVELDB;
    else if (strcmp(engine, "rocksdb") == 0) ek = ENG_ROCKSDB;
    else usage();

    workload_kind wl;
    if (strcmp(workload, "fillrandom") == 0) wl = WL_FILLRANDOM;
    else if (strcmp(workload, "readrandom") == 0) wl = WL_READRANDOM;
    else if (strcmp(workload, "iot") == 0) wl = WL_IOT;
    else if (strcmp(workload, "scan") == 0) wl = WL_SCAN;
    else usage();

    if (!n_set) n = (wl == WL_IOT || wl == WL_SCAN) ? 10000 : 1000000;
    if (n == 0) usage();
    if (wl == WL_IOT && threads != 1) {
        fprintf(stderr, "peer_bench: iot is a single-writer workload (--threads 1)\n");
        exit(2);
    }
    if (wl == WL_IOT && n > 99999999ULL) usage();
    if (wl == WL_SCAN && scans == 0) usage();

    int is_write = (wl == WL_FILLRANDOM || wl == WL_IOT);
    if (is_write) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) die("mkdir %s: %s", dir, strerror(errno));
    }

    db_t db;
    db_open(&db, ek, dir, is_write, sync);

    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    worker_t *ws = calloc((size_t)threads, sizeof(worker_t));
    pthread_t *tids = calloc((size_t)threads, sizeof(pthread_t));
    if (!ws || !tids) die("out of memory");
    for (int t = 0; t < threads; t++) {
        ws[t].db = &db;
        ws[t].wl = wl;
        ws[t].tid = t;
        ws[t].nthreads = threads;
        ws[t].n = n;
        ws[t].scans = scans;
        ws[t].seed = seed;
        ws[t].barrier = &barrier;
        ws[t].hist = malloc(sizeof(hist_t));
        if (!ws[t].hist) die("out of memory");
        hist_init(ws[t].hist);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    for (int t = 0; t < threads; t++)
        if (pthread_create(&tids[t], &attr, worker_main, &ws[t]) != 0)
            die("pthread_create failed");
    for (int t = 0; t < threads; t++) pthread_join(tids[t], NULL);
    pthread_attr_destroy(&attr);
    pthread_barrier_destroy(&barrier);

    hist_t *all = malloc(sizeof(hist_t));
    if (!all) die("out of memory");
    hist_init(all);
    uint64_t t_start = UINT64_MAX, t_end = 0, ops = 0, found = 0, rows = 0;
    for (int t = 0; t < threads; t++) {
        hist_merge(all, ws[t].hist);
        if (ws[t].t_start < t_start) t_start = ws[t].t_start;
        if (ws[t].t_end > t_end) t_end = ws[t].t_end;
        ops += ws[t].ops;
        found += ws[t].found;
        rows += ws[t].rows;
        free(ws[t].hist);
    }
    double seconds = (double)(t_end - t_start) / 1e9;

    db_close(&db);
    uint64_t disk = dir_bytes(dir);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0;

    if (wl == WL_READRANDOM && found != n) die("readrandom: found %" PRIu64 " of %" PRIu64, found, n);
    if (wl == WL_SCAN && rows != scans * IOT_READINGS) die("scan: row total mismatch");

    printf("{\"engine\":\"%s\",\"workload\":\"%s\",\"n\":%" PRIu64 ",\"ops\":%" PRIu64
           ",\"threads\":%d,\"sync\":%d,\"seed\":%" PRIu64
           ",\"seconds\":%.4f,\"ops_per_sec\":%.1f"
           ",\"p50_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,\"max_us\":%.3f"
           ",\"peak_rss_mb\":%.1f,\"disk_bytes\":%" PRIu64,
           engine, workload, n, ops, threads, sync, seed, seconds,
           seconds > 0 ? (double)ops / seconds : 0.0,
           hist_quantile(all, 0.50) / 1e3, hist_quantile(all, 0.99) / 1e3,
           hist_quantile(all, 0.999) / 1e3, (double)all->max / 1e3, rss_mb, disk);
    if (wl == WL_READRANDOM) printf(",\"found\":%" PRIu64, found);
    if (wl == WL_SCAN) printf(",\"rows\":%" PRIu64 ",\"scans\":%" PRIu64, rows, scans);
    printf(",\"write_buffer_mb\":%u,\"block_cache_mb\":%u,\"bloom_bits_per_key\":%d"
           ",\"block_size_kb\":%u,\"max_open_files\":%d,\"compression\":\"%s\"}\n",
           WRITE_BUFFER_BYTES >> 20, BLOCK_CACHE_BYTES >> 20, BLOOM_BITS_PER_KEY,
           BLOCK_SIZE_BYTES >> 10, MAX_OPEN_FILES, ek == ENG_LEVELDB ? "snappy" : "lz4");
    fflush(stdout);
    free(all);
    free(ws);
    free(tids);
    return 0;
}
