/* The floor of the notify round trip (bench/benchlib/director.py, notify_round_trip): the same
 * chain Director runs for `ready: {notify: true}`, with nothing but the system calls. An
 * abstract SOCK_DGRAM socket with SO_PASSCRED is $NOTIFY_SOCKET; K children of notify_ready
 * are started one after another with posix_spawn, each only once the one before it has sent
 * READY=1 (its datagram read with recvmsg and its sender's pid checked, as Director does).
 * notify_ready appends "NAME START_NS SENT_NS" to LOG, so the links are measured exactly as
 * Director's are. Then every child is killed and reaped.
 *
 *     floor_notify K NOTIFY_READY LOG
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: floor_notify K NOTIFY_READY LOG\n");
        return 2;
    }
    int k = atoi(argv[1]);
    if (k <= 0 || k > 100000) return 2;
    char name[64];
    snprintf(name, sizeof name, "@director-floor-notify-%d", (int)getpid());
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(sa.sun_path, name, n);
    sa.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0
        || bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0) {
        perror("socket");
        return 1;
    }
    if (setenv("NOTIFY_SOCKET", name, 1) < 0) return 1;
    pid_t *pids = calloc((size_t)k, sizeof *pids);
    if (pids == NULL) return 1;
    int started = 0, status = 0;
    for (int i = 0; i < k; i++) {
        char index[16];
        snprintf(index, sizeof index, "%d", i);
        char *child_argv[] = {argv[2], argv[3], index, NULL};
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        int rc = posix_spawn(&pids[i], argv[2], NULL, &attr, child_argv, environ);
        posix_spawnattr_destroy(&attr);
        if (rc != 0) {
            fprintf(stderr, "posix_spawn: %s\n", strerror(rc));
            status = 1;
            break;
        }
        started++;
        /* Its READY=1, attributed by the kernel's pid as Director attributes it. */
        for (;;) {
            char buf[4096];
            char control[CMSG_SPACE(sizeof(struct ucred))];
            struct iovec iov = {buf, sizeof buf};
            struct msghdr msg = {0};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            ssize_t got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) { perror("recvmsg"); status = 1; break; }
            struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
            if (c == NULL || c->cmsg_type != SCM_CREDENTIALS) continue;
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            if (cred.pid == pids[i] && got >= 7 && memcmp(buf, "READY=1", 7) == 0) break;
        }
        if (status) break;
    }
    for (int i = 0; i < started; i++) kill(-pids[i], SIGKILL);
    for (int i = 0; i < started; i++) waitpid(pids[i], NULL, 0);
    printf("{\"children\": %d}\n", started);
    return status;
}
