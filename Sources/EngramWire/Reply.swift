// RESP2 reply values and their encoding.

/// A RESP2 value: what the server sends back for each request.
///
/// `Reply` is a plain value (`Sendable`, `Hashable`). Encoding is O(size of the value) and
/// appends to a caller-owned buffer, so a connection can encode many replies into one write.
public enum Reply: Sendable, Hashable {
    /// `+text`: a short status such as `OK` or `PONG`. CR, LF and other control characters
    /// are replaced by spaces when encoded.
    case status(String)
    /// `-CODE message`: an error; ``WireError/toReply()`` builds these. The message is
    /// sanitized when encoded, like a status.
    case error(code: String, message: String)
    /// `:n`: a signed 64-bit integer.
    case integer(Int)
    /// `$len` + bytes: a binary-safe string; `nil` is the nil bulk `$-1`.
    case bulk([UInt8]?)
    /// `*n` + elements; `nil` is the nil array `*-1`.
    case array([Reply]?)
}

// MARK: - Convenience

extension Reply {
    /// `+OK`.
    public static let ok = Reply.status("OK")
    /// The nil bulk string `$-1`.
    public static let null = Reply.bulk(nil)

    /// A bulk string holding the UTF-8 of `text`.
    public static func text(_ text: String) -> Reply { .bulk(Array(text.utf8)) }

    /// A bulk string holding the shortest decimal form of `value` that reads back exactly
    /// (see ``FloatText``).
    public static func real(_ value: Double) -> Reply { .text(FloatText.format(value)) }

    /// An integer `:1` or `:0`.
    public static func boolean(_ value: Bool) -> Reply { .integer(value ? 1 : 0) }

    /// An object: a flat array of alternating key (bulk string) and value, like Redis's
    /// `HGETALL` replies.
    public static func object(_ fields: [(String, Reply)]) -> Reply {
        var elements: [Reply] = []
        elements.reserveCapacity(fields.count * 2)
        for (key, value) in fields {
            elements.append(.text(key))
            elements.append(value)
        }
        return .array(elements)
    }

    /// The bulk string as UTF-8 text, or `nil` when this is not a (non-nil) bulk string or a
    /// status, or not valid UTF-8.
    public var string: String? {
        switch self {
        case .bulk(let bytes?): return String(validating: bytes, as: UTF8.self)
        case .status(let text): return text
        default: return nil
        }
    }

    /// Whether this is an error reply.
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }
}

// MARK: - Encoding

/// The reply dialect of a connection.
///
/// Engram speaks RESP2. A client library that negotiated RESP3 (`HELLO 3`, as redis-py 8
/// does by default) reads every RESP2 type except the nil bulk `$-1` and nil array `*-1`,
/// which RESP3 replaced by `_`; ``resp3`` sends `_\r\n` for those and is otherwise
/// identical.
public enum ReplyDialect: Sendable, Hashable {
    case resp2
    case resp3
}

extension Reply {
    /// Appends the encoding of this value to `buffer`: RESP2, or with ``ReplyDialect/resp3``
    /// its nil values as RESP3 nulls.
    ///
    /// - Complexity: O(encoded size); nested arrays recurse, and the depth is the caller's.
    public func encode(into buffer: inout [UInt8], dialect: ReplyDialect = .resp2) {
        switch self {
        case .status(let text):
            buffer.append(UInt8(ascii: "+"))
            Reply.appendLine(text, to: &buffer)
        case .error(let code, let message):
            buffer.append(UInt8(ascii: "-"))
            Reply.appendLine(message.isEmpty ? code : code + " " + message, to: &buffer)
        case .integer(let value):
            buffer.append(UInt8(ascii: ":"))
            Reply.appendDecimal(value, to: &buffer)
            Reply.appendCRLF(to: &buffer)
        case .bulk(nil):
            buffer.append(contentsOf: dialect == .resp2 ? Reply.nilBulk : Reply.null3)
        case .bulk(let bytes?):
            buffer.append(UInt8(ascii: "$"))
            Reply.appendDecimal(bytes.count, to: &buffer)
            Reply.appendCRLF(to: &buffer)
            buffer.append(contentsOf: bytes)
            Reply.appendCRLF(to: &buffer)
        case .array(nil):
            buffer.append(contentsOf: dialect == .resp2 ? Reply.nilArray : Reply.null3)
        case .array(let elements?):
            buffer.append(UInt8(ascii: "*"))
            Reply.appendDecimal(elements.count, to: &buffer)
            Reply.appendCRLF(to: &buffer)
            for element in elements { element.encode(into: &buffer, dialect: dialect) }
        }
    }

    /// The RESP2 encoding of this value.
    public var encoded: [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }

    private static let nilBulk = Array("$-1\r\n".utf8)
    private static let nilArray = Array("*-1\r\n".utf8)
    private static let null3 = Array("_\r\n".utf8)

    static func appendCRLF(to buffer: inout [UInt8]) {
        buffer.append(0x0D)
        buffer.append(0x0A)
    }

    /// A status or error line: control bytes become spaces so the framing cannot break.
    private static func appendLine(_ text: String, to buffer: inout [UInt8]) {
        for byte in text.utf8 {
            buffer.append(byte < 0x20 || byte == 0x7F ? 0x20 : byte)
        }
        appendCRLF(to: &buffer)
    }

    /// Decimal digits without going through `String`: this is on every reply's path.
    static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        if value >= 0 && value < 10 {
            buffer.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        var magnitude = value.magnitude
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes ≥ 20 digits
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while magnitude > 0 {
                raw[count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) {
                buffer.append(raw[index])
            }
        }
    }
}
