/* The spawn floor: the least a supervisor must do to start N children.
 *
 *   floor_spawn N MARKER
 * posix_spawns N copies of `MARKER 3600`, each in its own process group, then polls
 * /proc/PID/exe of each until all run MARKER (the definition of running, procscan.h). Prints
 * {"elapsed_us":..} measured from before the first spawn, then holds the children until its
 * stdin closes or it gets SIGTERM, and kills every process group it made. Holding lets the
 * harness observe the floor from outside with the same probe as every peer.
 */
#include "procscan.h"
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: floor_spawn N MARKER\n"); return 2; }
    int n = atoi(argv[1]);
    const char *marker = argv[2];
    size_t len = strlen(marker);
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    char *child_argv[] = {(char *)marker, "3600", NULL};
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);

    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL); /* taken synchronously below, never mid-spawn */

    int64_t t0 = now_ns();
    for (int i = 0; i < n; i++) {
        if (posix_spawn(&pids[i], marker, NULL, &attr, child_argv, environ) != 0) { n = i; break; }
    }
    int running = 0;
    while (running < n) {
        running = 0;
        for (int i = 0; i < n; i++) running += is_running_marker(pids[i], marker, len);
    }
    int64_t t1 = now_ns();
    printf("{\"elapsed_us\":%.1f,\"children\":%d}\n", (t1 - t0) / 1000.0, n);
    fflush(stdout);

    /* Hold until stdin closes (the harness exits or closes the pipe) or SIGTERM arrives. */
    struct timespec tick = {0, 50000000};
    char c;
    int stdin_open = 1;
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    while (stdin_open) {
        if (sigtimedwait(&term, NULL, &tick) == SIGTERM) break;
        ssize_t r = read(0, &c, 1);
        if (r == 0) stdin_open = 0;
    }
    for (int i = 0; i < n; i++) kill(-pids[i], SIGKILL);
    for (int i = 0; i < n; i++) waitpid(pids[i], NULL, 0);
    return 0;
}
