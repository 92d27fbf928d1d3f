import Glibc

/// A RESP2 reply as the tests see it, or the RESP3 null `_` that a connection sends after
/// `HELLO 3`.
indirect enum RESP: Equatable, CustomStringConvertible {
    case status(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?)
    case array([RESP]?)
    case null3

    var description: String {
        switch self {
        case .status(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulk(let bytes): bytes.map { "\"\(String(decoding: $0, as: UTF8.self))\"" } ?? "nil"
        case .array(let items): items.map { "\($0)" } ?? "*nil"
        case .null3: "_"
        }
    }

    var errorCode: String? {
        guard case .error(let text) = self else { return nil }
        return String(text.split(separator: " ").first ?? "")
    }

    var text: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes?): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    var integer: Int? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The value of `key` in a flat key/value object reply.
    subscript(key: String) -> RESP? {
        guard case .array(let items?) = self else { return nil }
        var index = 0
        while index + 1 < items.count {
            if items[index].text == key { return items[index + 1] }
            index += 2
        }
        return nil
    }
}

/// A blocking client for tests: raw bytes out, RESP replies in. Independent of EngramWire,
/// so that the tests check the wire format rather than agree with it.
final class RawClient: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    init(path: String, receiveTimeoutSeconds: Int = 30) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let result = withUnixAddress(path) { connect(fd, $0, $1) }
        guard result == 0 else {
            let code = errno
            close()  // deinit runs too when a class initializer throws: close only once
            throw HarnessError(description: "connect \(path): errno \(code)")
        }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    private var isOpen = true

    /// Closes once: a second close could hit a descriptor number another test reopened.
    func close() {
        guard isOpen else { return }
        isOpen = false
        Glibc.close(fd)
    }

    deinit { close() }

    /// Sends bytes as they are; false when the peer is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// A request as a RESP array of bulk strings.
    static func resp(_ arguments: [String]) -> [UInt8] {
        var out = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            out += Array("$\(argument.utf8.count)\r\n".utf8) + Array(argument.utf8) + [13, 10]
        }
        return out
    }

    /// Sends one RESP request and reads its reply.
    func call(_ arguments: String...) throws -> RESP {
        try call(arguments)
    }

    func call(_ arguments: [String]) throws -> RESP {
        send(RawClient.resp(arguments))
        return try reply()
    }

    /// Sends an inline line and reads its reply.
    func inline(_ line: String) throws -> RESP {
        send(line + "\r\n")
        return try reply()
    }

    /// Reads one reply.
    func reply() throws -> RESP {
        let line = try readLine()
        guard let kind = line.first else { throw HarnessError(description: "empty reply line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"): return .status(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"): return .integer(Int(rest) ?? Int.min)
        case UInt8(ascii: "$"):
            guard let length = Int(rest), length >= 0 else { return .bulk(nil) }
            let body = try readExactly(length + 2)
            return .bulk(Array(body.prefix(length)))
        case UInt8(ascii: "*"):
            guard let count = Int(rest), count >= 0 else { return .array(nil) }
            var items: [RESP] = []
            for _ in 0..<count { items.append(try reply()) }
            return .array(items)
        case UInt8(ascii: "%"):
            // A RESP3 map (the reply to `HELLO 3`), read as the flat array of its pairs.
            guard let count = Int(rest), count >= 0 else { return .array(nil) }
            var items: [RESP] = []
            for _ in 0..<(2 * count) { items.append(try reply()) }
            return .array(items)
        case UInt8(ascii: "_") where rest.isEmpty:
            return .null3
        default:
            throw HarnessError(description: "bad reply line \(rest)")
        }
    }

    /// Whether the server closed the connection (reads to EOF, discarding data).
    func isClosedByPeer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    private func fill() throws {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else {
            throw HarnessError(
                description: count == 0 ? "connection closed" : "read errno \(errno)")
        }
        buffer += chunk[0..<count]
    }

    private func readLine() throws -> [UInt8] {
        while true {
            if let lf = buffer[start...].firstIndex(of: 10) {
                let end = lf > start && buffer[lf - 1] == 13 ? lf - 1 : lf
                let line = Array(buffer[start..<end])
                start = lf + 1
                return line
            }
            try fill()
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count - start < count { try fill() }
        let bytes = Array(buffer[start..<(start + count)])
        start += count
        return bytes
    }
}

/// Calls `body` with a `sockaddr_un` for `path` (under 108 bytes) and its length.
func withUnixAddress(
    _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32
)
    -> Int32
{
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes.prefix(107)) }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
}
