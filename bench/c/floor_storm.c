/* The crash-storm floor: the least a supervisor must do to keep N always-exiting children.
 *
 *   floor_storm N SECONDS PROGRAM
 * posix_spawns N copies of PROGRAM (e.g. /bin/true), each in its own process group, and for
 * SECONDS respawns each one the moment waitpid reports its exit (blocking waitpid(-1), no
 * pipes, no bookkeeping). Then it stops respawning, reaps what is left and prints
 * {"restarts":R,"seconds":S,"restarts_per_s":X,"cpu_share":C} where C is its own
 * utime + stime over the storm divided by the wall time (1.0 = one core). Bounded: the loop
 * ends after SECONDS, and the final reap waits only for the N children it started.
 */
#include "procscan.h"
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char **environ;

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: floor_storm N SECONDS PROGRAM\n"); return 2; }
    int n = atoi(argv[1]);
    double seconds = atof(argv[2]);
    const char *program = argv[3];
    char *child_argv[] = {(char *)program, NULL};
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);

    int live = 0;
    long restarts = 0;
    int64_t t0 = now_ns(), stop_at = t0 + (int64_t)(seconds * 1e9);
    double c0 = cpu_seconds();
    for (int i = 0; i < n; i++) {
        pid_t pid;
        if (posix_spawn(&pid, program, NULL, &attr, child_argv, environ) == 0) live++;
    }
    while (live > 0) {
        pid_t dead = waitpid(-1, NULL, 0);
        if (dead < 0) { if (errno == EINTR) continue; break; }
        live--;
        if (now_ns() >= stop_at) continue; /* draining: no more respawns */
        pid_t pid;
        if (posix_spawn(&pid, program, NULL, &attr, child_argv, environ) == 0) { live++; restarts++; }
    }
    int64_t t1 = now_ns();
    double wall = (t1 - t0) / 1e9, cpu = cpu_seconds() - c0;
    printf("{\"restarts\":%ld,\"seconds\":%.3f,\"restarts_per_s\":%.1f,\"cpu_share\":%.3f}\n",
           restarts, wall, restarts / wall, cpu / wall);
    return 0;
}
