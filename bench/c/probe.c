/* The observer every tool is measured with, floors included.
 *
 *   probe wait-running MARKER N TIMEOUT_MS
 *       Scans /proc until N processes run MARKER; prints {"reached_ns":T,"count":C,"scans":S}
 *       where T is CLOCK_MONOTONIC (the clock of Python's time.monotonic_ns), so the caller
 *       subtracts its own launch timestamp. Exit 1 on timeout (count is then what was seen).
 *
 *   probe restart MARKER K BUDGET_MS SETTLE_MS
 *       Exactly one process runs MARKER. K times: wait until it has been running SETTLE_MS,
 *       kill -9 it, and time until a new pid runs MARKER. Stops early after BUDGET_MS.
 *       New pids are found from /proc/sys/kernel/ns_last_pid (the last pid the kernel handed
 *       out): only pids allocated since the kill, whose parent is the supervisor of the killed
 *       child, are examined, so one poll costs a few syscalls rather than a /proc scan.
 */
#include "procscan.h"
#include <errno.h>
#include <signal.h>
#include <sched.h>

static int read_last_pid(void) {
    char buf[32];
    int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    return atoi(buf);
}

static int read_pid_max(void) {
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    int v = 32768;
    if (f) { if (fscanf(f, "%d", &v) != 1) v = 32768; fclose(f); }
    return v;
}

static int wait_running(const char *marker, int n, int timeout_ms) {
    int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000LL;
    int scans = 0, count = 0;
    for (;;) {
        count = count_running_marker(marker, NULL, 0);
        scans++;
        int64_t t = now_ns();
        if (count >= n) {
            printf("{\"reached_ns\":%lld,\"count\":%d,\"scans\":%d}\n", (long long)t, count, scans);
            return 0;
        }
        if (t > deadline) {
            printf("{\"reached_ns\":null,\"count\":%d,\"scans\":%d}\n", count, scans);
            return 1;
        }
        usleep(500); /* leave the CPU to the supervisor between scans */
    }
}

#define MAX_PENDING 256

static int restart(const char *marker, int k, int budget_ms, int settle_ms) {
    size_t len = strlen(marker);
    int pid_max = read_pid_max();
    int64_t *samples = calloc((size_t)k, sizeof *samples);
    int64_t stop_at = now_ns() + (int64_t)budget_ms * 1000000LL;
    pid_t child;
    int got = 0, timeouts = 0;
    if (count_running_marker(marker, &child, 1) != 1) {
        printf("{\"error\":\"expected exactly one running child\"}\n");
        return 1;
    }
    int64_t child_seen = now_ns();
    while (got < k && now_ns() < stop_at) {
        /* Let the child age SETTLE_MS: s6 and runit delay a restart when the service ran < 1 s. */
        int64_t age_ns = now_ns() - child_seen;
        if (age_ns < (int64_t)settle_ms * 1000000LL)
            usleep((useconds_t)(((int64_t)settle_ms * 1000000LL - age_ns) / 1000));
        pid_t parent = parent_of(child);
        if (parent <= 0) { printf("{\"error\":\"child vanished before the kill\"}\n"); return 1; }
        int last = read_last_pid();
        int64_t t0 = now_ns();
        if (kill(child, SIGKILL) != 0) { printf("{\"error\":\"kill: %s\"}\n", strerror(errno)); return 1; }
        /* Candidates: pids handed out since the kill. A fresh pid may not be visible in /proc
         * yet, so one with no stat is kept a little while rather than dropped. */
        pid_t pending[MAX_PENDING];
        int64_t pending_since[MAX_PENDING];
        int npending = 0;
        pid_t found = 0;
        int64_t give_up = t0 + 10LL * 1000000000LL;
        while (!found && now_ns() < give_up) {
            int cur = read_last_pid();
            while (last != cur) { /* across a wrap of pid_max too */
                last = last + 1 >= pid_max ? 300 : last + 1;
                if (last == child) continue;
                if (npending == MAX_PENDING) { memmove(pending, pending + 1, sizeof pending[0] * (MAX_PENDING - 1)); memmove(pending_since, pending_since + 1, sizeof pending_since[0] * (MAX_PENDING - 1)); npending--; }
                pending[npending] = last;
                pending_since[npending++] = now_ns();
            }
            for (int i = 0; i < npending && !found; i++) {
                pid_t ppid = parent_of(pending[i]);
                int drop = ppid > 0 ? ppid != parent : now_ns() - pending_since[i] > 20000000LL;
                if (drop) { pending[i] = pending[--npending]; pending_since[i] = pending_since[npending]; i--; continue; }
                if (ppid == parent && is_running_marker(pending[i], marker, len)) found = pending[i];
            }
            if (!found) sched_yield();
        }
        int64_t t1 = now_ns();
        if (!found) {
            timeouts++;
            /* Fall back to a scan: the supervisor may have respawned through another parent. */
            if (count_running_marker(marker, &found, 1) < 1) break;
        } else {
            samples[got++] = t1 - t0;
        }
        child = found;
        child_seen = t1;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "\"timeouts\":%d", timeouts);
    print_samples_json(samples, got, extra);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "wait-running") == 0)
        return wait_running(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc == 6 && strcmp(argv[1], "restart") == 0)
        return restart(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: probe wait-running MARKER N TIMEOUT_MS | probe restart MARKER K BUDGET_MS SETTLE_MS\n");
    return 2;
}
