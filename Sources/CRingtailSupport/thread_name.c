// Thread naming, which Swift's Glibc module does not expose.
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include "ringtail_support.h"

void ringtail_set_thread_name(const char *name) {
    char buffer[16];
    strncpy(buffer, name, 15);
    buffer[15] = 0;
#if defined(__linux__)
    pthread_setname_np(pthread_self(), buffer);
#endif
}
