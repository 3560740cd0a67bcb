// C helpers for Ringtail: hardware-accelerated CRC32C (Castagnoli).
// Pure functions with no global state beyond a lazily built lookup table.
#ifndef RINGTAIL_SUPPORT_H
#define RINGTAIL_SUPPORT_H
#include <stddef.h>
#include <stdint.h>

/// Extends `crc` (0 for a fresh checksum) over `length` bytes at `data`.
/// Uses SSE4.2 `crc32` instructions when the CPU has them, else slicing-by-8.
/// Standard CRC32C: init/final XOR with 0xFFFFFFFF is applied inside, so
/// ringtail_crc32c(0, "123456789", 9) == 0xE3069283.
uint32_t ringtail_crc32c(uint32_t crc, const void *data, size_t length);

/// Same result, software path only (for tests that compare both paths).
uint32_t ringtail_crc32c_software(uint32_t crc, const void *data, size_t length);

/// Names the calling thread (shown by top -H and gdb); at most 15 bytes are kept.
void ringtail_set_thread_name(const char *name);

/// Sets the calling thread's nice value (Linux: per thread; 0 normal, 19
/// lowest). Returns 0, or -1 with errno set. Raising it needs no privilege.
int ringtail_set_thread_niceness(int niceness);

#endif
