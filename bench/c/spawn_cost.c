/* One spawn, timed: glibc's posix_spawn with the options Director used to pass it, against
 * Director's own spawn shim (director_spawn, compiled in from Sources/CDirectorSys).
 *
 *   spawn_cost K EXTRA_FDS MARKER
 *       Spawns once each (so director_spawn reserves its three low slot fds, as the daemon
 *       does at its first spawn), opens EXTRA_FDS close-on-exec fds (pipes), then K times,
 *       alternating the two: start
 *       `MARKER 3600` with stdout/stderr on a pipe, stop the clock when the call returns (the
 *       child has exec'd: both are vfork-style), kill -9 and reap it. Prints
 *       {"posix_spawn_p50_us":..,"director_spawn_p50_us":..,"count":K,"extra_fds":N}.
 *
 * EXTRA_FDS stands for the daemon's own fds: two pipes and a pidfd per running child.
 */
#define _GNU_SOURCE
#include "procscan.h"
#include "CDirectorSys.h"
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char **environ;

/* What director_spawn replaced: posix_spawn with its process group, an empty mask, the
 * ignored signals back at default, stdin /dev/null, the pipes, nothing else above 2, a cwd. */
static int glibc_spawn(const char *path, char **argv, int out, int err, const sigset_t *reset, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    sigset_t empty;
    sigemptyset(&empty);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, reset);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out, 1);
    posix_spawn_file_actions_adddup2(&actions, err, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawn_file_actions_addchdir_np(&actions, "/");
    int rc = posix_spawn(pid, path, &actions, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

static void stop(pid_t pid) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: spawn_cost K EXTRA_FDS MARKER\n"); return 2; }
    int k = atoi(argv[1]), extra = atoi(argv[2]);
    char *marker = argv[3];
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    /* Like the daemon: SIGPIPE ignored, its signalfd signals blocked. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGCHLD); sigaddset(&blocked, SIGTERM); sigaddset(&blocked, SIGINT); sigaddset(&blocked, SIGHUP);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    sigset_t reset;
    director_signals_to_reset(&reset);
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return 1;

    char *child_argv[] = {marker, "3600", NULL};
    struct director_spawned spawned;
    int step;
    if (director_spawn(marker, child_argv, environ, "/", out[1], err[1], &reset, &spawned, &step) != 0) return 1;
    if (spawned.pidfd >= 0) close(spawned.pidfd);
    stop(spawned.pid);
    for (int i = 0; i + 1 < extra; i += 2) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) { fprintf(stderr, "spawn_cost: only %d extra fds\n", i); return 1; }
    }
    int64_t *glibc = calloc((size_t)k, sizeof *glibc), *ours = calloc((size_t)k, sizeof *ours);
    for (int i = 0; i < k; i++) {
        pid_t pid;
        int64_t t0 = now_ns();
        if (glibc_spawn(marker, child_argv, out[1], err[1], &reset, &pid) != 0) { fprintf(stderr, "posix_spawn failed\n"); return 1; }
        glibc[i] = now_ns() - t0;
        stop(pid);

        t0 = now_ns();
        if (director_spawn(marker, child_argv, environ, "/", out[1], err[1], &reset, &spawned, &step) != 0) {
            fprintf(stderr, "director_spawn failed\n");
            return 1;
        }
        ours[i] = now_ns() - t0;
        if (spawned.pidfd >= 0) close(spawned.pidfd);
        stop(spawned.pid);
    }
    qsort(glibc, (size_t)k, sizeof *glibc, cmp_i64);
    qsort(ours, (size_t)k, sizeof *ours, cmp_i64);
    printf("{\"posix_spawn_p50_us\":%.1f,\"director_spawn_p50_us\":%.1f,\"count\":%d,\"extra_fds\":%d}\n",
           glibc[(k - 1) / 2] / 1000.0, ours[(k - 1) / 2] / 1000.0, k, extra);
    return 0;
}
