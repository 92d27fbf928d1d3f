// CEngramSys: the few system calls and structures that Swift's Glibc module hides behind
// _GNU_SOURCE. Every function returns -1 and leaves errno set on failure, like the call it wraps.
#ifndef CENGRAMSYS_H
#define CENGRAMSYS_H

#include <stdint.h>
#include <sys/types.h>

/// accept4(2) with SOCK_CLOEXEC, retried on EINTR.
int csys_accept_cloexec(int listen_fd);

/// The peer's credentials of a connected Unix socket (SO_PEERCRED), taken at connect().
int csys_peercred(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/// The peer's supplementary groups (SO_PEERGROUPS, Linux 4.13+). On entry *count is the capacity
/// of groups; on success it is the number written. Fails with ERANGE when groups is too small.
int csys_peergroups(int fd, gid_t *groups, int *count);

/// send(2) with MSG_NOSIGNAL, looping on short writes and EINTR. Returns 0 or -1.
int csys_send_all(int fd, const void *buf, size_t len);

/// One write(2) of a whole buffer to a file descriptor, looping on short writes and EINTR.
int csys_write_all(int fd, const void *buf, size_t len);

/// epoll(7) for the daemon's event loops, without exposing the packed struct epoll_event.
/// csys_epoll_create: epoll_create1(EPOLL_CLOEXEC).
int csys_epoll_create(void);

/// Registers (add = 1) or re-arms (add = 0) fd for one readiness event (EPOLLIN |
/// EPOLLONESHOT) carrying `id`; with at_once = 1 also EPOLLOUT, so that the event comes as
/// soon as the socket is writable, input or not.
int csys_epoll_arm(int epoll_fd, int fd, uint64_t id, int add, int at_once);

/// Waits up to timeout_ms for events; writes the ids of at most `capacity` ready fds and
/// returns how many (0 on timeout or EINTR, -1 on other errors).
int csys_epoll_wait(int epoll_fd, uint64_t *ids, int capacity, int timeout_ms);

#endif
