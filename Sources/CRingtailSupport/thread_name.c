// Thread naming and per-thread priority, which Swift's Glibc module does not
// expose (gettid needs the variadic syscall()).
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "ringtail_support.h"

void ringtail_set_thread_name(const char *name) {
    char buffer[16];
    strncpy(buffer, name, 15);
    buffer[15] = 0;
#if defined(__linux__)
    pthread_setname_np(pthread_self(), buffer);
#endif
}

int ringtail_set_thread_niceness(int niceness) {
#if defined(__linux__)
    // On Linux a nice value belongs to the thread (the kernel task), so this
    // lowers only the calling thread's priority.
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), niceness);
#else
    (void)niceness;
    return -1;
#endif
}
