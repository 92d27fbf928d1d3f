import Glibc

/// SIGTERM, SIGINT and SIGHUP as messages to the signal thread.
///
/// Blocking the signals in `main` and calling `sigwait` is not enough here: libraries start
/// threads before `main` runs (OpenBLAS builds its thread pool in a constructor), and the
/// kernel delivers a process signal to any thread that does not block it, whose default
/// action would kill the daemon mid-write. So a handler is installed for each signal; it only
/// writes the signal number into a pipe (async-signal-safe), whatever thread it runs on. The
/// daemon's own threads block the signals (they inherit the mask of `main`), so system calls
/// on connection and writer threads are not interrupted; the signal thread unblocks them, so
/// that some thread always takes the signal. SIGPIPE is ignored: a peer that went away shows
/// up as EPIPE.
enum StopSignals {
    static let handled = [SIGTERM, SIGINT, SIGHUP]

    /// The pipe, set once in ``install()`` before any thread of ours exists.
    nonisolated(unsafe) private static var pipeFDs: [Int32] = [-1, -1]
    nonisolated(unsafe) private static var writeFD: Int32 = -1

    static func install() {
        signal(SIGPIPE, SIG_IGN)
        pipe(&pipeFDs)
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        writeFD = pipeFDs[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(StopSignals.writeFD, &byte, 1)
        }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        for number in handled { sigaction(number, &action, nil) }
        var set = mask()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    static func unblockInThisThread() {
        var set = mask()
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Blocks until a handled signal arrives and returns its number.
    static func wait() -> Int32 {
        while true {
            var byte: UInt8 = 0
            if read(pipeFDs[0], &byte, 1) == 1 { return Int32(byte) }
        }
    }

    private static func mask() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for number in handled { sigaddset(&set, number) }
        return set
    }
}
