// Client side: RESP2 (and RESP3, read as RESP2) replies out of a byte stream fed in arbitrary
// chunks.

#if canImport(Glibc)
    import Glibc
#endif

/// Decodes the replies a client receives.
///
/// Feed bytes with `feed(_:)`, then call ``next()`` until it returns `nil`. Nested arrays
/// are built incrementally on a stack, so a large reply that arrives in many reads is
/// decoded in O(bytes), never rescanned.
///
/// Malformed input (an unknown type byte, a bad length, a missing CRLF, nesting deeper
/// than ``maxDepth``) throws a `PROTO` ``WireError``; a reply larger than
/// ``WireLimits/maxReplyBytes`` throws `TOOBIG`. Both are terminal: the stream can no
/// longer be followed, so every later call throws the same error.
///
/// Not thread-safe: one decoder per connection.
///
/// RESP3 replies (what a server sends after `HELLO 3`) are read as their RESP2 forms, the way
/// Redis itself answers a RESP2 client: null `_` as nil, maps `%` as flat arrays of keys and
/// values, sets `~` and pushes `>` as arrays, doubles `,` and big numbers `(` as bulk strings
/// of their text, booleans `#` as 1 or 0, verbatim strings `=` as bulk strings without their
/// format prefix, blob errors `!` as errors. Attributes `|` are read and dropped.
public struct ReplyDecoder {
    public let limits: WireLimits
    /// Deepest nesting of arrays accepted; Engram's replies nest at most 4 deep.
    public static let maxDepth = 32

    private var buffer: [UInt8] = []
    private var start = 0
    private var scanned = 0
    /// Aggregates being filled, innermost last; an attribute is dropped once complete.
    private var stack: [(remaining: Int, elements: [Reply], attribute: Bool)] = []
    /// Length of a bulk string whose header has been read and whose body has not.
    private var pendingBulk: Int?
    /// What that bulk string is: `$` plain, `=` verbatim, `!` a blob error.
    private var pendingType = UInt8(ascii: "$")
    /// Bytes consumed by the top-level reply being decoded.
    private var replyBytes = 0
    private var failure: WireError?

    public init(limits: WireLimits = .default) {
        self.limits = limits
    }

    /// Appends bytes received from the server. Ignored after a terminal error.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes received from the server. Ignored after a terminal error.
    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Appends bytes received from the server. Ignored after a terminal error.
    public mutating func feed(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Bytes received and not yet consumed.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Whether the decoder sits between replies with nothing buffered.
    public var isAtBoundary: Bool {
        stack.isEmpty && pendingBulk == nil && bufferedByteCount == 0
    }

    /// The next complete reply, or `nil` when more bytes are needed.
    public mutating func next() throws(WireError) -> Reply? {
        if let failure { throw failure }
        do {
            let reply = try decode()
            compact()
            return reply
        } catch {
            failure = error
            buffer = []
            start = 0
            stack = []
            throw error
        }
    }

    // MARK: - Decoding

    private mutating func decode() throws(WireError) -> Reply? {
        while true {
            guard let scalar = try element() else { return nil }
            var value: Reply? = scalar
            while let current = value, let last = stack.indices.last {
                stack[last].elements.append(current)
                stack[last].remaining -= 1
                guard stack[last].remaining == 0 else {
                    value = nil
                    break
                }
                let frame = stack.removeLast()
                value = frame.attribute ? nil : .array(frame.elements)
            }
            if let value, stack.isEmpty {
                replyBytes = 0
                return value
            }
        }
    }

    /// The next scalar value, or nil if incomplete. Array headers are pushed on the stack
    /// and yield no value (unless empty or nil).
    private mutating func element() throws(WireError) -> Reply? {
        while true {
            if let length = pendingBulk {
                guard buffer.count - start >= length + 2 else { return nil }
                let end = start + length
                guard buffer[end] == 0x0D, buffer[end + 1] == 0x0A else {
                    throw WireError(.proto, "reply bulk string not followed by CRLF")
                }
                let bytes = Array(buffer[start..<end])
                try consume(length + 2)
                pendingBulk = nil
                return ReplyDecoder.bulk(bytes, type: pendingType)
            }
            guard let (type, line) = try readLine() else { return nil }
            switch type {
            case UInt8(ascii: "+"):
                return .status(String(decoding: line, as: UTF8.self))
            case UInt8(ascii: "-"):
                return ReplyDecoder.error(line)
            case UInt8(ascii: "_") where line.isEmpty:
                return .bulk(nil)  // a RESP3 null, as Redis sends after HELLO 3
            case UInt8(ascii: ","), UInt8(ascii: "("):
                return .bulk(Array(line))  // RESP3 double, big number: their text
            case UInt8(ascii: "#"):
                guard line.count == 1, let truth = line.first,
                    truth == UInt8(ascii: "t") || truth == UInt8(ascii: "f")
                else { throw WireError(.proto, "invalid boolean reply " + WireError.quote(line)) }
                return .integer(truth == UInt8(ascii: "t") ? 1 : 0)
            case UInt8(ascii: ":"):
                guard let value = ReplyDecoder.signedDecimal(line) else {
                    throw WireError(.proto, "invalid integer reply " + WireError.quote(line))
                }
                return .integer(value)
            case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
                let length = try lengthValue(line)
                if length < 0 { return .bulk(nil) }
                guard length <= limits.maxReplyBytes - replyBytes else {
                    throw WireError(
                        .tooBig, "reply over \(limits.maxReplyBytes) bytes", closesConnection: true)
                }
                pendingBulk = length
                pendingType = type
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"),
                UInt8(ascii: "|"):
                let pairs = type == UInt8(ascii: "%") || type == UInt8(ascii: "|")
                let header = try lengthValue(line)
                if header < 0 { return .array(nil) }
                let (count, overflow) = header.multipliedReportingOverflow(by: pairs ? 2 : 1)
                guard !overflow else { throw WireError(.tooBig, "reply of \(header) elements") }
                if count == 0 {
                    if type == UInt8(ascii: "|") { continue }  // an empty attribute: nothing
                    return .array([])
                }
                guard stack.count < ReplyDecoder.maxDepth else {
                    throw WireError(.proto, "reply nested deeper than \(ReplyDecoder.maxDepth)")
                }
                guard count <= limits.maxReplyBytes / 3 else {
                    throw WireError(.tooBig, "reply array of \(count) elements")
                }
                var elements: [Reply] = []
                elements.reserveCapacity(min(count, 1024))
                stack.append((count, elements, type == UInt8(ascii: "|")))
            default:
                throw WireError(
                    .proto,
                    "unknown reply type byte " + WireError.quote([type])
                        + "; is this an Engram (RESP2) server?")
            }
        }
    }

    /// `CODE message` as an error reply (a line of `-`, or the body of a blob error `!`).
    private static func error(_ text: some Collection<UInt8>) -> Reply {
        let text = String(decoding: text, as: UTF8.self)
        guard let space = text.firstIndex(of: " ") else {
            return .error(code: text, message: "")
        }
        return .error(
            code: String(text[..<space]), message: String(text[text.index(after: space)...]))
    }

    /// A complete bulk body: a bulk string, a verbatim string without its `txt:` prefix, or
    /// a blob error.
    private static func bulk(_ bytes: [UInt8], type: UInt8) -> Reply {
        switch type {
        case UInt8(ascii: "="):
            let prefixed = bytes.count >= 4 && bytes[3] == UInt8(ascii: ":")
            return .bulk(prefixed ? Array(bytes[4...]) : bytes)
        case UInt8(ascii: "!"): return error(bytes)
        default: return .bulk(bytes)
        }
    }

    private func lengthValue(_ line: ArraySlice<UInt8>) throws(WireError) -> Int {
        guard let value = ReplyDecoder.signedDecimal(line), value >= -1 else {
            throw WireError(.proto, "invalid reply length " + WireError.quote(line))
        }
        return value
    }

    static func signedDecimal(_ digits: ArraySlice<UInt8>) -> Int? {
        guard let first = digits.first else { return nil }
        if first == UInt8(ascii: "-") {
            guard let magnitude = RequestDecoder.decimal(digits.dropFirst()) else { return nil }
            return -magnitude
        }
        return RequestDecoder.decimal(digits)
    }

    /// A CRLF-terminated line: its type byte and its content. `nil` if incomplete.
    private mutating func readLine() throws(WireError) -> (UInt8, ArraySlice<UInt8>)? {
        let available = buffer.count - start
        guard available > 0 else { return nil }
        let found = buffer.withUnsafeBytes { raw -> Int? in
            let from = raw.baseAddress! + start + scanned
            guard let hit = memchr(from, 0x0A, available - scanned) else { return nil }
            return start + scanned + (UnsafeRawPointer(hit) - UnsafeRawPointer(from))
        }
        guard let lf = found else {
            scanned = available
            guard available <= limits.maxReplyBytes - replyBytes else {
                throw WireError(.tooBig, "reply line over \(limits.maxReplyBytes) bytes")
            }
            return nil
        }
        scanned = 0
        guard lf - start >= 2, buffer[lf - 1] == 0x0D else {
            throw WireError(.proto, "reply line not ended by CRLF")
        }
        let type = buffer[start]
        let line = buffer[(start + 1)..<(lf - 1)]
        try consume(lf + 1 - start)
        return (type, line)
    }

    private mutating func consume(_ count: Int) throws(WireError) {
        start += count
        replyBytes += count
        guard replyBytes <= limits.maxReplyBytes else {
            throw WireError(.tooBig, "reply over \(limits.maxReplyBytes) bytes")
        }
    }

    private mutating func compact() {
        if start == buffer.count {
            if buffer.capacity > 4 << 20 {
                buffer = []
            } else {
                buffer.removeAll(keepingCapacity: true)
            }
            start = 0
        } else if start >= 1 << 16, start * 2 >= buffer.count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}
