#ifndef CDIRECTORSYS_H
#define CDIRECTORSYS_H

#include <sys/types.h>

/// pidfd_open(2) through syscall(2): glibc's wrapper is newer than some targets.
/// Returns a file descriptor, or -1 with errno set.
int director_pidfd_open(pid_t pid, unsigned int flags);

/// Makes the calling process a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so that
/// grandchildren whose parent dies are re-parented to us instead of to init.
int director_set_child_subreaper(void);

#endif
