// The command grammar shared by the server (which parses requests) and the CLI (which
// builds them): one case per protocol command, validated syntactically.

/// A parsed, syntactically valid request.
///
/// ``parse(_:)`` turns an argument list into a command, checking everything that does not
/// need the store: verbs and option names (case-insensitive), argument counts, bank-name
/// syntax, vectors (finite decimal or binary32), and option ranges (β > 0, α ∈ (1, 2],
/// steps ≥ 1, tol ≥ 0, top ≥ 1, as-of ≥ 0). What needs the store (the bank exists, the
/// dimension matches) is the server's to check. ``arguments`` is the inverse: it encodes a
/// command as the argument list that parses back to it.
public enum Command: Sendable, Hashable {
    case ping(message: [UInt8]?)
    case info
    case bankCreate(BankCreate)
    case bankList
    case bankInfo(bank: String)
    case bankDrop(bank: String)
    case store(StoreRequest)
    case mstore(MStoreRequest)
    case get(GetRequest)
    case complete(CompleteRequest)
    case mcomplete(CompleteRequest)
    case jobs
    case jobGet(id: String)
    case jobSet(JobSetRequest)
    case backup(path: String)
    case stats
    case quit

    /// The command's verb.
    public var verb: Verb {
        switch self {
        case .ping: .ping
        case .info: .info
        case .bankCreate: .bankCreate
        case .bankList: .bankList
        case .bankInfo: .bankInfo
        case .bankDrop: .bankDrop
        case .store: .store
        case .mstore: .mstore
        case .get: .get
        case .complete: .complete
        case .mcomplete: .mcomplete
        case .jobs: .jobs
        case .jobGet: .jobGet
        case .jobSet: .jobSet
        case .backup: .backup
        case .stats: .stats
        case .quit: .quit
        }
    }

    /// The least role allowed to run the command.
    public var requiredRole: Role { verb.requiredRole }
}

// MARK: - Verbs

extension Command {
    /// A command name, its role and its usage line.
    public enum Verb: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case ping = "PING"
        case info = "INFO"
        case bankCreate = "BANK.CREATE"
        case bankList = "BANK.LIST"
        case bankInfo = "BANK.INFO"
        case bankDrop = "BANK.DROP"
        case store = "STORE"
        case mstore = "MSTORE"
        case get = "GET"
        case complete = "COMPLETE"
        case mcomplete = "MCOMPLETE"
        case jobs = "JOBS"
        case jobGet = "JOB.GET"
        case jobSet = "JOB.SET"
        case backup = "BACKUP"
        case stats = "STATS"
        case quit = "QUIT"

        /// The verb of a request's first argument, compared case-insensitively.
        public init?(_ bytes: [UInt8]) {
            // No allocation: this runs for every request.
            for (verb, name) in Verb.names where name.count == bytes.count {
                var index = 0
                while index < name.count {
                    let byte = bytes[index]
                    guard (byte &- 97 < 26 ? byte &- 32 : byte) == name[index] else { break }
                    index += 1
                }
                if index == name.count {
                    self = verb
                    return
                }
            }
            return nil
        }

        private static let names = Verb.allCases.map { ($0, Array($0.rawValue.utf8)) }

        public var description: String { rawValue }

        /// The least role allowed to run it.
        public var requiredRole: Role {
            switch self {
            case .bankCreate, .bankDrop, .backup: .admin
            case .store, .mstore, .jobSet: .write
            default: .read
            }
        }

        /// The usage line quoted in `ARGS` errors.
        public var usage: String {
            switch self {
            case .ping: "PING [message]"
            case .info: "INFO"
            case .bankCreate:
                "BANK.CREATE name DIM d [MODE sparsemax|softmax|entmax] [ALPHA a] [BETA b] "
                    + "[NORMALIZE none|l2] [META text]"
            case .bankList: "BANK.LIST"
            case .bankInfo: "BANK.INFO name"
            case .bankDrop: "BANK.DROP name CONFIRM"
            case .store: "STORE bank vector|BIN bytes [LABEL text]"
            case .mstore:
                "MSTORE bank n v1 ... vn|BIN bytes [LABELS l1 ... ln] "
                    + "[JOB id POS p ROWS r [TOTAL t] [SKIPPED k] [SOURCE s] [IFROWS n]]"
            case .get: "GET bank seq [FORMAT text|bin]"
            case .complete:
                "COMPLETE bank vector|BIN bytes [MASK bits] " + Verb.completionOptions
            case .mcomplete:
                "MCOMPLETE bank n v1 ... vn|BIN bytes [MASK bits] " + Verb.completionOptions
            case .jobs: "JOBS"
            case .jobGet: "JOB.GET id"
            case .jobSet: "JOB.SET id running|done|failed [MESSAGE text]"
            case .backup: "BACKUP path"
            case .stats: "STATS"
            case .quit: "QUIT"
            }
        }

        private static let completionOptions =
            "[MODE m] [ALPHA a] [BETA b] [STEPS n] [TOL t] [TOP k] [ASOF s] [FORMAT text|bin]"
    }
}

extension Command {
    /// What a peer may do. Raw values match the server's roles (read 1,
    /// write 2, admin 3). Roles are ordered: `admin` may do everything `write` may, and
    /// `write` everything `read` may.
    public enum Role: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
        /// Queries: PING, INFO, BANK.LIST, BANK.INFO, GET, COMPLETE, MCOMPLETE, JOBS, JOB.GET,
        /// STATS, QUIT.
        case read = 1
        /// Appends: STORE, MSTORE, JOB.SET.
        case write = 2
        /// Destructive and operator commands: BANK.CREATE, BANK.DROP, BACKUP.
        case admin = 3

        public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }

        public var description: String {
            switch self {
            case .read: "read"
            case .write: "write"
            case .admin: "admin"
            }
        }
    }
}

// MARK: - Parsing

extension Command {
    /// Parses and validates a request's arguments (verb first).
    ///
    /// - Throws: `UNKNOWN` for an unknown verb; `ARGS` for wrong counts, unknown or repeated
    ///   options, invalid UTF-8 in text; `BADNAME` for a bank name or job id outside
    ///   `[A-Za-z0-9._-]{1,64}`; `BADFLOAT` for a bad vector; `BADVALUE` for an option value
    ///   out of range. None of these closes the connection.
    public static func parse(_ arguments: Arguments) throws(WireError) -> Command {
        guard let first = arguments.first else {
            throw WireError(.args, "empty request")
        }
        guard let verb = Verb(first) else {
            throw WireError(
                .unknown,
                "unknown command \(WireError.quote(first)); commands: "
                    + Verb.allCases.map(\.rawValue).joined(separator: " "))
        }
        var cursor = ArgumentCursor(verb: verb, arguments: arguments)
        let command = try parse(verb, &cursor)
        try cursor.finish()
        return command
    }

    private static func parse(
        _ verb: Verb, _ cursor: inout ArgumentCursor
    ) throws(WireError) -> Command {
        switch verb {
        case .ping: return .ping(message: cursor.next())
        case .info: return .info
        case .bankCreate: return .bankCreate(try parseBankCreate(&cursor))
        case .bankList: return .bankList
        case .bankInfo: return .bankInfo(bank: try cursor.bankName())
        case .bankDrop:
            let bank = try cursor.bankName()
            guard let confirm = cursor.next(), isKeyword(confirm, "CONFIRM") else {
                throw WireError(
                    .args,
                    "BANK.DROP deletes every pattern of \(WireError.quote(bank)); "
                        + "repeat it as BANK.DROP \(bank) CONFIRM")
            }
            return .bankDrop(bank: bank)
        case .store: return .store(try parseStore(&cursor))
        case .mstore: return .mstore(try parseMStore(&cursor))
        case .get:
            let bank = try cursor.bankName()
            let seq = try cursor.integer("sequence number", minimum: 0)
            var format = VectorFormat.text
            try cursor.options(["FORMAT"]) { name, cursor throws(WireError) in
                format = try cursor.format()
            }
            return .get(GetRequest(bank: bank, seq: seq, format: format))
        case .complete: return .complete(try parseComplete(&cursor, batch: false))
        case .mcomplete: return .mcomplete(try parseComplete(&cursor, batch: true))
        case .jobs: return .jobs
        case .jobGet: return .jobGet(id: try cursor.name("job id"))
        case .jobSet: return .jobSet(try parseJobSet(&cursor))
        case .backup: return .backup(path: try cursor.text("path", maxBytes: 4096))
        case .stats: return .stats
        case .quit: return .quit
        }
    }

    private static func parseBankCreate(
        _ cursor: inout ArgumentCursor
    ) throws(WireError) -> BankCreate {
        let name = try cursor.bankName()
        var spec = BankCreate(name: name, dimension: 0)
        var modeName: String?
        var alpha: Double?
        var sawDimension = false
        try cursor.options(["DIM", "MODE", "ALPHA", "BETA", "NORMALIZE", "META"]) {
            option, cursor throws(WireError) in
            switch option {
            case "DIM":
                spec.dimension = try cursor.integer(
                    "DIM", minimum: 1, maximum: BankCreate.maxDimension)
                sawDimension = true
            case "MODE": modeName = try cursor.text("MODE", maxBytes: 16)
            case "ALPHA": alpha = try cursor.real("ALPHA")
            case "BETA": spec.beta = try cursor.positiveReal("BETA")
            case "NORMALIZE": spec.normalize = try cursor.normalization()
            default: spec.meta = try cursor.text("META", maxBytes: 65536)
            }
        }
        guard sawDimension else {
            throw WireError(.args, "BANK.CREATE needs DIM d; usage: \(Verb.bankCreate.usage)")
        }
        spec.mode = try mode(name: modeName, alpha: alpha) ?? .sparsemax
        return spec
    }

    /// The mode of `MODE` and `ALPHA` options: `ALPHA` alone means entmax.
    private static func mode(
        name: String?, alpha: Double?
    ) throws(WireError) -> RetrievalMode? {
        guard name != nil || alpha != nil else { return nil }
        return try RetrievalMode(name: name ?? "entmax", alpha: alpha)
    }

    private static func parseStore(
        _ cursor: inout ArgumentCursor
    ) throws(WireError) -> StoreRequest {
        let bank = try cursor.bankName()
        let vector = try cursor.required("vector")
        var request = StoreRequest(bank: bank, vector: [])
        if isKeyword(vector, "BIN") {
            request.encoding = .bin
            request.vector = try VectorBinary.decode(try cursor.required("bytes after BIN"))
        } else {
            request.vector = try VectorText.decode(vector)
        }
        try cursor.options(["LABEL"]) { _, cursor throws(WireError) in
            request.label = try cursor.text("LABEL", maxBytes: Command.maxLabelBytes)
        }
        return request
    }

    /// The longest label accepted, in UTF-8 bytes.
    public static let maxLabelBytes = 4096

    private static func parseMStore(
        _ cursor: inout ArgumentCursor
    ) throws(WireError) -> MStoreRequest {
        let bank = try cursor.bankName()
        var request: MStoreRequest
        switch try parseBatch(&cursor, text: VectorText.decode) {
        case .text(let vectors):
            request = MStoreRequest(bank: bank, vectors: vectors)
        case .binary(let count, let bytes):
            request = MStoreRequest(
                bank: bank, vectors: try VectorBinary.decode(bytes, rows: count), encoding: .bin)
        }
        var job: String?
        var source: String?
        var position: Int?
        var rows: Int?
        var total: Int?
        var skipped: Int?
        var ifRows: Int?
        let options = ["LABELS", "JOB", "SOURCE", "POS", "ROWS", "TOTAL", "SKIPPED", "IFROWS"]
        try cursor.options(options) { option, cursor throws(WireError) in
            switch option {
            case "LABELS":
                var labels: [String] = []
                for _ in request.vectors.indices {
                    labels.append(try cursor.text("label", maxBytes: Command.maxLabelBytes))
                }
                request.labels = labels
            case "JOB": job = try cursor.name("job id")
            case "SOURCE": source = try cursor.text("SOURCE", maxBytes: 4096)
            case "POS": position = try cursor.integer("POS", minimum: 0)
            case "ROWS": rows = try cursor.integer("ROWS", minimum: 0)
            case "TOTAL": total = try cursor.integer("TOTAL", minimum: 0)
            case "SKIPPED": skipped = try cursor.integer("SKIPPED", minimum: 0)
            default: ifRows = try cursor.integer("IFROWS", minimum: 0)
            }
        }
        if let job {
            guard let position, let rows else {
                throw WireError(.args, "MSTORE JOB needs POS p and ROWS r")
            }
            request.progress = IngestProgress(
                id: job, source: source ?? "", position: position, rows: rows, total: total,
                skipped: skipped ?? 0, ifRows: ifRows)
        } else if source != nil || position != nil || rows != nil || total != nil
            || skipped != nil || ifRows != nil
        {
            throw WireError(.args, "SOURCE, POS, ROWS, TOTAL, SKIPPED and IFROWS need JOB id")
        }
        return request
    }

    /// The vectors of a batch command: `n v1 ... vn`, or `n BIN bytes`.
    private enum Batch<Vector> {
        case text([Vector])
        case binary(count: Int, bytes: [UInt8])
    }

    private static func parseBatch<Vector>(
        _ cursor: inout ArgumentCursor,
        text decode: ([UInt8]) throws(WireError) -> Vector
    ) throws(WireError) -> Batch<Vector> {
        let count = try cursor.integer("vector count", minimum: 1)
        let first = try cursor.required("vectors")
        if isKeyword(first, "BIN") {
            return .binary(count: count, bytes: try cursor.required("bytes after BIN"))
        }
        guard cursor.remaining >= count - 1 else {
            throw WireError(
                .args,
                "\(cursor.verb) announced \(count) vectors but only \(cursor.remaining + 1) "
                    + "arguments follow; usage: \(cursor.verb.usage)")
        }
        var vectors = [try decode(first)]
        vectors.reserveCapacity(count)
        for _ in 1..<count {
            vectors.append(try decode(cursor.next()!))
        }
        return .text(vectors)
    }

    private static func parseComplete(
        _ cursor: inout ArgumentCursor, batch: Bool
    ) throws(WireError) -> CompleteRequest {
        let bank = try cursor.bankName()
        let input: Batch<QueryVector>
        let query = { (bytes: [UInt8]) throws(WireError) -> QueryVector in
            let (values, known) = try VectorText.decodeQuery(bytes)
            return QueryVector(values: values, known: known)
        }
        if batch {
            input = try parseBatch(&cursor, text: query)
        } else {
            let vector = try cursor.required("vector")
            if isKeyword(vector, "BIN") {
                input = .binary(count: 1, bytes: try cursor.required("bytes after BIN"))
            } else {
                input = .text([try query(vector)])
            }
        }
        var options = CompletionOptions()
        var modeName: String?
        var alpha: Double?
        var mask: [Bool]?
        try cursor.options(
            ["MASK", "MODE", "ALPHA", "BETA", "STEPS", "TOL", "TOP", "ASOF", "FORMAT"]
        ) { option, cursor throws(WireError) in
            switch option {
            case "MASK": mask = try cursor.mask()
            case "MODE": modeName = try cursor.text("MODE", maxBytes: 16)
            case "ALPHA": alpha = try cursor.real("ALPHA")
            case "BETA": options.beta = try cursor.positiveReal("BETA")
            case "STEPS":
                options.steps = try cursor.integer(
                    "STEPS", minimum: 1, maximum: CompletionOptions.maxSteps)
            case "TOL":
                let tolerance = try cursor.real("TOL")
                guard tolerance >= 0 else {
                    throw WireError(
                        .badValue, "TOL must be ≥ 0, got \(FloatText.format(tolerance))")
                }
                options.tolerance = tolerance
            case "TOP": options.top = try cursor.integer("TOP", minimum: 1)
            case "ASOF": options.asOf = try cursor.integer("ASOF", minimum: 0)
            default: options.format = try cursor.format()
            }
        }
        options.mode = try mode(name: modeName, alpha: alpha)
        let request: CompleteRequest
        switch input {
        case .text(let queries):
            guard mask == nil else {
                throw WireError(
                    .args, "MASK applies to BIN vectors; in text vectors write ? for unknowns")
            }
            request = CompleteRequest(bank: bank, queries: queries, options: options)
        case .binary(let count, let bytes):
            // Values at unknown components may be anything (NaN included); they come back 0.
            let rows = try VectorBinary.decode(bytes, rows: count, known: mask)
            request = CompleteRequest(
                bank: bank, queries: rows.map { QueryVector(values: $0, known: mask) },
                encoding: .bin, options: options)
        }
        if let index = request.queries.firstIndex(where: { $0.known?.contains(true) == false }) {
            throw WireError(
                .masked,
                (batch ? "query \(index + 1) has " : "the query has ")
                    + "no known component; give at least one value")
        }
        return request
    }

    private static func parseJobSet(
        _ cursor: inout ArgumentCursor
    ) throws(WireError) -> JobSetRequest {
        let id = try cursor.name("job id")
        let word = try cursor.required("state")
        guard let state = JobObject.State(rawValue: upper(word).lowercased()) else {
            throw WireError(
                .badValue,
                "unknown job state \(WireError.quote(word)); use running, done or failed")
        }
        var request = JobSetRequest(id: id, state: state)
        try cursor.options(["MESSAGE"]) { _, cursor throws(WireError) in
            request.message = try cursor.text("MESSAGE", maxBytes: 4096)
        }
        return request
    }

    /// ASCII upper case of a token, as a String.
    static func upper(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.map { $0 &- 97 < 26 ? $0 - 32 : $0 }, as: UTF8.self)
    }

    /// Whether `bytes` spell `word` (upper-case ASCII) in any case. Allocates nothing, and
    /// stops at the length: an argument that may be a keyword or a whole vector is tested
    /// with it.
    public static func isKeyword(_ bytes: [UInt8], _ word: StaticString) -> Bool {
        guard bytes.count == word.utf8CodeUnitCount else { return false }
        let letters = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for (byte, letter) in zip(bytes, letters) {
            guard (byte &- 97 < 26 ? byte - 32 : byte) == letter else { return false }
        }
        return true
    }
}
