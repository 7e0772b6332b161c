#ifndef CDIRECTORSYS_H
#define CDIRECTORSYS_H

// The few Linux calls Swift cannot make directly (variadic, packed structs, unions, or newer
// than some libc headers). Each shim is a thin wrapper: policy lives in Swift.

#include <stdint.h>
#include <sys/types.h>
#include <signal.h>
// Re-exported to Swift: Glibc's module map does not cover them.
#include <sys/epoll.h>
#include <sys/inotify.h>

/// pidfd_open(2) through syscall(2): glibc's wrapper is newer than some targets.
/// Returns a file descriptor, or -1 with errno set.
int director_pidfd_open(pid_t pid, unsigned int flags);

/// pidfd_send_signal(2): signals exactly the process the pidfd refers to (no pid reuse race).
/// Returns 0, or -1 with errno set.
int director_pidfd_send_signal(int pidfd, int sig);

/// Makes the calling process a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so that
/// grandchildren whose parent dies are re-parented to us instead of to init.
int director_set_child_subreaper(void);

/// Which step of `director_spawn` failed.
enum {
    /// Before the program ran: the clone, the process group, the standard fds.
    DIRECTOR_SPAWN_STEP_SETUP = 0,
    /// chdir to the working directory.
    DIRECTOR_SPAWN_STEP_CHDIR = 1,
    /// execve of the program.
    DIRECTOR_SPAWN_STEP_EXEC = 2,
    /// setrlimit of one of the job's `rlimits` (`failed_resource` says which).
    DIRECTOR_SPAWN_STEP_RLIMIT = 3,
    /// setgroups of the supplementary groups.
    DIRECTOR_SPAWN_STEP_SETGROUPS = 4,
    /// setresgid to the job's group.
    DIRECTOR_SPAWN_STEP_SETGID = 5,
    /// setresuid to the job's user.
    DIRECTOR_SPAWN_STEP_SETUID = 6,
};
/// One resource limit for the child (`resource` is an RLIMIT_* number; ~0 is unlimited).
struct director_rlimit {
    int resource;
    unsigned long long soft;
    unsigned long long hard;
};
/// Who the child becomes and which limits it gets, applied after the process group and
/// before the working directory (so `cwd` is entered as the new user) and exec. Limits are
/// set first, while the child still has the daemon's privileges to raise hard limits.
struct director_spawn_identity {
    /// Set the ids below (setgroups, setresgid, setresuid, in that order) when non-zero.
    int set_ids;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int group_count;
    /// The umask, or -1 to keep the daemon's.
    int umask;
    const struct director_rlimit *limits;
    int limit_count;
    /// Out: the RLIMIT_* number whose setrlimit failed (DIRECTOR_SPAWN_STEP_RLIMIT).
    int failed_resource;
};
/// What `director_spawn` reports about a started child.
struct director_spawned {
    /// The child's pid, which is also its process group id.
    pid_t pid;
    /// A pidfd (close-on-exec) made by the clone itself (CLONE_PIDFD), or -1 on kernels
    /// before 5.2 and after `director_spawn_set_next_pidfd(0)`.
    int pidfd;
    /// The start time /proc/PID/stat shows (field 22, clock ticks since boot) when known
    /// exactly from the clock around the clone; 0 when not (read /proc then).
    unsigned long long start_ticks;
};
/// Starts `path` the way posix_spawn does (a clone that shares our memory, the caller
/// suspended until the child has called execve), with posix_spawn's guarantees: the child
/// leads its own process group, has an empty signal mask, stdin from /dev/null, stdout/stderr
/// on the given fds (a negative one: /dev/null), every other fd above 2 closed, and runs in `cwd` (NULL: inherit); the
/// child never copies the caller's whole fd table (see the comment in CDirectorSys.c). The
/// signals in `reset` get their default disposition before the mask is emptied; it must hold
/// every signal the caller ignores or handles (`director_signals_to_reset`). NULL resets all.
/// Returns 0 and fills `out`, or an errno value and, in `step_out`, the step that failed
/// (a failed child has been reaped already).
/// Children started from now on get this RLIMIT_NOFILE (when the soft one is below the
/// daemon's; the hard one only lowers); soft 0 leaves the inherited one.
void director_spawn_set_child_nofile(unsigned long soft, unsigned long hard);

/// The calling thread's next `director_spawn` puts its child into the cgroup whose directory
/// is `cgroup_dir_fd`: born there with clone3's CLONE_INTO_CGROUP where the kernel allows it,
/// otherwise the child writes "0" to its `cgroup.procs` before anything else. -1: none.
/// Consumed by that spawn; the caller keeps and closes the fd.
void director_spawn_set_next_cgroup(int cgroup_dir_fd);

/// 0: the calling thread's next `director_spawn` makes no pidfd (`out->pidfd` stays -1), for a
/// supervisor that collects its children's exits on SIGCHLD (a subreaping daemon): one
/// descriptor less per child. Consumed by that spawn; every other spawn returns a pidfd.
void director_spawn_set_next_pidfd(int on);

/// Tests: 0 makes every spawn take the clone path (the child joins its cgroup by writing to
/// `cgroup.procs`), as on a kernel or under a seccomp filter that refuses clone3; 1 allows
/// clone3 again.
void director_spawn_allow_clone3(int on);

/// 1 when the calling thread's last `director_spawn` was a clone3 into a cgroup.
int director_spawn_last_used_clone3(void);

/// The calling thread's next `director_spawn` also gives its child `ready_fd` (the write end
/// of a readiness pipe, `ready: {fd: N}`) as fd `ready_target` (> 2), and, when `pid_text` is
/// not NULL, writes the child's pid in decimal there (at most 10 digits and a NUL: the value
/// of a `WATCHDOG_PID=` entry of its environment, known only once the child exists). -1 /
/// NULL: none. Consumed by that spawn.
void director_spawn_set_next_extras(int ready_fd, int ready_target, char *pid_text);

/// 1: the calling thread's next `director_spawn` returns as soon as the child exists instead
/// of waiting for its execve (where the platform and the spawn allow it: no identity, no pid
/// text, no readiness pipe, clone3 usable when there is a cgroup, one of the 16 slots free;
/// otherwise it waits as usual). The first such spawn reserves 33 fds (two per slot and a
/// /dev/null) at the lowest free numbers. A failure inside
/// the child (execve, chdir, dup2) is then not returned: the child exits 127 and
/// `director_spawn_late_failure` tells it. Consumed by that spawn.
void director_spawn_set_next_async(int on);

/// Frees the slots of children that no longer hold the caller's memory (exec'd or exited);
/// cheap when none are in flight. Call it once a loop turn: a slot holds its child's pipes.
void director_spawn_settle(void);

/// 1 and the errno and step when the child `pid` of a spawn that did not wait failed before its
/// execve (it exits 127); 0 otherwise. Ask once its exit has been collected, for every exit
/// (not only 127): that forgets the pid, so a later process with the same pid is not taken
/// for it. Each failure is told once.
int director_spawn_late_failure(pid_t pid, int *error_out, int *step_out);

int director_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                   int stdout_fd, int stderr_fd, const sigset_t *reset,
                   struct director_spawned *out, int *step_out);
/// `director_spawn` with an identity and limits for the child (NULL: none, as `director_spawn`).
int director_spawn_as(const char *path, char *const argv[], char *const envp[], const char *cwd,
                      int stdout_fd, int stderr_fd, const sigset_t *reset,
                      struct director_spawn_identity *identity,
                      struct director_spawned *out, int *step_out);
/// Test hook: with `on`, spawned children copy the whole fd table (as on kernels before 5.9,
/// without CLOSE_RANGE_UNSHARE) instead of unsharing only the three fds they need.
void director_spawn_copy_whole_fd_table(int on);
/// Stores in `out` every signal whose disposition is not SIG_DFL in the calling process
/// (ignored or handled), plus SIGPIPE (which the daemon ignores). A child must not inherit an
/// ignored signal, and no handler may run in the child before it execs; resetting only these
/// instead of all 64 saves as many system calls on every spawn.
void director_signals_to_reset(sigset_t *out);
/// waitid(P_PID, pid, WEXITED [| WNOHANG]): returns 1
/// when reaped (kind 1 = exit code, 2 = killed by signal; value = code or signal number), 0
/// when still running, or -errno.
int director_wait_pid(pid_t pid, int nohang, int *kind, int *value);

/// Peeks at any exited child without reaping it (waitid P_ALL,
/// WNOHANG | WNOWAIT): returns 1 and the pid, 0 when no child has exited, or -errno
/// (-ECHILD: no children at all).
int director_peek_exited(pid_t *pid_out);

/// epoll_ctl with the 64-bit user data (epoll_event is packed on x86_64). 0 or -errno.
int director_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);

/// epoll_wait returning parallel arrays of user data and event masks. Count or -errno.
int director_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms);

/// A signalfd (non-blocking, close-on-exec) for the given signals; the caller blocks them.
/// Returns the fd or -errno.
int director_signalfd(const int *signals, int count);

/// A non-blocking, close-on-exec eventfd counting from 0 (the loop's wake-up from other
/// threads); -1 with errno on failure.
int director_eventfd(void);

/// Blocks (how = 0) or unblocks (how = 1) signals for the calling thread. 0 or -errno.
int director_sigmask(int how, const int *signals, int count);

/// Binds and listens on a Unix stream socket at `path` with mode 0600 regardless of umask.
/// Returns the non-blocking, close-on-exec fd, or -errno (-ENAMETOOLONG for a long path).
int director_unix_listen(const char *path, int backlog);

/// Connects a blocking, close-on-exec Unix stream socket to `path`. fd or -errno.
int director_unix_connect(const char *path);

/// pipe2(fds, O_CLOEXEC) (pipe2 needs _GNU_SOURCE, which Swift's Glibc module lacks). 0 or -errno.
int director_pipe_cloexec(int fds[2]);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC, retrying EINTR. fd or -errno (-EAGAIN: none).
int director_accept(int listen_fd);

/// send with MSG_NOSIGNAL (a vanished peer gives -EPIPE, not SIGPIPE). Bytes sent or -errno.
long director_send(int fd, const void *bytes, unsigned long count);

/// Gives the free memory at the top of the heap (and whole free pages inside it) back to the
/// kernel (malloc_trim(0)): after a burst of allocations, such as starting 1 000 children,
/// the heap would otherwise stay at its high-water mark.
void director_trim_heap(void);
/// Sets the nice value of the calling thread only (Linux threads have their own). 0 or -1.
int director_set_thread_nice(int nice);

/// Installs SIGBUS and SIGSEGV handlers (on an alternate stack) that write `line` to fd 2
/// and `_exit(1)`: a reader of a memory-mapped table that is damaged or truncated ends with
/// one clear line instead of dying of the signal. `line` is copied (at most 2 047 bytes);
/// calling again replaces it. 0 or -errno.
int director_install_fault_exit(const char *line);

/// The sd_notify socket: SOCK_DGRAM, non-blocking, close-on-exec, SO_PASSCRED, bound at
/// `path` (a file, replaced if it exists, mode 0666) or, when `path` starts with '@', at that
/// abstract name. fd or -errno.
int director_notify_socket(const char *path);

/// Receives one datagram with the sender's pid (SCM_CREDENTIALS; 0 when absent); fds passed
/// along are closed. Bytes, or -errno (-EAGAIN: none; -EMSGSIZE: cut to `count`).
long director_recv_credentials(int fd, void *bytes, unsigned long count, pid_t *pid_out);

#endif
