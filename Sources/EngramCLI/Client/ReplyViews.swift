// Typed views of the objects engramd replies with: banks, patterns, completions, jobs.

public import EngramWire

/// The fields of an object reply (a flat array of alternating key and value), by key.
///
/// Accessors are lenient about representation (a real may come as a bulk string or an
/// integer, a boolean as `:1` or `true`) and strict about presence: a missing or malformed
/// field of a required kind is an `unavailable` error, because the daemon broke the protocol.
struct ReplyFields {
    let fields: [(String, Reply)]
    let what: String

    init(_ reply: Reply, what: String) throws(CLIError) {
        guard case .array(let elements?) = reply, elements.count % 2 == 0 else {
            throw Self.malformed(what, "not an object")
        }
        var fields: [(String, Reply)] = []
        for index in stride(from: 0, to: elements.count, by: 2) {
            guard let key = elements[index].string else {
                throw Self.malformed(what, "a key is not a string")
            }
            fields.append((key, elements[index + 1]))
        }
        self.fields = fields
        self.what = what
    }

    subscript(key: String) -> Reply? {
        fields.first { $0.0 == key }?.1
    }

    func int(_ key: String) throws(CLIError) -> Int {
        guard let value = self[key].flatMap(Self.int) else {
            throw Self.malformed(what, "field '\(key)' is not an integer")
        }
        return value
    }

    func optionalInt(_ key: String) -> Int? { self[key].flatMap(Self.int) }

    func double(_ key: String) throws(CLIError) -> Double {
        guard let value = optionalDouble(key) else {
            throw Self.malformed(what, "field '\(key)' is not a number")
        }
        return value
    }

    func optionalDouble(_ key: String) -> Double? { self[key].flatMap(Self.double) }

    func string(_ key: String) -> String? {
        switch self[key] {
        case .integer(let value): String(value)
        case let reply?: reply.string
        case nil: nil
        }
    }

    func bool(_ key: String) -> Bool {
        switch self[key] {
        case .integer(let value): value != 0
        case let reply?: ["1", "true", "yes"].contains(reply.string?.lowercased() ?? "")
        case nil: false
        }
    }

    /// A vector field: a text vector in a bulk string, binary32 bytes, or an array of reals.
    func floats(_ key: String) throws(CLIError) -> [Float] {
        switch self[key] {
        case .bulk(let bytes?):
            if let values = try? VectorText.decode(bytes) { return values }
            throw Self.malformed(what, "field '\(key)' is not a vector")
        case .array(let elements?):
            var values: [Float] = []
            for element in elements {
                guard let value = Self.double(element) else {
                    throw Self.malformed(what, "field '\(key)' has a non-number")
                }
                values.append(Float(value))
            }
            return values
        default:
            throw Self.malformed(what, "field '\(key)' is missing")
        }
    }

    static func int(_ reply: Reply) -> Int? {
        switch reply {
        case .integer(let value): value
        default: reply.string.flatMap { Int($0) }
        }
    }

    static func double(_ reply: Reply) -> Double? {
        switch reply {
        case .integer(let value): Double(value)
        default: reply.string.flatMap { Double($0) }
        }
    }

    static func malformed(_ what: String, _ detail: String) -> CLIError {
        CLIError(.unavailable, "engramd sent a malformed \(what): \(detail)")
    }
}

/// A bank as `BANK.INFO` and `BANK.LIST` describe it.
struct BankView: Equatable {
    var name: String
    var dimension: Int
    var mode: String
    var alpha: Double?
    var beta: Double
    var normalize: String
    var created: Int?
    var count: Int
    var meta: String?

    init(_ reply: Reply) throws(CLIError) {
        let fields = try ReplyFields(reply, what: "bank")
        name = fields.string("name") ?? ""
        dimension = try fields.int("dim")
        mode = fields.string("mode") ?? "sparsemax"
        alpha = fields.optionalDouble("alpha")
        beta = try fields.double("beta")
        normalize = fields.string("normalize") ?? "none"
        created = fields.optionalInt("created")
        count = try fields.int("count")
        meta = fields.string("meta")
    }

    var json: JSONValue {
        .object([
            ("name", .string(name)), ("dim", .int(dimension)), ("mode", .string(mode)),
            ("alpha", alpha.map(JSONValue.double) ?? .null), ("beta", .double(beta)),
            ("normalize", .string(normalize)), ("created", created.map(JSONValue.int) ?? .null),
            ("count", .int(count)), ("meta", .optionalString(meta)),
        ])
    }
}

/// A stored pattern as `GET` returns it.
struct PatternView: Equatable {
    var seq: Int
    var pattern: [Float]
    var label: String?
    /// Milliseconds since the epoch.
    var time: Int?

    init(_ reply: Reply) throws(CLIError) {
        let fields = try ReplyFields(reply, what: "pattern")
        seq = try fields.int("seq")
        pattern = try fields.floats("pattern")
        label = fields.string("label")
        time = fields.optionalInt("time")
    }

    var json: JSONValue {
        .object([
            ("seq", .int(seq)), ("pattern", .floats(pattern)), ("label", .optionalString(label)),
            ("time", time.map(JSONValue.int) ?? .null),
        ])
    }
}

/// One supporting pattern of a completion.
struct SupportEntry: Equatable {
    var seq: Int
    var label: String?
    var weight: Double

    var json: JSONValue {
        .object([
            ("seq", .int(seq)), ("label", .optionalString(label)), ("weight", .double(weight)),
        ])
    }
}

/// A completion as `COMPLETE` returns it, support sorted by weight (descending, then seq).
struct CompletionView: Equatable {
    var pattern: [Float]
    var support: [SupportEntry]
    var energy: Double
    var steps: Int
    var converged: Bool
    var exact: Bool

    init(_ reply: Reply) throws(CLIError) {
        let fields = try ReplyFields(reply, what: "completion")
        pattern = try fields.floats("pattern")
        energy = try fields.double("energy")
        steps = try fields.int("steps")
        converged = fields.bool("converged")
        exact = fields.bool("exact")
        support = []
        if case .array(let entries?) = fields["support"] {
            for entry in entries {
                guard case .array(let parts?) = entry, parts.count == 3,
                    let seq = ReplyFields.int(parts[0]), let weight = ReplyFields.double(parts[2])
                else {
                    throw ReplyFields.malformed("completion", "a support entry is malformed")
                }
                support.append(SupportEntry(seq: seq, label: parts[1].string, weight: weight))
            }
        }
        support.sort { ($0.weight, -$0.seq) > ($1.weight, -$1.seq) }
    }

    var json: JSONValue {
        .object([
            ("pattern", .floats(pattern)), ("support", .array(support.map(\.json))),
            ("energy", .double(energy)), ("steps", .int(steps)), ("converged", .bool(converged)),
            ("exact", .bool(exact)),
        ])
    }
}

/// An ingestion job as `JOBS` and `JOB.GET` describe it.
struct JobView: Equatable {
    var id: String
    var bank: String
    var source: String
    var position: Int
    var rows: Int
    var total: Int
    var skipped: Int
    var state: String
    var message: String?
    /// Milliseconds since the epoch of the last update.
    var updated: Int?
    /// Milliseconds since the epoch when the job started, if the daemon reports it.
    var started: Int?

    init(_ reply: Reply) throws(CLIError) {
        let fields = try ReplyFields(reply, what: "job")
        id = fields.string("id") ?? ""
        bank = fields.string("bank") ?? ""
        source = fields.string("source") ?? ""
        position = fields.optionalInt("pos") ?? 0
        rows = fields.optionalInt("rows") ?? 0
        total = fields.optionalInt("total") ?? 0
        skipped = fields.optionalInt("skipped") ?? 0
        state = fields.string("state") ?? "unknown"
        message = fields.string("message").flatMap { $0.isEmpty ? nil : $0 }
        updated = fields.optionalInt("updated")
        started = fields.optionalInt("started")
    }

    var json: JSONValue {
        .object([
            ("id", .string(id)), ("bank", .string(bank)), ("source", .string(source)),
            ("pos", .int(position)), ("rows", .int(rows)), ("total", .int(total)),
            ("skipped", .int(skipped)), ("state", .string(state)),
            ("message", .optionalString(message)), ("updated", updated.map(JSONValue.int) ?? .null),
        ])
    }
}

extension Reply {
    /// A reply converted to JSON for generic objects (`STATS`, `INFO`): objects become JSON
    /// objects when their keys are strings, reals in bulk strings become numbers.
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
            if let fields = try? ReplyFields(self, what: "object"), !elements.isEmpty,
                elements.enumerated().allSatisfy({ $0.offset % 2 == 1 || $0.element.isKey })
            {
                return .object(fields.fields.map { ($0.0, $0.1.json) })
            }
            return .array(elements.map(\.json))
        }
    }

    /// Whether this element can be an object key: a bulk string that reads as a name.
    fileprivate var isKey: Bool {
        guard let text = string, let first = text.first else { return false }
        return first.isLetter && text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }
}
