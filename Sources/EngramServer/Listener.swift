import CEngramSys
import Glibc

/// Why the daemon could not get a listening socket, with what to do about it.
public struct StartupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The listening Unix stream socket: bound by the daemon, or received by socket activation.
///
/// Owned by the accept loop; not shared between threads.
final class Listener {
    let fd: Int32
    /// The file-system path, when the daemon bound it (used to remove it at exit).
    let path: String?
    /// Whether the socket came from the service manager; such a socket is never unlinked.
    let activated: Bool
    /// Device and inode of the node we bound, so that exit removes only our own node.
    private let node: (dev: UInt64, ino: UInt64)?

    init(activatedFD fd: Int32) {
        self.fd = fd
        self.path = nil
        self.activated = true
        self.node = nil
    }

    /// Binds `path`, replacing a stale socket node, sets its mode and group, then listens.
    ///
    /// A node at `path` is removed only when it is a socket and a connect to it is refused
    /// (nobody listens). Mode and group are set between bind and listen, so no client can
    /// connect before the permissions hold.
    init(path: String, mode: UInt32, group: UInt32?, backlog: Int32 = 511) throws(StartupError) {
        guard path.utf8.count < 108 else {
            throw StartupError(
                message: "socket path is \(path.utf8.count) bytes, over the limit of 107: "
                    + "\(path); choose a shorter --socket")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StartupError(message: "socket(): \(errnoText())") }
        do throws(StartupError) {
            try Listener.bindReplacingStale(fd: fd, path: path)
            if chmod(path, mode_t(mode)) != 0 {
                throw StartupError(message: "chmod \(path): \(errnoText())")
            }
            if let group, chown(path, uid_t.max, gid_t(group)) != 0 {
                throw StartupError(
                    message: "cannot give \(path) to group \(group): \(errnoText()); "
                        + "the daemon's user must be a member of the socket group")
            }
            guard listen(fd, backlog) == 0 else {
                throw StartupError(message: "listen on \(path): \(errnoText())")
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
        var status = stat()
        let bound = stat(path, &status) == 0
        self.fd = fd
        self.path = path
        self.activated = false
        self.node = bound ? (UInt64(status.st_dev), UInt64(status.st_ino)) : nil
    }

    private static func bindReplacingStale(fd: Int32, path: String) throws(StartupError) {
        if withAddress(path, { bind(fd, $0, $1) }) == 0 { return }
        guard errno == EADDRINUSE else {
            throw StartupError(message: "bind \(path): \(errnoText())")
        }
        var status = stat()
        guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw StartupError(
                message: "\(path) exists and is not a socket; remove it or choose another "
                    + "--socket")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { Glibc.close(probe) }
        if withAddress(path, { connect(probe, $0, $1) }) == 0 {
            throw StartupError(
                message: "another server is listening on \(path); stop it or choose another "
                    + "--socket")
        }
        guard errno == ECONNREFUSED else {
            throw StartupError(message: "cannot probe \(path): \(errnoText())")
        }
        unlink(path)
        guard withAddress(path, { bind(fd, $0, $1) }) == 0 else {
            throw StartupError(message: "bind \(path) after removing a stale node: \(errnoText())")
        }
    }

    /// Accepts one connection (close-on-exec), or nil with errno set.
    func accept() -> Int32? {
        let client = csys_accept_cloexec(fd)
        return client >= 0 ? client : nil
    }

    /// Closes the socket; removes the node only when we bound it and it is still ours.
    func close() {
        Glibc.close(fd)
        guard !activated, let path, let node else { return }
        var status = stat()
        if stat(path, &status) == 0, UInt64(status.st_dev) == node.dev,
            UInt64(status.st_ino) == node.ino
        {
            unlink(path)
        }
    }
}

/// The kernel-recorded credentials of a connected peer, or nil when they are unavailable.
func peerCredentials(of fd: Int32) -> PeerCredentials? {
    var pid: pid_t = 0
    var uid: uid_t = 0
    var gid: gid_t = 0
    guard csys_peercred(fd, &pid, &uid, &gid) == 0 else { return nil }
    var groups = [gid_t](repeating: 0, count: 64)
    var count = Int32(groups.count)
    var result = csys_peergroups(fd, &groups, &count)
    if result != 0, errno == ERANGE {
        groups = [gid_t](repeating: 0, count: 65536)
        count = Int32(groups.count)
        result = csys_peergroups(fd, &groups, &count)
    }
    if result != 0 { count = 0 }
    return PeerCredentials(pid: pid, uid: uid, gid: gid, groups: Array(groups.prefix(Int(count))))
}

/// Calls `body` with a `sockaddr_un` for `path` and its length. The caller checked the length.
func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes.prefix(raw.count - 1))
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
}

func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
