/* A child for the notify round trip (bench/benchlib/director.py, notify_round_trip): at its
 * first instruction it reads CLOCK_MONOTONIC, sends READY=1 to $NOTIFY_SOCKET (an `@` name is
 * abstract), reads the clock again, appends "NAME START_NS SENT_NS" to LOG and sleeps. The next
 * job of the chain is held back by Director until this READY=1 is seen, so its START minus
 * this SENT is the round trip READY=1 → daemon → next child running.
 *
 *     notify_ready LOG NAME
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    long long start = now_ns();
    if (argc < 3) return 2;
    const char *address = getenv("NOTIFY_SOCKET");
    if (address == NULL || address[0] == 0) return 3;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(address);
    if (n >= sizeof sa.sun_path) return 4;
    memcpy(sa.sun_path, address, n);
    if (address[0] == '@') sa.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 5;
    long long sent = now_ns();
    if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) != 7) return 6;
    char line[256];
    int len = snprintf(line, sizeof line, "%s %lld %lld\n", argv[2], start, sent);
    int log = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log < 0 || write(log, line, (size_t)len) != len) return 7;
    close(log);
    for (;;) pause();
}
