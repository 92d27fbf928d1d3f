// Request framing: inline lines and RESP2 arrays of bulk strings, fed in arbitrary chunks.

#if canImport(Glibc)
    import Glibc
#endif

/// One request: its arguments, verb first, as raw bytes.
public typealias Arguments = [[UInt8]]

/// Splits the byte stream of one connection into requests.
///
/// Feed bytes as they arrive with `feed(_:)`, then call ``next()`` until it returns `nil`
/// (more bytes needed). Requests come out in the order they were sent, so pipelining needs
/// nothing more. Two forms are accepted, chosen by the first byte of each request:
///
/// - a RESP2 array of bulk strings, `*N\r\n` then `$len\r\n<len bytes>\r\n` per argument
///   (binary-safe; CRLF is required in the headers and after each bulk);
/// - otherwise an inline line ended by LF or CRLF, split into tokens at runs of spaces and
///   tabs. A token may be quoted as in Redis: `"two words\n"` (with `\"`, `\\`, `\n`,
///   `\r`, `\t`, `\xHH` escapes) or `'two words'` (only `\'`); an unbalanced quote is a
///   framing error. Empty lines are skipped. Other raw control bytes (including a CR that is
///   not right before the LF) are a framing error: binary data must use RESP or `\xHH`.
///
/// Errors thrown by ``next()`` are terminal (`PROTO` or `TOOBIG`, with
/// ``WireError/closesConnection`` set): the decoder keeps throwing the same error and
/// drops further input; the server sends it and closes. An inline line over
/// ``WireLimits/maxInlineLength`` is reported as soon as more than that many bytes are
/// buffered without an LF (unless the one byte past the limit is a CR, which may start the
/// CRLF), so the buffer never holds much more than the limit plus one read. The argument
/// bytes of a request, inline or RESP, are capped by ``WireLimits/maxRequestBytes``.
///
/// Not thread-safe: one decoder per connection, used by one thread at a time.
///
/// - Complexity: O(bytes fed) overall. A partial line is scanned once (the scan position
///   is remembered) and a partial bulk string is waited for by length, not rescanned.
public struct RequestDecoder {
    public let limits: WireLimits

    private var buffer: [UInt8] = []
    /// Index of the first byte not yet consumed.
    private var start = 0
    /// Bytes after `start` already known not to contain an LF (partial inline line).
    private var scanned = 0
    private var state = State.idle
    /// Arguments of the RESP array being read.
    private var pending: Arguments = []
    /// Argument bytes of the RESP array being read, against `maxRequestBytes`.
    private var pendingBytes = 0
    private var failure: WireError?
    /// Bytes searched for an LF so far: the tests check that a partial line is never
    /// searched twice.
    private(set) var bytesScanned = 0

    private enum State {
        /// At a request boundary.
        case idle
        /// Inside a RESP array: `remaining` arguments to go, next is a `$len` header.
        case bulkHeader(remaining: Int)
        /// Inside a RESP array: the body of a bulk of `length` bytes, then CRLF.
        case bulkBody(length: Int, remaining: Int)
    }

    public init(limits: WireLimits = .default) {
        self.limits = limits
    }

    // MARK: - Input

    /// Appends bytes read from the connection. Ignored after a terminal error.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes read from the connection. Ignored after a terminal error.
    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Appends bytes read from the connection. Ignored after a terminal error.
    public mutating func feed(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Bytes received and not yet returned as part of a request.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Whether the decoder sits between requests with nothing buffered.
    public var isAtBoundary: Bool {
        if case .idle = state { return bufferedByteCount == 0 }
        return false
    }

    /// The terminal error, once one has been thrown.
    public var error: WireError? { failure }

    // MARK: - Output

    /// The next complete request, or `nil` when more bytes are needed.
    ///
    /// - Throws: a terminal ``WireError`` (`PROTO`, `TOOBIG`); every later call throws it
    ///   again.
    public mutating func next() throws(WireError) -> Arguments? {
        if let failure { throw failure }
        do {
            let request = try decode()
            compact()
            return request
        } catch {
            fail(error)
            throw error
        }
    }

    /// Call once the peer has closed its side: a last inline line without its LF is
    /// returned as a request (so `printf 'PING' | nc -U -N` is answered), an unfinished
    /// RESP array is a `PROTO` error, and `nil` means nothing was left.
    public mutating func finish() throws(WireError) -> Arguments? {
        if let failure { throw failure }
        if let request = try next() { return request }
        if case .idle = state, bufferedByteCount == 0 { return nil }
        guard case .idle = state, buffer[start] != UInt8(ascii: "*") else {
            let error = WireError(.proto, "connection closed in the middle of a RESP request")
            fail(error)
            throw error
        }
        buffer.append(0x0A)
        return try next()
    }

    private mutating func fail(_ error: WireError) {
        failure = error
        buffer = []
        start = 0
        scanned = 0
        pending = []
    }

    // MARK: - Framing

    private mutating func decode() throws(WireError) -> Arguments? {
        while true {
            switch state {
            case .idle:
                guard start < buffer.count else { return nil }
                if buffer[start] == UInt8(ascii: "*") {
                    guard let count = try header(marker: "*") else { return nil }
                    guard count > 0 else { continue }  // `*0`: an empty request, skipped
                    guard count <= limits.maxArguments else {
                        throw WireError(
                            .tooBig,
                            "request has \(count) arguments; the limit is \(limits.maxArguments)"
                        )
                    }
                    pending = []
                    pending.reserveCapacity(min(count, 1024))
                    pendingBytes = 0
                    state = .bulkHeader(remaining: count)
                } else {
                    guard let line = try inlineLine() else { return nil }
                    if !line.isEmpty { return line }
                }
            case .bulkHeader(let remaining):
                guard start < buffer.count else { return nil }
                guard buffer[start] == UInt8(ascii: "$") else {
                    throw WireError(
                        .proto,
                        "expected '$' to start a bulk string, got "
                            + WireError.quote(buffer[start..<min(start + 8, buffer.count)]))
                }
                guard let length = try header(marker: "$") else { return nil }
                try checkBulk(length, last: remaining == 1)
                state = .bulkBody(length: length, remaining: remaining)
            case .bulkBody(let length, let remaining):
                guard buffer.count - start >= length + 2 else {
                    // Reserve for a large bulk only once half of it has arrived, so that a
                    // bare `$len` header cannot make a connection allocate the limit.
                    if buffer.capacity < start + length + 2, buffer.count - start >= length / 2 {
                        buffer.reserveCapacity(start + length + 2)
                    }
                    return nil
                }
                let end = start + length
                guard buffer[end] == 0x0D, buffer[end + 1] == 0x0A else {
                    throw WireError(.proto, "bulk string of \(length) bytes not followed by CRLF")
                }
                pending.append(Array(buffer[start..<end]))
                start = end + 2
                if remaining > 1 {
                    state = .bulkHeader(remaining: remaining - 1)
                } else {
                    state = .idle
                    defer { pending = [] }
                    return pending
                }
            }
        }
    }

    /// Checks a bulk's announced length against the limits; `last` says whether it is the
    /// request's last argument (then the request's size is known exactly).
    private mutating func checkBulk(_ length: Int, last: Bool) throws(WireError) {
        guard length <= limits.maxBulkLength else {
            throw WireError(
                .tooBig,
                "bulk string of \(length) bytes; the limit is \(limits.maxBulkLength)")
        }
        pendingBytes += length
        guard pendingBytes <= limits.maxRequestBytes else {
            throw requestTooBig(pendingBytes, exact: last)
        }
    }

    /// `TOOBIG` for a request of `bytes` bytes of arguments (at least that many when not
    /// `exact`: a RESP request is refused from the header that takes it over the limit).
    private func requestTooBig(_ bytes: Int, exact: Bool) -> WireError {
        WireError(
            .tooBig,
            "request with \(exact ? "" : "at least ")\(bytes) bytes of arguments; the limit is "
                + "\(limits.maxRequestBytes)")
    }

    /// Reads a `*N` or `$len` header line at `start` (CRLF required). Returns `nil` if the
    /// line is incomplete.
    private mutating func header(marker: Character) throws(WireError) -> Int? {
        let limit = WireLimits.maxHeaderLength
        let available = buffer.count - start
        let window = min(available, limit + 2)
        let lf = buffer.withUnsafeBufferPointer { bytes in
            (1..<max(window, 1)).first { bytes[start + $0] == 0x0A }
        }
        guard let lf else {
            guard available < limit + 2 else {
                throw WireError(.proto, "RESP '\(marker)' header longer than \(limit) bytes")
            }
            return nil
        }
        guard lf >= 2, buffer[start + lf - 1] == 0x0D else {
            throw WireError(.proto, "RESP '\(marker)' header must end with CRLF")
        }
        let digits = buffer[(start + 1)..<(start + lf - 1)]
        guard let value = RequestDecoder.decimal(digits) else {
            throw WireError(
                .proto,
                "invalid length " + WireError.quote(digits) + " after '\(marker)'"
                    + "; expected a non-negative decimal number")
        }
        start += lf + 1
        return value
    }

    /// A non-negative decimal of at most 18 digits, or `nil`.
    static func decimal(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for byte in digits {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// Reads one inline line. Returns `nil` if no LF has arrived yet, `[]` for a blank line.
    private mutating func inlineLine() throws(WireError) -> Arguments? {
        let available = buffer.count - start
        let found = buffer.withUnsafeBytes { raw -> Int? in
            let from = raw.baseAddress! + start + scanned
            guard let hit = memchr(from, 0x0A, available - scanned) else { return nil }
            return start + scanned + (UnsafeRawPointer(hit) - UnsafeRawPointer(from))
        }
        guard let lf = found else {
            bytesScanned += available - scanned
            scanned = available
            try checkUnterminated(available)
            return nil
        }
        bytesScanned += lf + 1 - (start + scanned)
        scanned = 0
        var end = lf
        if end > start, buffer[end - 1] == 0x0D { end -= 1 }
        guard end - start <= limits.maxInlineLength else { throw tooLongLine() }
        let lineStart = start
        start = lf + 1
        return try tokens(lineStart..<end)
    }

    /// Throws once `available` bytes without an LF are already over the line limit. The
    /// limit excludes the terminator, so one byte past it may only be the CR of a CRLF.
    private func checkUnterminated(_ available: Int) throws(WireError) {
        let limit = limits.maxInlineLength
        guard available > limit else { return }
        guard available == limit + 1, buffer[start + limit] == 0x0D else {
            throw tooLongLine()
        }
    }

    private func tooLongLine() -> WireError {
        WireError(
            .tooBig,
            "inline request longer than \(limits.maxInlineLength) bytes"
                + "; send large vectors as RESP bulk strings (BIN)")
    }

    /// Splits a line at runs of spaces and tabs; rejects other control bytes.
    private func tokens(_ range: Range<Int>) throws(WireError) -> Arguments {
        try buffer.withUnsafeBufferPointer { bytes throws(WireError) -> Arguments in
            var result: Arguments = []
            var tokenStart = -1
            var index = range.lowerBound
            while index < range.upperBound {
                let byte = bytes[index]
                if byte == 0x20 || byte == 0x09 {
                    if tokenStart >= 0 {
                        result.append(Array(bytes[tokenStart..<index]))
                        tokenStart = -1
                    }
                } else if tokenStart < 0, byte == 0x22 || byte == 0x27 {
                    let (token, end) = try quoted(bytes, at: index, in: range)
                    result.append(token)
                    index = end
                    continue
                } else {
                    if byte < 0x20 || byte == 0x7F {
                        throw controlByte(byte, column: index - range.lowerBound + 1)
                    }
                    if tokenStart < 0 { tokenStart = index }
                }
                index += 1
            }
            if tokenStart >= 0 { result.append(Array(bytes[tokenStart..<range.upperBound])) }
            guard result.count <= limits.maxArguments else {
                throw WireError(
                    .tooBig,
                    "request has \(result.count) arguments; the limit is \(limits.maxArguments)")
            }
            let total = result.reduce(0) { $0 + $1.count }
            guard total <= limits.maxRequestBytes else {
                throw requestTooBig(total, exact: true)
            }
            return result
        }
    }

    /// A quoted token starting at `start` (a `"` or `'`), as Redis's inline parser reads
    /// it: in double quotes `\"`, `\\`, `\n`, `\r`, `\t` and `\xHH` are escapes (any
    /// other `\c` is `c`); in single quotes only `\'` is. The closing quote must end the
    /// token. Returns the token and the index after the closing quote.
    private func quoted(
        _ bytes: UnsafeBufferPointer<UInt8>, at start: Int, in range: Range<Int>
    ) throws(WireError) -> ([UInt8], Int) {
        let quote = bytes[start]
        var token: [UInt8] = []
        var index = start + 1
        while index < range.upperBound {
            let byte = bytes[index]
            if byte < 0x20 || byte == 0x7F {
                throw controlByte(byte, column: index - range.lowerBound + 1)
            }
            if byte == quote {
                let next = index + 1
                guard next == range.upperBound || bytes[next] == 0x20 || bytes[next] == 0x09
                else {
                    throw WireError(
                        .proto,
                        "closing quote at column \(next - range.lowerBound) of an inline request "
                            + "must be followed by a space or the end of the line")
                }
                return (token, next)
            }
            if byte == 0x5C, index + 1 < range.upperBound {
                let escaped = bytes[index + 1]
                if quote == 0x27 {
                    if escaped == 0x27 {
                        token.append(0x27)
                        index += 2
                        continue
                    }
                } else {
                    index += 2
                    switch escaped {
                    case UInt8(ascii: "n"): token.append(0x0A)
                    case UInt8(ascii: "r"): token.append(0x0D)
                    case UInt8(ascii: "t"): token.append(0x09)
                    case UInt8(ascii: "x"):
                        if index + 1 < range.upperBound,
                            let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1])
                        {
                            token.append(high << 4 | low)
                            index += 2
                        } else {
                            token.append(UInt8(ascii: "x"))
                        }
                    default: token.append(escaped)
                    }
                    continue
                }
            }
            token.append(byte)
            index += 1
        }
        throw WireError(
            .proto,
            "unbalanced quotes in an inline request; close the quote opened at column "
                + "\(start - range.lowerBound + 1)")
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private func controlByte(_ byte: UInt8, column: Int) -> WireError {
        let hex = String(byte, radix: 16, uppercase: true)
        return WireError(
            .proto,
            "control byte 0x\(hex.count < 2 ? "0" + hex : hex) at column \(column) of an inline "
                + "request; send binary data as a RESP bulk string")
    }

    /// Drops consumed bytes: all of them when the buffer is drained (the common case of
    /// whole requests per read), or the consumed half of a large buffer.
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
