// The one error type of the wire layer: a stable code, a message for people, and whether the
// connection must be closed after the error has been sent.

/// An error that travels on the wire as `-CODE message`.
///
/// The ``code`` is stable and machine-readable (the first word of the error reply); the
/// ``message`` is for people, says what was wrong and how to fix it, and never contains CR,
/// LF or other control characters: values from the request are quoted with `quote(_:)`.
///
/// Errors with ``closesConnection`` set (framing errors, limits) are terminal: the server
/// sends the reply and closes the connection, because the byte stream can no longer be
/// trusted to be in step with the request boundaries.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Code
    public var message: String
    public var closesConnection: Bool

    /// Creates an error; `closesConnection` defaults to the code's usual behaviour
    /// (``Code/closesByDefault``).
    public init(_ code: Code, _ message: String, closesConnection: Bool? = nil) {
        self.code = code
        self.message = WireError.sanitize(message)
        self.closesConnection = closesConnection ?? code.closesByDefault
    }

    /// The error as it is sent: `-CODE message`.
    public func toReply() -> Reply {
        .error(code: code.rawValue, message: message)
    }

    /// Rebuilds an error from an error reply received by a client. Any code is accepted,
    /// including codes this version does not know (`Code(rawValue:)` keeps them).
    public init(code: String, message: String) {
        self.init(Code(rawValue: code), message)
    }

    public var description: String { "\(code.rawValue) \(message)" }
}

// MARK: - Codes

extension WireError {
    /// A stable error code. A struct rather than an enum so that a client can carry codes
    /// from a newer server (or a plain Redis `ERR`) without failing.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        public init(rawValue: String) { self.rawValue = rawValue }

        public var description: String { rawValue }

        /// Framing error: bad RESP header or length, missing CRLF, control byte in an
        /// inline line. Closes the connection.
        public static let proto = Code(rawValue: "PROTO")
        /// A line, bulk string, argument count, request or reply is over its limit.
        /// Closes the connection when it concerns the request stream.
        public static let tooBig = Code(rawValue: "TOOBIG")
        /// Unknown command verb.
        public static let unknown = Code(rawValue: "UNKNOWN")
        /// Wrong number or form of arguments, unknown or repeated option.
        public static let args = Code(rawValue: "ARGS")
        /// A bank name or job id does not match `[A-Za-z0-9._-]{1,64}`.
        public static let badName = Code(rawValue: "BADNAME")
        /// No bank of that name.
        public static let noBank = Code(rawValue: "NOBANK")
        /// A bank of that name already exists.
        public static let exists = Code(rawValue: "EXISTS")
        /// A vector's length differs from the bank's dimension.
        public static let dim = Code(rawValue: "DIM")
        /// A vector component is not a finite decimal number.
        public static let badFloat = Code(rawValue: "BADFLOAT")
        /// An option value is malformed or out of range.
        public static let badValue = Code(rawValue: "BADVALUE")
        /// No pattern (or job) with that identifier.
        public static let notFound = Code(rawValue: "NOTFOUND")
        /// A compare-and-set precondition failed: an `MSTORE … IFROWS n` whose job's committed
        /// row count is not `n` (another run of the job committed first). Nothing was written.
        public static let conflict = Code(rawValue: "CONFLICT")
        /// Every component of a query is unknown.
        public static let masked = Code(rawValue: "MASKED")
        /// The store reached its size cap.
        public static let full = Code(rawValue: "FULL")
        /// The peer's role does not allow the command.
        public static let perm = Code(rawValue: "PERM")
        /// A query ran over its time budget.
        public static let timeout = Code(rawValue: "TIMEOUT")
        /// The connection limit is reached. Closes the connection.
        public static let busy = Code(rawValue: "BUSY")
        /// The daemon is stopping. Closes the connection.
        public static let shutdown = Code(rawValue: "SHUTDOWN")
        /// A bug or an I/O failure; the daemon log has the details.
        public static let `internal` = Code(rawValue: "INTERNAL")

        /// Every code this version defines, in documentation order.
        public static let all: [Code] = [
            .proto, .tooBig, .unknown, .args, .badName, .noBank, .exists, .dim, .badFloat,
            .badValue, .notFound, .conflict, .masked, .full, .perm, .timeout, .busy, .shutdown,
            .internal,
        ]

        /// Whether an error with this code normally ends the connection.
        public var closesByDefault: Bool {
            self == .proto || self == .tooBig || self == .busy || self == .shutdown
        }
    }
}

// MARK: - Quoting and sanitizing

extension WireError {
    /// The longest part of an offending value that is echoed back, in characters.
    public static let quoteLimit = 32

    /// Quotes an offending value for an error message: single quotes, control bytes and
    /// invalid UTF-8 shown as `\xNN` (CR and LF as `\r`, `\n`), cut after ``quoteLimit``
    /// characters with a trailing `…`. The result never contains a control byte.
    public static func quote(_ bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        var out = "'"
        var shown = 0
        var index = 0
        while index < bytes.count {
            if shown == quoteLimit {
                return out + "…'"
            }
            if let (scalar, length) = scalar(in: bytes, at: index) {
                out += escaped(scalar)
                index += length
            } else {
                // Each byte that does not start a well-formed sequence is shown on its own.
                out += hexEscape(UInt32(bytes[index]))
                index += 1
            }
            shown += 1
        }
        return out + "'"
    }

    /// The well-formed UTF-8 sequence starting at `index` (no overlong forms, surrogates or
    /// values past U+10FFFF) and its length, or nil.
    private static func scalar(in bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        let length: Int
        var value: UInt32
        switch lead {
        case 0..<0x80: return (Unicode.Scalar(lead), 1)
        case 0xC2...0xDF: (length, value) = (2, UInt32(lead & 0x1F))
        case 0xE0...0xEF: (length, value) = (3, UInt32(lead & 0x0F))
        case 0xF0...0xF4: (length, value) = (4, UInt32(lead & 0x07))
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for byte in bytes[(index + 1)..<(index + length)] {
            guard byte & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        let smallest: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x1_0000
        guard value >= smallest, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }

    private static func hexEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "\\x" + (hex.count < 2 ? "0" + hex : hex)
    }

    /// Quotes a string value, as the byte version does.
    public static func quote(_ text: String) -> String {
        quote(Array(text.utf8))
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar.value {
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x09: return "\\t"
        case 0x27: return "\\'"
        case 0x5C: return "\\\\"
        case 0..<0x20, 0x7F, 0x80..<0xA0, 0x2028, 0x2029:
            return hexEscape(scalar.value)
        default: return String(scalar)
        }
    }

    /// Replaces every control character (C0, DEL, C1, line and paragraph separators) by a
    /// space, so that a message can never break the reply framing.
    public static func sanitize(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            out.append(isControl(scalar) ? " " : scalar)
        }
        return String(out)
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F, 0x80..<0xA0, 0x2028, 0x2029: return true
        default: return false
        }
    }
}
