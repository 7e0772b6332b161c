#define _GNU_SOURCE
#include "CDirectorSys.h"
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int director_pidfd_open(pid_t pid, unsigned int flags) {
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

int director_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int director_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

void director_signals_to_reset(sigset_t *out) {
    sigemptyset(out);
    sigaddset(out, SIGPIPE);
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        // glibc refuses its internal signals (32, 33) here; the child resets those itself.
        if (sigaction(sig, NULL, &sa) != 0) continue;
        if ((sa.sa_flags & SA_SIGINFO) || sa.sa_handler != SIG_DFL) sigaddset(out, sig);
    }
}

/* The spawn shim: what glibc's posix_spawn does (a clone sharing our memory, suspended parent
 * until exec), without its per-spawn costs: glibc 2.36 makes two rt_sigaction calls for each
 * of the 64 signals in the child, six getrlimit calls while building file actions, and maps a
 * fresh stack for every child. Here the child resets only the signals that need it and the
 * stack is a buffer in the caller's frame, which stays alive because the caller is suspended
 * (CLONE_VFORK) until the child has called execve or _exit.
 *
 * The fd table. A plain clone copies the parent's whole fd table into the child, which then
 * closes all but three: with 1 000 children the daemon holds ~3 000 fds, and copying and
 * closing them made every spawn ~270 µs slower. So the child shares the table (CLONE_FILES)
 * and its first act on it is close_range(keep, ~0, CLOSE_RANGE_UNSHARE), which gives it a
 * private table holding only fds below `keep` (Linux 5.9+; before that, unshare(CLONE_FILES)
 * copies everything, as a plain clone did). For that to work the three fds the child needs
 * sit at low numbers: the spawn slots, three fds reserved once (lowest free numbers above 2)
 * that the parent points at /dev/null and the child's pipes with dup3 just before the clone,
 * and back at /dev/null just after (so the daemon holds no pipe write end). A mutex makes the
 * slots one spawn's at a time.
 *
 * Rules for the child, which shares the parent's memory: raw system calls only (no malloc, no
 * locks, no stdio), nothing written but its own stack and `struct spawn_request.error`, and
 * nothing done to the shared fd table before it is unshared. */

struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

struct spawn_request {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    int slots[4];  /* the child's fds 0, 1 and 2, and its readiness pipe; all above 2 */
    int ready_target; /* the fd number the readiness pipe (slots[3]) becomes; -1: none */
    char *pid_text;   /* NULL, or 11 bytes the child fills with its pid in decimal */
    int keep;      /* one above the highest slot */
    int full_copy; /* skip CLOSE_RANGE_UNSHARE (tests of the older kernels' path) */
    const sigset_t *reset;
    struct director_spawn_identity *identity; /* NULL: the daemon's */
    int cgroup_procs; /* the child's cgroup.procs, written "0" to join it (the clone path;
                       * clone3 puts it there itself); -1: none */
    unsigned long long born_ticks; /* CLOCK_BOOTTIME in ticks at the child's first instruction */
    int error;  /* errno of the failed step, 0 when execve succeeded */
    int step;   /* DIRECTOR_SPAWN_STEP_* of the failure */
};

/* System calls for the child. It shares the parent's memory and, with it, the parent thread's
 * TLS: glibc's syscall() stores a failure's errno there, which is harmless while the parent
 * is suspended (CLONE_VFORK) but would overwrite a running parent thread's errno (a spawn
 * that does not wait for the exec, below). So the child makes its calls directly and gets
 * -errno back, as the kernel returns it. */
#if defined(__x86_64__)
#define DIRECTOR_HAVE_RAW_SYSCALL 1
static inline long child_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
#define DIRECTOR_HAVE_RAW_SYSCALL 1
static inline long child_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a1;
    register long x1 __asm__("x1") = a2;
    register long x2 __asm__("x2") = a3;
    register long x3 __asm__("x3") = a4;
    register long x4 __asm__("x4") = a5;
    register long x5 __asm__("x5") = a6;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}
#else
/* Elsewhere glibc's wrapper (errno is touched): only the waiting spawn is used there. */
static inline long child_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
    long v = syscall(n, a1, a2, a3, a4, a5, a6);
    return v < 0 ? -errno : v;
}
#endif

static int default_disposition(int sig) {
    /* Field by field, not memset: no call into libc from the child (at -O0 a first call
     * through the PLT would resolve the symbol, writing the running parent thread's TCB). */
    struct kernel_sigaction sa;
    sa.handler = SIG_DFL;
    sa.flags = 0;
    sa.restorer = NULL;
    sa.mask = 0;
    return (int)child_syscall(SYS_rt_sigaction, (long)sig, (long)&sa, 0, sizeof sa.mask, 0, 0);
}

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

/* close_range(3, ~0) where the kernel has it (5.9+); otherwise every fd listed in
 * /proc/self/fd, read with getdents64 into a stack buffer. `except` (> 2, or -1) stays open. */
static void close_from_3(int except) {
    if (except < 3) {
        if (child_syscall(SYS_close_range, 3, ~0U, 0, 0, 0, 0) == 0) return;
    } else if ((except == 3 || child_syscall(SYS_close_range, 3, (unsigned)except - 1, 0, 0, 0, 0) == 0)
               && child_syscall(SYS_close_range, (unsigned)except + 1, ~0U, 0, 0, 0, 0) == 0) {
        return;
    }
    int dir = (int)child_syscall(SYS_openat, AT_FDCWD, (long)"/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
    if (dir < 0) {
        for (int fd = 3; fd < 1024; fd++) if (fd != except) child_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
        return;
    }
    char buffer[1024];
    for (;;) {
        long n = child_syscall(SYS_getdents64, dir, (long)buffer, sizeof buffer, 0, 0, 0);
        if (n <= 0) break;
        for (long at = 0; at < n;) {
            const char *name = buffer + at + 19; /* d_ino 8, d_off 8, d_reclen 2, d_type 1 */
            /* Two bytes in host order, read one by one: no memcpy (a libc call) in the child. */
            const unsigned char *field = (const unsigned char *)buffer + at + 16;
            unsigned short reclen;
            unsigned char *bytes = (unsigned char *)&reclen;
            bytes[0] = field[0];
            bytes[1] = field[1];
            int fd = 0, digits = 0;
            for (; name[digits] >= '0' && name[digits] <= '9'; digits++) fd = fd * 10 + (name[digits] - '0');
            if (digits > 0 && name[digits] == 0 && fd > 2 && fd != dir && fd != except) child_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
            at += reclen;
        }
    }
    child_syscall(SYS_close, dir, 0, 0, 0, 0, 0);
}

/* The soft RLIMIT_NOFILE children get (the daemon raises its own to the hard limit; programs
 * that use select() expect the usual soft limit, as under systemd). 0: leave it as inherited. */
static volatile unsigned long child_nofile_soft = 0;
static volatile unsigned long child_nofile_hard = 0;

void director_spawn_set_child_nofile(unsigned long soft, unsigned long hard) {
    child_nofile_soft = soft;
    child_nofile_hard = hard;
}

static unsigned long long ticks_of(const struct timespec *ts);

static int spawn_child(void *argument) {
    struct spawn_request *r = argument;
    long rc = 0; /* the last step's raw result: -errno when it failed */
    /* The kernel took this process's start time in clone, before it first ran: the tick read
     * here is at or after it, the parent's read before the clone at or before it. */
    struct timespec born;
    if (child_syscall(SYS_clock_gettime, CLOCK_BOOTTIME, (long)&born, 0, 0, 0, 0) == 0) r->born_ticks = ticks_of(&born);
    /* Every signal is blocked (the parent did it before clone). A handler must not run in this
     * shared address space: handled signals go back to the default before anything is
     * unblocked, as do ignored ones, which execve would otherwise keep ignored. (A bit test,
     * not sigismember: nothing here may set errno, which is the parent thread's.) */
    const unsigned long *reset_bits = (const unsigned long *)r->reset;
    const int bits = (int)(8 * sizeof(unsigned long));
    for (int sig = 1; sig < NSIG; sig++)
        if (((reset_bits[(sig - 1) / bits] >> ((sig - 1) % bits)) & 1UL) && sig != SIGKILL && sig != SIGSTOP)
            default_disposition(sig);
    default_disposition(32); /* glibc's SIGCANCEL and SIGSETXID: invisible to sigaction(), */
    default_disposition(33); /* so reset unconditionally */

    r->step = DIRECTOR_SPAWN_STEP_SETUP;
    if ((rc = child_syscall(SYS_setpgid, 0, 0, 0, 0, 0, 0)) != 0) goto fail;
    /* Into its own cgroup before anything can fork, so every descendant is found there. Not
     * fatal: the marker and the subreaper still find descendants (docs/runtime.md). Done
     * before the fd table is unshared, while the fd (above `keep`) is still there; a write
     * does not touch the shared table. */
    if (r->cgroup_procs >= 0) child_syscall(SYS_write, r->cgroup_procs, (long)"0", 1, 0, 0, 0);
    if (child_nofile_soft != 0) {
        struct rlimit lim;
        if (child_syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&lim, 0, 0) == 0 && child_nofile_soft < lim.rlim_cur) {
            lim.rlim_cur = child_nofile_soft;
            if (child_nofile_hard >= child_nofile_soft && child_nofile_hard < lim.rlim_max) lim.rlim_max = child_nofile_hard;
            child_syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, (long)&lim, 0, 0, 0);
        }
    }
    /* The job's identity and limits: raw system calls, which change this process only
     * (glibc's setuid would signal every thread of the daemon, whose memory we share). */
    struct director_spawn_identity *id = r->identity;
    if (id != NULL) {
        r->step = DIRECTOR_SPAWN_STEP_RLIMIT;
        for (int i = 0; i < id->limit_count; i++) {
            struct rlimit lim = {.rlim_cur = id->limits[i].soft, .rlim_max = id->limits[i].hard};
            if ((rc = child_syscall(SYS_prlimit64, 0, id->limits[i].resource, (long)&lim, 0, 0, 0)) != 0) {
                id->failed_resource = id->limits[i].resource;
                goto fail;
            }
        }
        if (id->set_ids) {
            r->step = DIRECTOR_SPAWN_STEP_SETGROUPS;
            if ((rc = child_syscall(SYS_setgroups, (long)id->group_count, (long)id->groups, 0, 0, 0, 0)) != 0) goto fail;
            r->step = DIRECTOR_SPAWN_STEP_SETGID;
            if ((rc = child_syscall(SYS_setresgid, id->gid, id->gid, id->gid, 0, 0, 0)) != 0) goto fail;
            r->step = DIRECTOR_SPAWN_STEP_SETUID;
            if ((rc = child_syscall(SYS_setresuid, id->uid, id->uid, id->uid, 0, 0, 0)) != 0) goto fail;
        }
        if (id->umask >= 0) child_syscall(SYS_umask, id->umask, 0, 0, 0, 0, 0);
        r->step = DIRECTOR_SPAWN_STEP_SETUP;
    }
    /* A private fd table with only the fds below `keep` (the slots among them). */
    if (r->full_copy || child_syscall(SYS_close_range, r->keep, ~0U, CLOSE_RANGE_UNSHARE, 0, 0, 0) != 0) {
        if ((rc = child_syscall(SYS_unshare, CLONE_FILES, 0, 0, 0, 0, 0)) != 0) goto fail;
    }
    /* The readiness pipe (`ready: {fd: N}`) first moves above every slot and N, so that
     * neither the standard fds nor N can land on it before it is placed. */
    long ready_temp = -1;
    if (r->ready_target >= 0) {
        int floor = r->keep > r->ready_target ? r->keep : r->ready_target + 1;
        ready_temp = child_syscall(SYS_fcntl, r->slots[3], F_DUPFD, floor, 0, 0, 0);
        if (ready_temp < 0) { rc = ready_temp; goto fail; }
    }
    for (int i = 0; i < 3; i++)
        if ((rc = child_syscall(SYS_dup2, r->slots[i], i, 0, 0, 0, 0)) < 0) goto fail;
    /* dup2 clears close-on-exec: N survives the exec, nothing else above 2 does. */
    if (ready_temp >= 0 && (rc = child_syscall(SYS_dup2, ready_temp, r->ready_target, 0, 0, 0, 0)) < 0) goto fail;
    close_from_3(r->ready_target);
    if (r->pid_text != NULL) {
        /* WATCHDOG_PID: the pid is known only here; the parent's buffer is written by this
         * child alone, while the parent waits (CLONE_VFORK). */
        char digits[16];
        int n = 0;
        for (long pid = child_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0); pid > 0 && n < 15; pid /= 10) digits[n++] = (char)('0' + pid % 10);
        for (int i = 0; i < n && i < 10; i++) r->pid_text[i] = digits[n - 1 - i];
        r->pid_text[n < 10 ? n : 10] = 0;
    }
    if (r->cwd != NULL) {
        r->step = DIRECTOR_SPAWN_STEP_CHDIR;
        if ((rc = child_syscall(SYS_chdir, (long)r->cwd, 0, 0, 0, 0, 0)) != 0) goto fail;
    }
    uint64_t empty = 0;
    child_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&empty, 0, sizeof empty, 0, 0);
    r->step = DIRECTOR_SPAWN_STEP_EXEC;
    rc = child_syscall(SYS_execve, (long)r->path, (long)r->argv, (long)r->envp, 0, 0, 0);
fail:
    /* The last store to shared memory before the exit, which the parent sees once the
     * kernel has released this process's hold on the memory (CLONE_VFORK's wake-up, or the
     * cleared CLONE_CHILD_CLEARTID word of a slot). */
    r->error = rc < 0 && rc > -4096 ? (int)-rc : EIO;
    child_syscall(SYS_exit, 127, 0, 0, 0, 0, 0);
    return 127;
}

/* The spawn slots (see above): slot 0 always holds /dev/null for reading (the child's stdin);
 * slots 1 and 2 hold /dev/null for writing between spawns and the child's pipes during one. */
static pthread_mutex_t spawn_slots_lock = PTHREAD_MUTEX_INITIALIZER;
static int spawn_slots[4] = {-1, -1, -1, -1};
static int spawn_keep = 0; /* one above the highest slot */
static int spawn_null_out = -1;
static int spawn_full_copy = 0;

void director_spawn_copy_whole_fd_table(int on) {
    pthread_mutex_lock(&spawn_slots_lock);
    spawn_full_copy = on;
    pthread_mutex_unlock(&spawn_slots_lock);
}

/* Called with the lock held. 0, or an errno value. */
static int prepare_spawn_slots(void) {
    if (spawn_slots[0] >= 0) return 0;
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int slots[4] = {
        in < 0 ? -1 : fcntl(in, F_DUPFD_CLOEXEC, 3),
        null_out < 0 ? -1 : fcntl(null_out, F_DUPFD_CLOEXEC, 3),
        null_out < 0 ? -1 : fcntl(null_out, F_DUPFD_CLOEXEC, 3),
        null_out < 0 ? -1 : fcntl(null_out, F_DUPFD_CLOEXEC, 3),
    };
    int e = errno;
    if (in >= 0) close(in);
    if (slots[0] < 0 || slots[1] < 0 || slots[2] < 0 || slots[3] < 0) {
        for (int i = 0; i < 4; i++) if (slots[i] >= 0) close(slots[i]);
        if (null_out >= 0) close(null_out);
        return e ? e : EMFILE;
    }
    spawn_null_out = null_out;
    memcpy(spawn_slots, slots, sizeof slots);
    for (int i = 0; i < 4; i++) if (slots[i] >= spawn_keep) spawn_keep = slots[i] + 1;
    return 0;
}

/* Points the output slots back at /dev/null (lock held): the daemon must not keep a child's
 * pipe open, or the pipe's end-of-file would never come. */
static void release_spawn_slots(void) {
    dup3(spawn_null_out, spawn_slots[1], O_CLOEXEC);
    dup3(spawn_null_out, spawn_slots[2], O_CLOEXEC);
    dup3(spawn_null_out, spawn_slots[3], O_CLOEXEC);
}

/* The tick /proc/PID/stat reports as a process's start time (field 22): the kernel takes
 * CLOCK_BOOTTIME in clone and shows it in whole USER_HZ ticks, rounded down. */
static long ticks_per_second; /* set by the parent's first boottime_ticks(), read by children */

static unsigned long long ticks_of(const struct timespec *ts) {
    unsigned long long ns = (unsigned long long)ts->tv_sec * 1000000000ULL + (unsigned long long)ts->tv_nsec;
    return ticks_per_second > 0 ? ns / (1000000000ULL / (unsigned long long)ticks_per_second) : 0;
}

static unsigned long long boottime_ticks(void) {
    if (ticks_per_second <= 0) ticks_per_second = sysconf(_SC_CLK_TCK);
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return ticks_of(&ts);
}

/* The cgroup directory the calling thread's next director_spawn puts its child in. Per
 * thread: two supervisors in one process spawn from their own loop threads. */
static _Thread_local int next_cgroup_dir = -1;

/* 0: the calling thread's next spawn makes no pidfd (a subreaping daemon collects exits on
 * SIGCHLD and saves a descriptor per child). Per thread and consumed by that spawn, like the
 * cgroup: an embedded supervisor, or any other caller on a thread that once spawned for a
 * daemon, still gets its pidfd. */
static _Thread_local int next_spawn_wants_pidfd = 1;

void director_spawn_set_next_pidfd(int on) { next_spawn_wants_pidfd = on; }

void director_spawn_set_next_cgroup(int cgroup_dir_fd) {
    next_cgroup_dir = cgroup_dir_fd;
}

/* The readiness pipe and pid text of the calling thread's next spawn (see the header). */
static _Thread_local int next_ready_fd = -1;
static _Thread_local int next_ready_target = -1;
static _Thread_local char *next_pid_text = NULL;

void director_spawn_set_next_extras(int ready_fd, int ready_target, char *pid_text) {
    next_ready_fd = ready_fd;
    next_ready_target = ready_target;
    next_pid_text = pid_text;
}

/* Into its cgroup at birth: clone3's CLONE_INTO_CGROUP (Linux 5.7+). The other way, the child
 * writing "0" to cgroup.procs, migrates a running process: the kernel then takes
 * cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period (0.2-0.5 ms on
 * this VM under load, the parent suspended all along). Born inside, the child needs no
 * migration. clone3 has no glibc wrapper with a function to run, so a few lines of assembly
 * do what glibc's clone() does: the syscall, then in the child (rax 0, on the new stack) the
 * function and exit with its result. Elsewhere, or where the kernel or a seccomp filter
 * refuses clone3, the clone path below is used. */
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

struct director_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

#if defined(__x86_64__) || defined(__aarch64__)
#define DIRECTOR_HAVE_CLONE3 1
/* long director_clone3_trampoline(args, size, fn, arg): the raw result (a pid, or -errno). */
long director_clone3_trampoline(struct director_clone_args *args, size_t size, int (*fn)(void *), void *arg)
    __attribute__((visibility("hidden")));
#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl director_clone3_trampoline\n"
    ".hidden director_clone3_trampoline\n"
    ".type director_clone3_trampoline,@function\n"
    "director_clone3_trampoline:\n"
    "    mov %rdx, %r8\n"       /* fn and arg in registers the syscall keeps */
    "    mov %rcx, %r9\n"
    "    mov $435, %eax\n"      /* SYS_clone3(rdi = args, rsi = size) */
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jz 1f\n"
    "    ret\n"                 /* the parent (or an error) */
    "1:  xor %ebp, %ebp\n"      /* the child: a fresh stack, no frame to return to */
    "    mov %r9, %rdi\n"
    "    call *%r8\n"
    "    mov %eax, %edi\n"
    "    mov $60, %eax\n"       /* SYS_exit */
    "    syscall\n"
    "    hlt\n"
    ".size director_clone3_trampoline, .-director_clone3_trampoline\n");
#else
__asm__(
    ".text\n"
    ".globl director_clone3_trampoline\n"
    ".hidden director_clone3_trampoline\n"
    ".type director_clone3_trampoline,%function\n"
    "director_clone3_trampoline:\n"
    "    mov x10, x2\n"
    "    mov x11, x3\n"
    "    mov x8, #435\n"
    "    svc #0\n"
    "    cbz x0, 1f\n"
    "    ret\n"
    "1:  mov x29, xzr\n"
    "    mov x0, x11\n"
    "    blr x10\n"
    "    mov x8, #93\n"
    "    svc #0\n"
    "    brk #0\n"
    ".size director_clone3_trampoline, .-director_clone3_trampoline\n");
#endif
#endif

/* 1 until clone3 into a cgroup is refused for good (ENOSYS, EPERM of a seccomp filter,
 * E2BIG/EINVAL of a kernel without CLONE_INTO_CGROUP); tests set it to 0 for the clone path. */
static volatile int clone3_usable = 1;
static _Thread_local int last_spawn_used_clone3 = 0;

void director_spawn_allow_clone3(int on) { clone3_usable = on; }
int director_spawn_last_used_clone3(void) { return last_spawn_used_clone3; }

int director_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                   int stdout_fd, int stderr_fd, const sigset_t *reset,
                   struct director_spawned *out, int *step_out) {
    return director_spawn_as(path, argv, envp, cwd, stdout_fd, stderr_fd, reset, NULL, out, step_out);
}

/* The spawn that does not wait for the exec (`director_spawn_set_next_async`).
 *
 * With CLONE_VFORK the caller sleeps from the clone until the child's execve. Idle that is
 * ~40 µs; in a crash storm on two cores the new child first waits for a CPU, and the
 * supervisor with it (~650 µs a restart, more than everything else the restart costs). Here
 * the clone returns at once and the caller goes on while the child sets itself up. What the
 * child reads must then outlive the call, so it lives in a slot: the request, a copy of the
 * path, argv, environment, working directory and signal set, the child's stack, and two
 * fds of its own that hold the child's stdout and stderr pipes until it has unshared the fd
 * table (reserved at the first such spawn, with one /dev/null for streams not captured: the
 * spawn slots cannot serve, a waiting spawn may point them at its pipes while this child has
 * yet to read them; 33 in all).
 *
 * A slot is in use from the clone until the kernel lets go of the child's hold on our
 * memory, at its execve or its exit (CLONE_CHILD_CLEARTID clears `busy` then: the same
 * moment CLONE_VFORK would have woken the caller). `settle_async_slots` looks at those words
 * without a system call, points a settled slot's fds back at /dev/null (so no pipe of the
 * child stays open here), and keeps a failed child's errno for `director_spawn_late_failure`.
 *
 * Only plain spawns take this path: an identity (setuid, rlimits), a WATCHDOG_PID text, a
 * readiness pipe, the cgroup.procs fallback and the whole-table test hook wait for the exec
 * as before, as does every spawn while all slots are in flight. */
#if defined(DIRECTOR_HAVE_RAW_SYSCALL) && defined(DIRECTOR_HAVE_CLONE3)
#define DIRECTOR_HAVE_ASYNC_SPAWN 1
#endif

#define ASYNC_SLOTS 16
#define ASYNC_ARENA 32768
#define ASYNC_NOT_TAKEN (-1)

struct async_slot {
    int busy;           /* CLONE_CHILD_CLEARTID word: non-zero until the child's exec or exit */
    int in_use;         /* cloned and not settled yet */
    pid_t pid;
    int piped[2];       /* which of fds[] point at a pipe of the child's */
    int fds[2];         /* the child's stdout and stderr pipes until it unshares */
    struct spawn_request request;
    sigset_t reset;
    _Alignas(16) char stack[16384];
    _Alignas(16) char arena[ASYNC_ARENA];
};

static struct async_slot async_slots[ASYNC_SLOTS];
static int async_state = 0;          /* 0: fds not reserved yet, 1: usable, -1: never */
static int async_null_out = -1;      /* /dev/null for writing, below `keep`, never repointed */
static int async_in_flight = 0;      /* slots in use; read without the lock as a hint */

/* Failures found at settling, until the exit of their pid is collected: a table that grows
 * (a turn may start hundreds of children whose interpreter is no program), and is emptied pid by
 * pid as their exits are asked about (every exit asks). The cap only guards against a caller
 * that never asks. */
struct late_failure { pid_t pid; int error; int step; };
static struct late_failure *late_failures = NULL;
static size_t late_failure_count = 0, late_failure_capacity = 0;
#define LATE_FAILURES_MAX 65536

static void remember_late_failure(pid_t pid, int error, int step) {
    if (late_failure_count == late_failure_capacity) {
        if (late_failure_capacity >= LATE_FAILURES_MAX) {
            /* Nobody asks: the oldest goes. */
            memmove(late_failures, late_failures + 1, (late_failure_count - 1) * sizeof *late_failures);
            late_failure_count--;
        } else {
            size_t capacity = late_failure_capacity == 0 ? 16 : late_failure_capacity * 2;
            struct late_failure *grown = realloc(late_failures, capacity * sizeof *late_failures);
            if (grown == NULL) return; /* then its exit reads as the program's own 127 */
            late_failures = grown;
            late_failure_capacity = capacity;
        }
    }
    late_failures[late_failure_count++] = (struct late_failure){pid, error, step};
}

/* Reserves the slots' fds (lock held): the lowest free numbers, like the spawn slots, so a
 * child's table copy below `keep` stays small. Numbers above 512 would make every child copy
 * that many, so the path is then given up for good (the waiting spawn serves). */
static int prepare_async_slots(void) {
    if (async_state != 0) return async_state;
    /* fds[0] is the /dev/null for streams not captured, then two per slot. */
    enum { count = 1 + ASYNC_SLOTS * 2 };
    int fds[count];
    for (int made = 0; made < count; made++) {
        fds[made] = fcntl(spawn_null_out, F_DUPFD_CLOEXEC, 3);
        if (fds[made] < 0 || fds[made] > 512) {
            for (int i = 0; i <= made; i++) if (fds[i] >= 0) close(fds[i]);
            async_state = -1;
            return async_state;
        }
    }
    async_null_out = fds[0];
    for (int i = 0; i < ASYNC_SLOTS; i++) {
        async_slots[i].fds[0] = fds[1 + i * 2];
        async_slots[i].fds[1] = fds[2 + i * 2];
    }
    for (int i = 0; i < count; i++) if (fds[i] >= spawn_keep) spawn_keep = fds[i] + 1;
    async_state = 1;
    return async_state;
}

static void release_async_fds(struct async_slot *slot) {
    for (int k = 0; k < 2; k++) {
        if (slot->piped[k]) dup3(async_null_out, slot->fds[k], O_CLOEXEC);
        slot->piped[k] = 0;
    }
}

/* Lock held. Frees every slot whose child has left our memory. */
static void settle_async_slots(void) {
    if (async_in_flight == 0) return;
    for (int i = 0; i < ASYNC_SLOTS; i++) {
        struct async_slot *slot = &async_slots[i];
        if (!slot->in_use || __atomic_load_n(&slot->busy, __ATOMIC_ACQUIRE) != 0) continue;
        release_async_fds(slot);
        if (slot->request.error != 0) remember_late_failure(slot->pid, slot->request.error, slot->request.step);
        slot->in_use = 0;
        __atomic_store_n(&async_in_flight, async_in_flight - 1, __ATOMIC_RELAXED);
    }
}

void director_spawn_settle(void) {
    if (__atomic_load_n(&async_in_flight, __ATOMIC_RELAXED) == 0) return;
    pthread_mutex_lock(&spawn_slots_lock);
    settle_async_slots();
    pthread_mutex_unlock(&spawn_slots_lock);
}

int director_spawn_late_failure(pid_t pid, int *error_out, int *step_out) {
    pthread_mutex_lock(&spawn_slots_lock);
    /* The exit being collected came after the kernel let go of the child's hold on our memory,
     * so settling now records its failure, if it had one. */
    settle_async_slots();
    int found = 0;
    for (size_t i = 0; i < late_failure_count; i++) {
        if (late_failures[i].pid != pid) continue;
        *error_out = late_failures[i].error;
        *step_out = late_failures[i].step;
        late_failures[i] = late_failures[--late_failure_count];
        found = 1;
        break;
    }
    pthread_mutex_unlock(&spawn_slots_lock);
    return found;
}

/* Copies a string into the slot's arena at *at; NULL for NULL or when it does not fit. */
static char *arena_string(struct async_slot *slot, size_t *at, const char *source) {
    if (source == NULL) return NULL;
    size_t length = strlen(source) + 1;
    if (*at + length > ASYNC_ARENA) return NULL;
    char *copy = memcpy(slot->arena + *at, source, length);
    *at += length;
    return copy;
}

/* Copies a NULL-terminated string vector into the arena at *at; NULL when it does not fit. */
static char **arena_vector(struct async_slot *slot, size_t *at, char *const source[]) {
    size_t count = 0;
    while (source[count] != NULL) count++;
    size_t start = (*at + 15) & ~(size_t)15;
    size_t need = (count + 1) * sizeof(char *);
    if (start + need > ASYNC_ARENA) return NULL;
    char **vector = (char **)(slot->arena + start);
    *at = start + need;
    for (size_t i = 0; i < count; i++)
        if ((vector[i] = arena_string(slot, at, source[i])) == NULL) return NULL;
    vector[count] = NULL;
    return vector;
}

#ifdef DIRECTOR_HAVE_ASYNC_SPAWN
/* 0 and `out` filled, an errno value, or ASYNC_NOT_TAKEN (then the waiting spawn runs). */
static int spawn_without_waiting(const struct spawn_request *base, int cgroup_dir, int wants_pidfd,
                                 int stdout_fd, int stderr_fd, int ready_fd, struct director_spawned *out) {
    if (ready_fd >= 0) return ASYNC_NOT_TAKEN;
    pthread_mutex_lock(&spawn_slots_lock);
    if (spawn_full_copy || (cgroup_dir >= 0 && !clone3_usable) || prepare_spawn_slots() != 0
        || prepare_async_slots() != 1) {
        pthread_mutex_unlock(&spawn_slots_lock);
        return ASYNC_NOT_TAKEN;
    }
    settle_async_slots();
    struct async_slot *slot = NULL;
    for (int i = 0; i < ASYNC_SLOTS && slot == NULL; i++) if (!async_slots[i].in_use) slot = &async_slots[i];
    size_t at = 0;
    struct spawn_request *r = slot == NULL ? NULL : &slot->request;
    if (r != NULL) {
        *r = *base;
        r->argv = arena_vector(slot, &at, base->argv);
        r->envp = r->argv == NULL ? NULL : arena_vector(slot, &at, base->envp);
        r->path = r->envp == NULL ? NULL : arena_string(slot, &at, base->path);
        r->cwd = base->cwd == NULL ? NULL : arena_string(slot, &at, base->cwd);
        slot->reset = *base->reset;
        r->reset = &slot->reset;
    }
    if (r == NULL || r->argv == NULL || r->envp == NULL || r->path == NULL || (base->cwd != NULL && r->cwd == NULL)) {
        pthread_mutex_unlock(&spawn_slots_lock);
        return ASYNC_NOT_TAKEN;
    }
    const int sources[2] = {stdout_fd, stderr_fd};
    for (int k = 0; k < 2; k++) {
        if (sources[k] < 0) continue;
        if (dup3(sources[k], slot->fds[k], O_CLOEXEC) < 0) {
            int e = errno;
            release_async_fds(slot);
            pthread_mutex_unlock(&spawn_slots_lock);
            return e;
        }
        slot->piped[k] = 1;
    }
    r->slots[0] = spawn_slots[0]; /* /dev/null for reading, always */
    for (int k = 0; k < 2; k++) r->slots[k + 1] = slot->piped[k] ? slot->fds[k] : async_null_out;
    r->slots[3] = async_null_out; /* unused: no readiness pipe here */
    r->keep = spawn_keep;
    r->full_copy = 0;
    r->cgroup_procs = -1;
    r->error = 0;

    int pidfd = -1;
    struct director_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VM | CLONE_FILES | CLONE_CHILD_CLEARTID | (wants_pidfd ? CLONE_PIDFD : 0)
               | (cgroup_dir >= 0 ? CLONE_INTO_CGROUP : 0);
    args.pidfd = wants_pidfd ? (uint64_t)(uintptr_t)&pidfd : 0;
    args.child_tid = (uint64_t)(uintptr_t)&slot->busy;
    args.exit_signal = SIGCHLD;
    args.stack = (uint64_t)(uintptr_t)slot->stack;
    args.stack_size = sizeof slot->stack;
    args.cgroup = cgroup_dir >= 0 ? (uint64_t)cgroup_dir : 0;
    __atomic_store_n(&slot->busy, 1, __ATOMIC_RELEASE);

    uint64_t all = ~(uint64_t)0, old = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, sizeof all);
    unsigned long long before = boottime_ticks();
    long result = director_clone3_trampoline(&args, sizeof args, spawn_child, r);
    unsigned long long after = boottime_ticks();
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
    if (result < 0) {
        int e = (int)-result;
        __atomic_store_n(&slot->busy, 0, __ATOMIC_RELEASE);
        release_async_fds(slot);
        const int refused = e == ENOSYS || e == EPERM || e == E2BIG || e == EINVAL;
        /* clone3 refused as such (an old kernel, a seccomp filter): the waiting spawn tries
         * the other ways, now and from now on. Into a cgroup, any other error (EBUSY of a
         * cgroup with controllers, ENODEV of a dying one, EAGAIN of pids.max) is the waiting
         * spawn's to handle too: it falls back to the clone path, where joining the cgroup is
         * not fatal. */
        if (refused) {
            if (cgroup_dir >= 0) clone3_usable = 0;
            async_state = -1;
        }
        pthread_mutex_unlock(&spawn_slots_lock);
        return refused || cgroup_dir >= 0 ? ASYNC_NOT_TAKEN : e;
    }
    const pid_t pid = (pid_t)result;
    slot->pid = pid;
    slot->in_use = 1;
    __atomic_store_n(&async_in_flight, async_in_flight + 1, __ATOMIC_RELAXED);
    last_spawn_used_clone3 = cgroup_dir >= 0;
    /* Its own process group from now on, also if it has not run yet: a stop signal sent to
     * the group must find it (a shell does the same for its jobs). EACCES after its execve,
     * when it has done this itself. */
    setpgid(pid, pid);
    pthread_mutex_unlock(&spawn_slots_lock);
    out->pid = pid;
    out->pidfd = pidfd;
    /* The kernel took the start time inside the clone, between the two readings. */
    out->start_ticks = before == after ? before : 0;
    return 0;
}
#endif

static _Thread_local int next_spawn_async = 0;

void director_spawn_set_next_async(int on) { next_spawn_async = on; }

int director_spawn_as(const char *path, char *const argv[], char *const envp[], const char *cwd,
                      int stdout_fd, int stderr_fd, const sigset_t *reset,
                      struct director_spawn_identity *identity,
                      struct director_spawned *out, int *step_out) {
    *step_out = DIRECTOR_SPAWN_STEP_SETUP;
    out->pid = -1;
    out->pidfd = -1;
    out->start_ticks = 0;
    sigset_t reset_all;
    if (reset == NULL) { sigfillset(&reset_all); reset = &reset_all; }
    struct spawn_request request = {
        .path = path, .argv = argv, .envp = envp, .cwd = cwd,
        .reset = reset, .identity = identity, .cgroup_procs = -1, .error = 0, .step = DIRECTOR_SPAWN_STEP_SETUP,
        .ready_target = next_ready_fd >= 0 ? next_ready_target : -1, .pid_text = next_pid_text,
    };
    const int cgroup_dir = next_cgroup_dir;
    next_cgroup_dir = -1;
    const int spawn_wants_pidfd = next_spawn_wants_pidfd;
    next_spawn_wants_pidfd = 1;
    last_spawn_used_clone3 = 0;
    int ready_fd = next_ready_fd;
    next_ready_fd = -1;
    next_ready_target = -1;
    next_pid_text = NULL;
    const int without_waiting = next_spawn_async;
    next_spawn_async = 0;
#ifdef DIRECTOR_HAVE_ASYNC_SPAWN
    if (without_waiting && identity == NULL && request.pid_text == NULL) {
        int rc = spawn_without_waiting(&request, cgroup_dir, spawn_wants_pidfd, stdout_fd, stderr_fd, ready_fd, out);
        if (rc != ASYNC_NOT_TAKEN) return rc;
    }
#else
    (void)without_waiting;
#endif
    /* The child's stack. 16-byte aligned top; a few hundred bytes are used. */
    _Alignas(16) char stack[16384];
    int pidfd = -1;

    pthread_mutex_lock(&spawn_slots_lock);
    int rc = prepare_spawn_slots();
    /* A negative stdout_fd or stderr_fd leaves /dev/null in that slot (`log: {stdout: false}`). */
    if (rc == 0 && ((stdout_fd >= 0 && dup3(stdout_fd, spawn_slots[1], O_CLOEXEC) < 0)
                    || (stderr_fd >= 0 && dup3(stderr_fd, spawn_slots[2], O_CLOEXEC) < 0)
                    || (ready_fd >= 0 && dup3(ready_fd, spawn_slots[3], O_CLOEXEC) < 0)))
        rc = errno;
    if (rc != 0) {
        if (spawn_slots[0] >= 0) release_spawn_slots();
        pthread_mutex_unlock(&spawn_slots_lock);
        return rc;
    }
    memcpy(request.slots, spawn_slots, sizeof spawn_slots);
    request.keep = spawn_keep;
    request.full_copy = spawn_full_copy;

    /* Raw rt_sigprocmask: pthread_sigmask would leave glibc's internal signals unblocked. */
    uint64_t all = ~(uint64_t)0, old = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, sizeof all);
    unsigned long long before = boottime_ticks();
    /* The pidfd comes with the clone: no pidfd_open call, and no moment when the child exists
     * but cannot be watched. (The exit signal stays SIGCHLD whatever is asked here: execve
     * resets it.) */
    const int flags = CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD;
    pid_t pid = -1;
    int clone_errno = 0;
    int via_clone3 = 0;
#ifdef DIRECTOR_HAVE_CLONE3
    if (cgroup_dir >= 0 && clone3_usable) {
        struct director_clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_INTO_CGROUP | (spawn_wants_pidfd ? CLONE_PIDFD : 0);
        args.pidfd = spawn_wants_pidfd ? (uint64_t)(uintptr_t)&pidfd : 0;
        args.exit_signal = SIGCHLD;
        args.stack = (uint64_t)(uintptr_t)stack;
        args.stack_size = sizeof stack;
        args.cgroup = (uint64_t)cgroup_dir;
        long result = director_clone3_trampoline(&args, sizeof args, spawn_child, &request);
        if (result >= 0) {
            pid = (pid_t)result;
            via_clone3 = 1;
        } else {
            int e = (int)-result;
            if (e == ENOSYS || e == EPERM || e == E2BIG || e == EINVAL) clone3_usable = 0;
            pidfd = -1; /* then the clone path, for this spawn too */
        }
    }
#endif
    int procs_fd = -1;
    if (!via_clone3) {
        /* The clone path: the child joins its cgroup itself (not fatal if it cannot). */
        if (cgroup_dir >= 0) procs_fd = openat(cgroup_dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        request.cgroup_procs = procs_fd;
        pid = spawn_wants_pidfd ? clone(spawn_child, stack + sizeof stack, flags | CLONE_PIDFD, &request, &pidfd)
                                : clone(spawn_child, stack + sizeof stack, flags, &request);
        if (pid < 0 && errno == EINVAL && spawn_wants_pidfd) {
            /* A kernel before 5.2, without CLONE_PIDFD: the caller falls back to pidfd_open. */
            pidfd = -1;
            pid = clone(spawn_child, stack + sizeof stack, flags, &request);
        }
        clone_errno = errno;
    }
    last_spawn_used_clone3 = via_clone3;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
    release_spawn_slots();
    pthread_mutex_unlock(&spawn_slots_lock);
    if (procs_fd >= 0) close(procs_fd);

    if (pid < 0) return clone_errno;
    if (request.error != 0) {
        /* The child exited 127 without exec: reap it here, it never was a running child. */
        siginfo_t info;
        while (waitid(P_PID, (id_t)pid, &info, WEXITED) < 0 && errno == EINTR) {}
        if (pidfd >= 0) close(pidfd);
        *step_out = request.step;
        return request.error;
    }
    out->pid = pid;
    out->pidfd = pidfd;
    /* Its start tick lies between the reading before the clone and the child's own first
     * one: exact when both fall in the same tick, unknown (0) otherwise (then the caller
     * reads /proc). The parent's reading after the clone (used before) came after
     * the wait for the exec, which in a crash storm is ~650 µs: 1 spawn in 15 straddled a
     * tick and paid for a /proc read (2 % of the daemon's CPU). The clone alone is ~30 µs. */
    out->start_ticks = request.born_ticks != 0 && before == request.born_ticks ? before : 0;
    return 0;
}

static int decode(const siginfo_t *info, int *kind, int *value) {
    if (info->si_code == CLD_EXITED) { *kind = 1; *value = info->si_status; }
    else { *kind = 2; *value = info->si_status; }
    return 1;
}

int director_wait_pid(pid_t pid, int nohang, int *kind, int *value) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int rc;
    do {
        rc = waitid(P_PID, (id_t)pid, &info, WEXITED | (nohang ? WNOHANG : 0));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -errno;
    if (info.si_pid == 0) return 0;
    return decode(&info, kind, value);
}

int director_peek_exited(pid_t *pid_out) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int rc;
    do {
        rc = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -errno;
    if (info.si_pid == 0) return 0;
    *pid_out = info.si_pid;
    return 1;
}

int director_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int director_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[512];
    if (max > 512) max = 512;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) { datas[i] = evs[i].data.u64; events[i] = evs[i].events; }
    return n;
}

static void fill(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
}

int director_signalfd(const int *signals, int count) {
    sigset_t set;
    fill(&set, signals, count);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int director_sigmask(int how, const int *signals, int count) {
    sigset_t set;
    fill(&set, signals, count);
    return -pthread_sigmask(how == 0 ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static int fill_address(struct sockaddr_un *addr, const char *path) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr->sun_path) return -ENAMETOOLONG;
    strcpy(addr->sun_path, path);
    return 0;
}

int director_unix_listen(const char *path, int backlog) {
    struct sockaddr_un addr;
    int rc = fill_address(&addr, path);
    if (rc < 0) return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    // bind gives the socket file the socket inode's mode less the umask: 0600 on the inode
    // first means no moment when others may connect, without touching the umask, which is
    // the whole process's (another thread creating a file meanwhile would get it). Then 0600
    // exactly, whatever the umask took away.
    if (fchmod(fd, 0600) < 0) { int e = errno; close(fd); return -e; }
    rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    if (rc < 0) { int e = errno; close(fd); return -e; }
    if (chmod(path, 0600) < 0 || listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return -e;
    }
    return fd;
}

int director_unix_connect(const char *path) {
    struct sockaddr_un addr;
    int rc = fill_address(&addr, path);
    if (rc < 0) return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    do { rc = connect(fd, (struct sockaddr *)&addr, sizeof addr); } while (rc < 0 && errno == EINTR);
    if (rc < 0) { int e = errno; close(fd); return -e; }
    return fd;
}

int director_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;
}

int director_accept(int listen_fd) {
    int fd;
    do { fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

long director_send(int fd, const void *bytes, unsigned long count) {
    long n;
    do { n = send(fd, bytes, count, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

int director_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

void director_trim_heap(void) {
    malloc_trim(0);
}

// The fault exit: a SIGBUS/SIGSEGV handler that writes one line prepared in advance and
// exits 1. LMDB reads the table through a memory map, so a damaged or truncated file shows up
// as a fault on an access, not as an error code; only an async-signal-safe handler can turn
// that into a clean exit. The line and the alternate stack are static: nothing is allocated
// or formatted in the handler.
static char fault_line[2048];
static size_t fault_line_length;
static char fault_stack[64 * 1024];

static void fault_exit_handler(int sig) {
    (void)sig;
    size_t done = 0;
    while (done < fault_line_length) {
        ssize_t n = write(2, fault_line + done, fault_line_length - done);
        if (n <= 0) break;
        done += (size_t)n;
    }
    _exit(1);
}

int director_install_fault_exit(const char *line) {
    size_t length = strlen(line);
    if (length >= sizeof(fault_line)) length = sizeof(fault_line) - 1;
    // Block the faults while the line changes, so a handler never sees half a line.
    sigset_t faults, old;
    sigemptyset(&faults);
    sigaddset(&faults, SIGBUS);
    sigaddset(&faults, SIGSEGV);
    pthread_sigmask(SIG_BLOCK, &faults, &old);
    memcpy(fault_line, line, length);
    fault_line_length = length;
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    stack_t stack = {.ss_sp = fault_stack, .ss_size = sizeof(fault_stack), .ss_flags = 0};
    if (sigaltstack(&stack, NULL) != 0) return -errno;
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = fault_exit_handler;
    action.sa_flags = SA_ONSTACK;
    sigfillset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, NULL) != 0) return -errno;
    if (sigaction(SIGSEGV, &action, NULL) != 0) return -errno;
    return 0;
}

int director_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/* The sd_notify socket: a datagram Unix socket that passes the sender's credentials
 * (SO_PASSCRED), so each message is attributed to a process by the kernel, not by its text.
 * `path` starting with '@' is an abstract name (no file). A file left by an earlier daemon on
 * the same state directory is replaced: the state directory's lock is held. */
int director_notify_socket(const char *path) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t length = strlen(path);
    if (length >= sizeof addr.sun_path) return -ENAMETOOLONG;
    memcpy(addr.sun_path, path, length);
    socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length);
    if (path[0] == '@') addr.sun_path[0] = 0;
    else { unlink(path); size = sizeof addr; }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0 || bind(fd, (struct sockaddr *)&addr, size) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    /* Children send to it; only messages from a child's process group count. */
    if (path[0] != '@') chmod(path, 0666);
    int buffer = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    return fd;
}

long director_recv_credentials(int fd, void *bytes, unsigned long count, pid_t *pid_out) {
    struct iovec iov = {.iov_base = bytes, .iov_len = count};
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.space;
    msg.msg_controllen = sizeof control.space;
    long n;
    do { n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    *pid_out = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            *pid_out = cred.pid;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            /* sd_notify's FDSTORE=1 passes fds; they are not kept. */
            int count_fds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < count_fds; i++) {
                int passed;
                memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
                close(passed);
            }
        }
    }
    return (msg.msg_flags & MSG_TRUNC) ? -EMSGSIZE : n;
}
