import CSystemd
import Glibc

/// The service manager's notification socket (sd_notify(3)). Every call is a no-op outside
/// systemd (`$NOTIFY_SOCKET` unset). Thread-safe: each call sends one datagram.
public struct ServiceNotifier: Sendable {
    /// Half of `$WATCHDOG_USEC` in microseconds when the manager expects keep-alives from this
    /// process (`$WATCHDOG_PID` unset or ours), else nil.
    public let watchdogInterval: UInt64?

    public init() {
        var usec: UInt64 = 0
        watchdogInterval = sd_watchdog_enabled(0, &usec) > 0 && usec > 0 ? usec / 2 : nil
    }

    /// Startup is complete: the socket is listening and every bank is open.
    public func ready(status: String) { send("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())") }

    /// One line of human-readable state shown by `systemctl status`.
    public func status(_ text: String) { send("STATUS=\(text)") }

    /// Proves liveness; send only from the loop whose health it vouches for.
    public func watchdog() { send("WATCHDOG=1") }

    /// The daemon is shutting down.
    public func stopping(status: String) { send("STOPPING=1\nSTATUS=\(status)") }

    private func send(_ message: String) {
        _ = sd_notify(0, message)
    }
}

/// Listening sockets passed by socket activation (sd_listen_fds(3)).
enum SocketActivation {
    /// The passed descriptors that are listening Unix stream sockets, and those that are not.
    /// None when `$LISTEN_PID` names another process: the variables were meant for it. The
    /// `LISTEN_*` variables are removed so that nothing we start inherits them.
    static func listeningSockets() -> (usable: [Int32], unusable: [Int32]) {
        let count = sd_listen_fds(1)
        guard count > 0 else { return ([], []) }
        var usable: [Int32] = []
        var unusable: [Int32] = []
        for fd in SD_LISTEN_FDS_START..<(SD_LISTEN_FDS_START + count) {
            let stream = Int32(SOCK_STREAM.rawValue)
            if sd_is_socket_unix(fd, stream, 1, nil, 0) > 0 {
                usable.append(fd)
            } else {
                unusable.append(fd)
            }
        }
        return (usable, unusable)
    }
}
