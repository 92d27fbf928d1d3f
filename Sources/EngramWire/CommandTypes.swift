// The value types that commands carry: roles, retrieval modes, vector formats, and the
// structured payloads of the larger commands.

/// The normalizer of the retrieval dynamics (SPEC §2): sparsemax (default), softmax (the
/// dense modern Hopfield model), or α-entmax with α ∈ (1, 2].
public enum RetrievalMode: Sendable, Hashable, CustomStringConvertible {
    case sparsemax
    case softmax
    case entmax(alpha: Double)

    /// The α used when `MODE entmax` is given without `ALPHA`.
    public static let defaultAlpha = 1.5

    /// The wire name: `sparsemax`, `softmax` or `entmax`.
    public var name: String {
        switch self {
        case .sparsemax: "sparsemax"
        case .softmax: "softmax"
        case .entmax: "entmax"
        }
    }

    /// The α of the entmax family this mode equals: 2 for sparsemax, 1 for softmax.
    public var alpha: Double {
        switch self {
        case .sparsemax: 2
        case .softmax: 1
        case .entmax(let alpha): alpha
        }
    }

    public var description: String {
        if case .entmax(let alpha) = self { return "entmax(α=\(FloatText.format(alpha)))" }
        return name
    }

    /// The mode of a name and optional α, as the `MODE` and `ALPHA` options give them.
    ///
    /// - Throws: `BADVALUE` for an unknown name, an α outside (1, 2], or an α with a mode
    ///   other than entmax.
    public init(name: String, alpha: Double?) throws(WireError) {
        switch name.lowercased() {
        case "sparsemax" where alpha == nil: self = .sparsemax
        case "softmax" where alpha == nil: self = .softmax
        case "entmax":
            let alpha = alpha ?? RetrievalMode.defaultAlpha
            try RetrievalMode.check(alpha: alpha)
            self = .entmax(alpha: alpha)
        case "sparsemax", "softmax":
            throw WireError(
                .badValue, "ALPHA applies only to MODE entmax, not \(name.lowercased())")
        default:
            throw WireError(
                .badValue, "unknown mode \(WireError.quote(name)); use sparsemax, softmax or entmax"
            )
        }
    }

    static func check(alpha: Double) throws(WireError) {
        guard alpha > 1, alpha <= 2 else {
            throw WireError(
                .badValue,
                "ALPHA \(FloatText.format(alpha)) is outside (1, 2]; 1.5 is the usual choice")
        }
    }
}

/// Per-bank normalization of stored patterns and queries.
public enum VectorNormalization: String, Sendable, Hashable, CaseIterable {
    /// Patterns are used as stored (the default).
    case none
    /// Patterns and queries are scaled to unit Euclidean length before retrieval.
    case l2
}

/// How a vector travels: decimal text or little-endian binary32 bytes.
public enum VectorFormat: String, Sendable, Hashable, CaseIterable {
    /// `0.5,1,-2.25` (``VectorText``); the default.
    case text
    /// Little-endian IEEE-754 binary32 in one bulk string (``VectorBinary``).
    case bin
}

/// A query: values, and which components are known. Unknown components carry 0.
public struct QueryVector: Sendable, Hashable {
    public var values: [Float]
    /// `nil` when every component is known; otherwise one flag per component.
    public var known: [Bool]?

    public init(values: [Float], known: [Bool]? = nil) {
        self.values = values
        self.known = known
        if let known {
            for index in values.indices where index < known.count && !known[index] {
                self.values[index] = 0
            }
        }
    }
}

// MARK: - Command payloads

/// `BANK.CREATE`: a new bank's name, dimension and retrieval defaults.
public struct BankCreate: Sendable, Hashable {
    public var name: String
    public var dimension: Int
    public var mode: RetrievalMode
    public var beta: Double
    public var normalize: VectorNormalization
    public var meta: String

    /// The β of a bank created without `BETA`.
    public static let defaultBeta = 1.0
    /// The largest dimension a bank may have.
    public static let maxDimension = 65536

    public init(
        name: String, dimension: Int, mode: RetrievalMode = .sparsemax,
        beta: Double = BankCreate.defaultBeta, normalize: VectorNormalization = .none,
        meta: String = ""
    ) {
        self.name = name
        self.dimension = dimension
        self.mode = mode
        self.beta = beta
        self.normalize = normalize
        self.meta = meta
    }
}

/// `STORE`: one pattern and an optional label.
public struct StoreRequest: Sendable, Hashable {
    public var bank: String
    public var vector: [Float]
    /// How the vector travels in the request.
    public var encoding: VectorFormat
    public var label: String?

    public init(bank: String, vector: [Float], encoding: VectorFormat = .text, label: String? = nil)
    {
        self.bank = bank
        self.vector = vector
        self.encoding = encoding
        self.label = label
    }
}

/// The ingestion progress an `MSTORE` commits together with its patterns, so that a resumed
/// ingestion restarts exactly after the last committed batch.
public struct IngestProgress: Sendable, Hashable {
    /// The job's id (`[A-Za-z0-9._-]{1,64}`).
    public var id: String
    /// Where the rows come from (a file path), for people.
    public var source: String
    /// Input position after this batch (e.g. the number of CSV data rows consumed).
    public var position: Int
    /// Patterns stored by the job so far, this batch included.
    public var rows: Int
    /// Total input rows if known.
    public var total: Int?
    /// Input rows skipped so far (warm-up rows, missing values).
    public var skipped: Int
    /// The job's committed row count this batch expects to follow (`IFROWS`; 0 for a new
    /// job), or nil to commit unconditionally. When set, the server commits the batch only
    /// if the job's stored `rows` equals it, else answers `CONFLICT` and writes nothing.
    public var ifRows: Int?

    public init(
        id: String, source: String = "", position: Int, rows: Int, total: Int? = nil,
        skipped: Int = 0, ifRows: Int? = nil
    ) {
        self.id = id
        self.source = source
        self.position = position
        self.rows = rows
        self.total = total
        self.skipped = skipped
        self.ifRows = ifRows
    }
}

/// `MSTORE`: many patterns in one transaction, optionally with labels and job progress.
public struct MStoreRequest: Sendable, Hashable {
    public var bank: String
    public var vectors: [[Float]]
    /// How the vectors travel: one argument each as text, or one concatenated bulk.
    public var encoding: VectorFormat
    /// One label per vector, or `nil`.
    public var labels: [String]?
    public var progress: IngestProgress?

    public init(
        bank: String, vectors: [[Float]], encoding: VectorFormat = .text,
        labels: [String]? = nil, progress: IngestProgress? = nil
    ) {
        self.bank = bank
        self.vectors = vectors
        self.encoding = encoding
        self.labels = labels
        self.progress = progress
    }
}

/// `GET`: one stored pattern by sequence number.
public struct GetRequest: Sendable, Hashable {
    public var bank: String
    public var seq: Int
    /// The format of the pattern in the reply.
    public var format: VectorFormat

    public init(bank: String, seq: Int, format: VectorFormat = .text) {
        self.bank = bank
        self.seq = seq
        self.format = format
    }
}

/// Per-query overrides of the bank's retrieval settings. `nil` means the bank's default
/// (mode, β) or the server's (steps 1, tolerance 1e-4, all of the support, the latest
/// sequence number).
public struct CompletionOptions: Sendable, Hashable {
    public var mode: RetrievalMode?
    /// β > 0.
    public var beta: Double?
    /// 1 ... ``CompletionOptions/maxSteps``.
    public var steps: Int?
    /// ≥ 0.
    public var tolerance: Double?
    /// Support entries reported, ≥ 1.
    public var top: Int?
    /// Answer over the first `asOf` patterns, ≥ 0.
    public var asOf: Int?
    /// The format of the completed pattern in the reply.
    public var format: VectorFormat

    /// The largest `STEPS` accepted.
    public static let maxSteps = 10_000

    public init(
        mode: RetrievalMode? = nil, beta: Double? = nil, steps: Int? = nil,
        tolerance: Double? = nil, top: Int? = nil, asOf: Int? = nil, format: VectorFormat = .text
    ) {
        self.mode = mode
        self.beta = beta
        self.steps = steps
        self.tolerance = tolerance
        self.top = top
        self.asOf = asOf
        self.format = format
    }
}

/// `COMPLETE` (one query) and `MCOMPLETE` (a batch).
public struct CompleteRequest: Sendable, Hashable {
    public var bank: String
    public var queries: [QueryVector]
    /// How the queries travel. With `bin`, one `MASK` applies to every query, so queries
    /// whose known-masks differ are sent as text by ``Command/arguments``.
    public var encoding: VectorFormat
    public var options: CompletionOptions

    public init(
        bank: String, queries: [QueryVector], encoding: VectorFormat = .text,
        options: CompletionOptions = CompletionOptions()
    ) {
        self.bank = bank
        self.queries = queries
        self.encoding = encoding
        self.options = options
    }
}

/// `JOB.SET`: a job's final or current state.
public struct JobSetRequest: Sendable, Hashable {
    public var id: String
    public var state: JobObject.State
    public var message: String?

    public init(id: String, state: JobObject.State, message: String? = nil) {
        self.id = id
        self.state = state
        self.message = message
    }
}
