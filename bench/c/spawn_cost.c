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
 *
 *   spawn_cost K EXTRA_FDS MARKER CGROUP_DIR
 *       The cost of the cgroup per child instead: director_spawn alternating without a
 *       cgroup, into CGROUP_DIR born there (clone3 with CLONE_INTO_CGROUP), and into it by
 *       the child's write to cgroup.procs (the fallback). Prints
 *       {"plain_p50_us":..,"clone3_p50_us":..,"procs_write_p50_us":..,"clone3_used":0|1,..}.
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

/* One director_spawn into CGROUP_DIR (or none: -1), timed; clone3 on or off. */
static int64_t timed_spawn(char **child_argv, int cgroup_dir, int clone3, int out, int err, const sigset_t *reset, int *used) {
    struct director_spawned spawned;
    int step;
    director_spawn_allow_clone3(clone3);
    int64_t t0 = now_ns();
    director_spawn_set_next_cgroup(cgroup_dir);
    if (director_spawn(child_argv[0], child_argv, environ, "/", out, err, reset, &spawned, &step) != 0) {
        fprintf(stderr, "director_spawn failed\n");
        exit(1);
    }
    int64_t t = now_ns() - t0;
    *used |= director_spawn_last_used_clone3();
    if (spawned.pidfd >= 0) close(spawned.pidfd);
    stop(spawned.pid);
    return t;
}

static int cgroup_cost(int k, int extra, char **child_argv, const char *cgroup, int out, int err, const sigset_t *reset) {
    int dir = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) { perror(cgroup); return 1; }
    int64_t *plain = calloc((size_t)k, sizeof *plain), *born = calloc((size_t)k, sizeof *born),
            *moved = calloc((size_t)k, sizeof *moved);
    int used = 0, unused = 0;
    for (int i = 0; i < k; i++) {
        plain[i] = timed_spawn(child_argv, -1, 1, out, err, reset, &unused);
        born[i] = timed_spawn(child_argv, dir, 1, out, err, reset, &used);
        moved[i] = timed_spawn(child_argv, dir, 0, out, err, reset, &unused);
    }
    qsort(plain, (size_t)k, sizeof *plain, cmp_i64);
    qsort(born, (size_t)k, sizeof *born, cmp_i64);
    qsort(moved, (size_t)k, sizeof *moved, cmp_i64);
    printf("{\"plain_p50_us\":%.1f,\"clone3_p50_us\":%.1f,\"procs_write_p50_us\":%.1f,\"clone3_used\":%d,\"count\":%d,\"extra_fds\":%d}\n",
           plain[(k - 1) / 2] / 1000.0, born[(k - 1) / 2] / 1000.0, moved[(k - 1) / 2] / 1000.0, used, k, extra);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: spawn_cost K EXTRA_FDS MARKER [CGROUP_DIR]\n"); return 2; }
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
    if (argc == 5) return cgroup_cost(k, extra, child_argv, argv[4], out[1], err[1], &reset);
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
