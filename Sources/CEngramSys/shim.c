#define _GNU_SOURCE
#include "CEngramSys.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int csys_accept_cloexec(int listen_fd) {
    int fd;
    do {
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

int csys_peercred(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        return -1;
    }
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

int csys_peergroups(int fd, gid_t *groups, int *count) {
    socklen_t len = (socklen_t)(*count * (int)sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
        return -1;
    }
    *count = (int)(len / sizeof(gid_t));
    return 0;
}

static int loop_out(int fd, const void *buf, size_t len, int use_send) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = use_send ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int csys_send_all(int fd, const void *buf, size_t len) { return loop_out(fd, buf, len, 1); }

int csys_write_all(int fd, const void *buf, size_t len) { return loop_out(fd, buf, len, 0); }

int csys_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int csys_epoll_arm(int epoll_fd, int fd, uint64_t id, int add, int at_once) {
    struct epoll_event event;
    // EPOLLOUT fires as soon as the socket can take bytes, which is nearly always: the way to
    // have the loop serve a connection again without waiting for input.
    event.events = EPOLLIN | EPOLLONESHOT | (at_once ? EPOLLOUT : 0);
    event.data.u64 = id;
    return epoll_ctl(epoll_fd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event);
}

int csys_epoll_wait(int epoll_fd, uint64_t *ids, int capacity, int timeout_ms) {
    struct epoll_event events[256];
    if (capacity > 256) {
        capacity = 256;
    }
    int count = epoll_wait(epoll_fd, events, capacity, timeout_ms);
    if (count < 0) {
        return errno == EINTR ? 0 : -1;
    }
    for (int i = 0; i < count; i++) {
        ids[i] = events[i].data.u64;
    }
    return count;
}
