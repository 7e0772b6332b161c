/* The restart floor: the least a supervisor must do to replace a killed child.
 *
 *   floor_restart K MARKER
 *       In-process measurement: one child `MARKER 3600` in its own process group; K times
 *       kill -9 it, reap it with waitpid, posix_spawn the replacement and poll its
 *       /proc/PID/exe until it runs MARKER. Prints the samples and p50/p99 in microseconds.
 *   floor_restart --serve MARKER
 *       A minimal supervisor: keeps one child running, respawning it the moment waitpid
 *       reports its death, until SIGTERM. The harness kills the child from outside with the
 *       same probe it uses on the peers, so this is the floor the ratios use.
 */
#include "procscan.h"
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;
static posix_spawnattr_t attr;

static pid_t spawn_child(const char *marker) {
    char *child_argv[] = {(char *)marker, "3600", NULL};
    pid_t pid;
    if (posix_spawn(&pid, marker, NULL, &attr, child_argv, environ) != 0) return -1;
    return pid;
}

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: floor_restart K|--serve MARKER\n"); return 2; }
    const char *marker = argv[2];
    size_t len = strlen(marker);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);

    if (strcmp(argv[1], "--serve") == 0) {
        struct sigaction sa = {0};
        sa.sa_handler = on_term; /* no SA_RESTART: SIGTERM interrupts waitpid */
        sigaction(SIGTERM, &sa, NULL);
        pid_t child = spawn_child(marker);
        while (!stop && child > 0) {
            pid_t dead = waitpid(child, NULL, 0);
            if (dead == child && !stop) child = spawn_child(marker);
        }
        if (child > 0) { kill(-child, SIGKILL); waitpid(child, NULL, 0); }
        return 0;
    }

    int k = atoi(argv[1]);
    int64_t *samples = calloc((size_t)k, sizeof *samples);
    pid_t child = spawn_child(marker);
    while (!is_running_marker(child, marker, len)) {}
    for (int i = 0; i < k; i++) {
        int64_t t0 = now_ns();
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = spawn_child(marker);
        if (child < 0) { fprintf(stderr, "floor_restart: spawn failed\n"); return 1; }
        while (!is_running_marker(child, marker, len)) {}
        samples[i] = now_ns() - t0;
    }
    kill(-child, SIGKILL);
    waitpid(child, NULL, 0);
    print_samples_json(samples, k, NULL);
    return 0;
}
