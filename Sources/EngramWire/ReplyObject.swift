// Reading object replies: flat arrays of alternating key and value.

/// A decoded object reply: `*2n` of key (bulk string) and value, like Redis's `HGETALL`.
///
/// Typed accessors throw `PROTO` naming the key when a field is missing or of the wrong
/// shape, so a client that talks to a mismatched server fails clearly. Unknown keys are
/// kept and ignored, so a newer server may add fields.
public struct ReplyObject: Sendable, Hashable {
    /// Keys in the order received.
    public let keys: [String]
    public let fields: [String: Reply]
    /// What the object is, for error messages ("bank", "completion").
    public let kind: String

    public init(_ reply: Reply, kind: String) throws(WireError) {
        self.kind = kind
        guard case .array(let elements?) = reply, elements.count % 2 == 0 else {
            throw ReplyObject.shapeError(kind, "an even-length array", reply)
        }
        var keys: [String] = []
        var fields: [String: Reply] = [:]
        for pair in stride(from: 0, to: elements.count, by: 2) {
            guard case .bulk(let bytes?) = elements[pair] else {
                throw ReplyObject.shapeError(kind, "bulk-string keys", elements[pair])
            }
            let key = String(decoding: bytes, as: UTF8.self)
            keys.append(key)
            fields[key] = elements[pair + 1]
        }
        self.keys = keys
        self.fields = fields
    }

    public subscript(key: String) -> Reply? { fields[key] }

    private static func shapeError(_ kind: String, _ expected: String, _ got: Reply) -> WireError {
        if case .error(let code, let message) = got {
            return WireError(code: code, message: message)
        }
        return WireError(
            .proto, "malformed \(kind) reply: expected \(expected), got \(got.shapeName)",
            closesConnection: false)
    }

    private func field(_ key: String) throws(WireError) -> Reply {
        guard let value = fields[key] else {
            throw WireError(
                .proto, "\(kind) reply has no field '\(key)'", closesConnection: false)
        }
        return value
    }

    private func wrong(_ key: String, _ expected: String) -> WireError {
        WireError(
            .proto,
            "\(kind) reply field '\(key)' is not \(expected): "
                + (fields[key]?.shapeName ?? "missing"),
            closesConnection: false)
    }

    public func integer(_ key: String) throws(WireError) -> Int {
        guard case .integer(let value) = try field(key) else { throw wrong(key, "an integer") }
        return value
    }

    /// An integer field that may be the nil bulk.
    public func optionalInteger(_ key: String) throws(WireError) -> Int? {
        switch try field(key) {
        case .integer(let value): return value
        case .bulk(nil): return nil
        default: throw wrong(key, "an integer or nil")
        }
    }

    public func boolean(_ key: String) throws(WireError) -> Bool {
        try integer(key) != 0
    }

    public func string(_ key: String) throws(WireError) -> String {
        guard let value = try optionalString(key) else { throw wrong(key, "a string") }
        return value
    }

    /// A string field that may be the nil bulk.
    public func optionalString(_ key: String) throws(WireError) -> String? {
        switch try field(key) {
        case .bulk(let bytes?): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        case .bulk(nil): return nil
        default: throw wrong(key, "a string")
        }
    }

    /// A real number sent as a bulk string (``FloatText``).
    public func real(_ key: String) throws(WireError) -> Double {
        switch try field(key) {
        case .bulk(let bytes?):
            guard let value = FloatText.parseDouble(bytes) else { throw wrong(key, "a real") }
            return value
        case .integer(let value): return Double(value)
        default: throw wrong(key, "a real")
        }
    }

    /// A vector field in the format the request asked for.
    public func vector(_ key: String, format: VectorFormat) throws(WireError) -> [Float] {
        guard case .bulk(let bytes?) = try field(key) else { throw wrong(key, "a vector") }
        do {
            switch format {
            case .text: return try VectorText.decode(bytes)
            case .bin: return try VectorBinary.decode(bytes)
            }
        } catch {
            throw WireError(
                .proto, "\(kind) reply field '\(key)': \(error.message)", closesConnection: false)
        }
    }

    /// An array field.
    public func array(_ key: String) throws(WireError) -> [Reply] {
        guard case .array(let elements?) = try field(key) else { throw wrong(key, "an array") }
        return elements
    }
}

extension Reply {
    /// A short name of the value's shape, for error messages.
    public var shapeName: String {
        switch self {
        case .status: "a status"
        case .error(let code, _): "an error \(code)"
        case .integer: "an integer"
        case .bulk(nil): "nil"
        case .bulk: "a bulk string"
        case .array(nil): "a nil array"
        case .array(let elements?): "an array of \(elements.count)"
        }
    }

    /// The reply as a vector bulk string in `format`.
    public static func vector(_ values: [Float], format: VectorFormat) -> Reply {
        switch format {
        case .text: .bulk(VectorText.encode(values))
        case .bin: .bulk(VectorBinary.encode(values))
        }
    }
}
