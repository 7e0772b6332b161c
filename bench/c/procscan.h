/* Shared by the probe and the floors: what "running" means, in one place.
 *
 * A child counts as running when /proc/PID/exe resolves to the benchmark's private copy of
 * sleep(1): the process exists, is not a zombie (a zombie's exe link is gone) and has completed
 * execve of the workload binary. Each run copies sleep to a unique path, so the same test is
 * also the marker that tells the run's children apart from every other process on the host.
 */
#ifndef BENCH_PROCSCAN_H
#define BENCH_PROCSCAN_H

#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* 1 when PID has exec'd the marker binary MARKER (an absolute path). */
static inline int is_running_marker(pid_t pid, const char *marker, size_t marker_len) {
    char path[64], target[4096];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0 || (size_t)n != marker_len) return 0;
    return memcmp(target, marker, marker_len) == 0;
}

/* Number of processes on the host that are running MARKER; PIDS (may be NULL) receives up to
 * CAP of them. One pass over /proc. */
static inline int count_running_marker(const char *marker, pid_t *pids, int cap) {
    size_t len = strlen(marker);
    DIR *d = opendir("/proc");
    if (!d) return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (is_running_marker(pid, marker, len)) {
            if (pids && count < cap) pids[count] = pid;
            count++;
        }
    }
    closedir(d);
    return count;
}

/* Parent pid of PID from /proc/PID/stat, or -1 when it is gone. */
static inline pid_t parent_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')'); /* comm may contain spaces and parens */
    if (!close_paren) return -1;
    char state;
    int ppid;
    if (sscanf(close_paren + 2, "%c %d", &state, &ppid) != 2) return -1;
    return (pid_t)ppid;
}

static inline int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Prints {"samples_us":[...],"p50_us":..,"p99_us":..} for N samples in nanoseconds (sorted in place). */
static inline void print_samples_json(int64_t *ns, int n, const char *extra) {
    printf("{\"samples_us\":[");
    for (int i = 0; i < n; i++) printf("%s%.1f", i ? "," : "", ns[i] / 1000.0);
    qsort(ns, (size_t)n, sizeof *ns, cmp_i64);
    double p50 = n ? ns[(n - 1) * 50 / 100] / 1000.0 : 0, p99 = n ? ns[(n - 1) * 99 / 100] / 1000.0 : 0;
    printf("],\"count\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f%s%s}\n", n, p50, p99, extra ? "," : "", extra ? extra : "");
    fflush(stdout);
}

#endif
