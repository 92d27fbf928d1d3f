// The daemon's reply objects (from EngramWire) as the client reads and prints them.

import EngramWire

/// Decoding of reply objects with protocol violations turned into client errors.
enum Replies {
    /// A reply that does not have the shape the protocol promises: the daemon is of another
    /// version or broken, so the client cannot go on (`unavailable`).
    static func malformed(_ what: String, _ detail: String) -> CLIError {
        CLIError(
            .unavailable, "engramd sent a malformed \(what): \(detail)",
            hint: "check that engram and engramd are the same version")
    }

    static func decode<T>(_ what: String, _ body: () throws(WireError) -> T) throws(CLIError) -> T {
        do {
            return try body()
        } catch {
            throw malformed(what, error.message)
        }
    }

    static func bank(_ reply: Reply) throws(CLIError) -> BankObject {
        try decode("bank") { () throws(WireError) in try BankObject(reply: reply) }
    }

    static func pattern(_ reply: Reply) throws(CLIError) -> PatternObject {
        try decode("pattern") { () throws(WireError) in
            try PatternObject(reply: reply, format: .text)
        }
    }

    static func completion(_ reply: Reply) throws(CLIError) -> CompletionObject {
        try decode("completion") { () throws(WireError) in
            try CompletionObject(reply: reply, format: .text)
        }
    }

    static func job(_ reply: Reply) throws(CLIError) -> JobObject {
        try decode("job") { () throws(WireError) in try JobObject(reply: reply) }
    }

    /// The elements of an array reply.
    static func array(_ reply: Reply, of what: String) throws(CLIError) -> [Reply] {
        guard case .array(let elements?) = reply else {
            throw malformed(what, "expected an array, got \(reply.shapeName)")
        }
        return elements
    }

    /// An integer reply.
    static func integer(_ reply: Reply, _ what: String) throws(CLIError) -> Int {
        guard case .integer(let value) = reply else {
            throw malformed(what, "expected an integer, got \(reply.shapeName)")
        }
        return value
    }
}

// MARK: - JSON forms (the keys are part of the CLI's interface)

extension BankObject {
    var json: JSONValue {
        .object([
            ("name", .string(name)), ("dim", .int(dimension)), ("mode", .string(mode.name)),
            ("alpha", mode.name == "entmax" ? .double(mode.alpha) : .null),
            ("beta", .double(beta)), ("normalize", .string(normalize.rawValue)),
            ("created", .int(created)), ("count", .int(count)), ("meta", .string(meta)),
        ])
    }

    /// `entmax(1.5)` for entmax banks, the bare mode otherwise.
    var modeText: String {
        mode.name == "entmax" ? "entmax(\(NumberFormat.human(mode.alpha)))" : mode.name
    }
}

extension PatternObject {
    var json: JSONValue {
        .object([
            ("seq", .int(seq)), ("pattern", .floats(pattern)), ("label", .optionalString(label)),
            ("time", .int(time)),
        ])
    }
}

extension CompletionObject.Support {
    var json: JSONValue {
        .object([
            ("seq", .int(seq)), ("label", .optionalString(label)), ("weight", .double(weight)),
        ])
    }
}

extension CompletionObject {
    /// The support by weight descending, then sequence number (the daemon's order, enforced).
    var sortedSupport: [CompletionObject.Support] {
        support.sorted { ($0.weight, -$0.seq) > ($1.weight, -$1.seq) }
    }

    var json: JSONValue {
        .object([
            ("pattern", .floats(pattern)), ("support", .array(sortedSupport.map(\.json))),
            ("energy", .double(energy)), ("steps", .int(steps)), ("converged", .bool(converged)),
            ("exact", .bool(exact)), ("as_of", .int(asOf)),
        ])
    }
}

extension JobObject {
    var json: JSONValue {
        .object([
            ("id", .string(id)), ("bank", .string(bank)), ("source", .string(source)),
            ("pos", .int(position)), ("rows", .int(rows)),
            ("total", total.map(JSONValue.int) ?? .null), ("skipped", .int(skipped)),
            ("state", .string(state.rawValue)), ("message", .string(message)),
            ("updated", .int(updated)),
        ])
    }
}

extension Reply {
    /// A reply converted to JSON for generic objects (`STATS`, `INFO`): flat key-value arrays
    /// become JSON objects, reals in bulk strings become numbers.
    var json: JSONValue {
        switch self {
        case .status(let text): return .string(text)
        case .error(let code, let message): return .string("\(code) \(message)")
        case .integer(let value): return .int(value)
        case .bulk(nil), .array(nil): return .null
        case .bulk(let bytes?):
            let text = String(decoding: bytes, as: UTF8.self)
            if FloatText.isDecimal(bytes), let value = Double(text) { return .double(value) }
            return .string(text)
        case .array(let elements?):
            if let object = try? ReplyObject(self, kind: "object"), !elements.isEmpty,
                object.keys.allSatisfy(\.isFieldName)
            {
                return .object(object.keys.map { ($0, object[$0]?.json ?? .null) })
            }
            return .array(elements.map(\.json))
        }
    }
}

extension String {
    /// Whether this reads as an object key: a letter, then letters, digits and `_`.
    fileprivate var isFieldName: Bool {
        guard let first, first.isLetter else { return false }
        return allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }
}
