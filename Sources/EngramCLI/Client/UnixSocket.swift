// A connected Unix-domain stream socket: connect, send all, receive some. No protocol here.

import CEngramSys

#if canImport(Glibc)
    import Glibc
#endif

/// One client connection's file descriptor.
///
/// Not thread-safe; owned by one command. The descriptor is closed by ``close()`` or when the
/// object is released. Failures are ``CLIError``s of kind `unavailable` that name the path.
final class UnixSocket {
    let path: String
    private var fd: Int32

    /// Connects to the socket at `path`.
    ///
    /// - Throws: `unavailable` with the reason (no such file, connection refused, permission
    ///   denied, not a socket) and a hint about starting engramd or choosing the socket.
    init(path: String) throws(CLIError) {
        self.path = path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let bytes = Array(path.utf8)
        guard bytes.count < capacity else {
            throw CLIError(
                .unavailable,
                "cannot connect to engramd at \(path): the path is longer than \(capacity - 1) bytes",
                hint: "use a shorter path or a symbolic link to the socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }

        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw CLIError(.unavailable, "cannot create a socket: \(Self.reason(errno))")
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        var result: Int32
        repeat {
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, length)
                }
            }
        } while result != 0 && errno == EINTR
        if result != 0 {
            let error = errno
            Glibc.close(fd)
            fd = -1
            throw Self.connectError(path: path, errno: error)
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Sends every byte, or throws if the daemon went away.
    func send(_ bytes: [UInt8]) throws(CLIError) {
        let result = bytes.withUnsafeBytes { csys_send_all(fd, $0.baseAddress, $0.count) }
        guard result == 0 else {
            throw CLIError(
                .unavailable, "lost the connection to engramd at \(path): \(Self.reason(errno))")
        }
    }

    /// Receives what is available (blocking for at least one byte) into `buffer`, appending.
    /// Returns false at end of stream.
    func receive(into buffer: inout [UInt8]) throws(CLIError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[..<count])
                return true
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            throw CLIError(
                .unavailable, "lost the connection to engramd at \(path): \(Self.reason(errno))")
        }
    }

    // MARK: - Error text

    static func connectError(path: String, errno error: Int32) -> CLIError {
        let what: String
        let hint: String
        switch error {
        case ENOENT:
            what = "no such file"
            hint = "is engramd running? set --socket or ENGRAM_SOCKET"
        case ECONNREFUSED:
            what = "connection refused"
            hint = "engramd is not listening there (a stale socket file?); start engramd"
        case EACCES, EPERM:
            what = "permission denied"
            hint = "ask an administrator for a role in engramd's socket group"
        case ENOTSOCK:
            what = "not a socket"
            hint = "check the path given with --socket or ENGRAM_SOCKET"
        default:
            what = reason(error)
            hint = "is engramd running? set --socket or ENGRAM_SOCKET"
        }
        return CLIError(.unavailable, "cannot connect to engramd at \(path): \(what)", hint: hint)
    }

    static func reason(_ error: Int32) -> String {
        guard let text = strerror(error) else { return "error \(error)" }
        return String(cString: text).lowercased()
    }
}
