// CRC32C (Castagnoli, polynomial 0x82F63B78 reflected) for record, block and
// file checksums. The hardware path uses the SSE4.2 crc32 instruction, chosen
// at run time; the software path is slicing-by-8.
#include "ringtail_support.h"
#include <string.h>

static uint32_t table[8][256];
static int table_ready = 0;

static void build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t ringtail_crc32c_software(uint32_t crc, const void *data, size_t length) {
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table(); // idempotent, race-benign
    const uint8_t *p = (const uint8_t *)data;
    uint32_t c = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        uint32_t lo = (uint32_t)word ^ c, hi = (uint32_t)(word >> 32);
        c = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
            table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^ table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24];
        p += 8;
        length -= 8;
    }
    while (length--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xFF];
    return ~c;
}

#if defined(__x86_64__)
// Shifting a CRC register past n zero bytes is multiplication by x^(8n)
// modulo the polynomial (reflected bit order, as in zlib's crc32_combine).
static uint32_t multmodp(uint32_t a, uint32_t b) {
    uint32_t m = (uint32_t)1 << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = (b & 1) ? (b >> 1) ^ 0x82F63B78u : b >> 1;
    }
    return p;
}

// x^(8n) mod p, by square-and-multiply (x^1 is 1 << 30 when reflected).
static uint32_t x8nmodp(size_t n) {
    uint32_t square = (uint32_t)1 << 30, result = (uint32_t)1 << 31;
    for (int k = 0; k < 3; k++) square = multmodp(square, square);
    while (n) {
        if (n & 1) result = multmodp(square, result);
        square = multmodp(square, square);
        n >>= 1;
    }
    return result;
}

// Three interleaved streams hide the crc32 instruction's 3-cycle latency.
// Stride lengths are fixed so the shift constants are computed once.
#define CRC_LONG 4096
#define CRC_SHORT 256
static uint32_t shift_long1, shift_long2, shift_short1, shift_short2;
static int shifts_ready = 0;

static void build_shifts(void) {
    shift_long1 = x8nmodp(CRC_LONG);
    shift_long2 = x8nmodp(2 * CRC_LONG);
    shift_short1 = x8nmodp(CRC_SHORT);
    shift_short2 = x8nmodp(2 * CRC_SHORT);
    __atomic_store_n(&shifts_ready, 1, __ATOMIC_RELEASE);
}

__attribute__((target("sse4.2")))
static uint64_t crc32c_3way(uint64_t c, const uint8_t **pp, size_t *lengthp, size_t stride,
                            uint32_t shift1, uint32_t shift2) {
    const uint8_t *p = *pp;
    size_t length = *lengthp;
    while (length >= 3 * stride) {
        uint64_t c1 = 0, c2 = 0;
        const uint8_t *end = p + stride;
        while (p < end) {
            uint64_t w0, w1, w2;
            memcpy(&w0, p, 8);
            memcpy(&w1, p + stride, 8);
            memcpy(&w2, p + 2 * stride, 8);
            c = __builtin_ia32_crc32di(c, w0);
            c1 = __builtin_ia32_crc32di(c1, w1);
            c2 = __builtin_ia32_crc32di(c2, w2);
            p += 8;
        }
        c = multmodp(shift2, (uint32_t)c) ^ multmodp(shift1, (uint32_t)c1) ^ (uint32_t)c2;
        p += 2 * stride;
        length -= 3 * stride;
    }
    *pp = p;
    *lengthp = length;
    return c;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t length) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t c = ~crc;
    if (length >= 3 * CRC_SHORT) {
        if (!__atomic_load_n(&shifts_ready, __ATOMIC_ACQUIRE)) build_shifts(); // idempotent, race-benign
        c = crc32c_3way(c, &p, &length, CRC_LONG, shift_long1, shift_long2);
        c = crc32c_3way(c, &p, &length, CRC_SHORT, shift_short1, shift_short2);
    }
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

static int hw_state = -1; // -1 unknown, 0 no, 1 yes

uint32_t ringtail_crc32c(uint32_t crc, const void *data, size_t length) {
    int state = __atomic_load_n(&hw_state, __ATOMIC_RELAXED);
    if (state < 0) {
        __builtin_cpu_init();
        state = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&hw_state, state, __ATOMIC_RELAXED);
    }
    return state ? crc32c_hw(crc, data, length) : ringtail_crc32c_software(crc, data, length);
}
#else
uint32_t ringtail_crc32c(uint32_t crc, const void *data, size_t length) {
    return ringtail_crc32c_software(crc, data, length);
}
#endif
