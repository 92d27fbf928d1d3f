// The values the store takes and returns: options, bank specifications, patterns, jobs,
// statistics. All are plain Sendable values.

public import EngramRetrieval

/// How hard a commit pushes data to the disk.
public enum SyncPolicy: String, Sendable, Hashable, CaseIterable {
    /// Data and meta page are flushed on every commit: an acknowledged append survives an
    /// OS crash or power loss (the default).
    case full
    /// One flush per commit, the meta page is not flushed: an OS crash may undo the last
    /// committed batch; the database stays intact.
    case noMetaSync
    /// No flushes (`MDB_NOSYNC`): an OS crash may lose recent batches. A process crash loses
    /// nothing. `Store.sync()` and `close()` flush.
    case none
}

/// Options fixed when a store is opened.
public struct StoreOptions: Sendable, Hashable {
    /// The map size to start with, in bytes (LMDB rounds to pages). Default 64 MiB.
    public var initialMapSize: Int
    /// The largest the map may grow to; past it appends fail with `full`. Default 64 GiB.
    public var mapCap: Int
    public var sync: SyncPolicy
    /// The most banks the store can hold (each takes two LMDB databases). Default 256.
    public var maxBanks: Int
    /// LMDB reader slots. Default 512.
    public var maxReaders: Int
    /// Seconds between the writer thread's stale-reader checks. Default 10.
    public var readerCheckInterval: Double
    /// The most one map growth adds: the map doubles, but by at most this. Default 4 GiB.
    public var maxGrowthStep: Int
    /// Banks with at least this many values load on two threads (internal: tests lower it).
    var parallelLoadValues = 16 << 20

    public init(
        initialMapSize: Int = 64 << 20, mapCap: Int = 64 << 30, sync: SyncPolicy = .full,
        maxBanks: Int = 256, maxReaders: Int = 512, readerCheckInterval: Double = 10,
        maxGrowthStep: Int = 4 << 30
    ) {
        self.maxGrowthStep = maxGrowthStep
        self.initialMapSize = initialMapSize
        self.mapCap = mapCap
        self.sync = sync
        self.maxBanks = maxBanks
        self.maxReaders = maxReaders
        self.readerCheckInterval = readerCheckInterval
    }
}

/// What a bank is made of; fixed at creation except `metadata`.
public struct BankSpec: Sendable, Hashable {
    /// 1…64 bytes of ASCII letters, digits, `.`, `_`, `-`.
    public var name: String
    /// 1…65536 components.
    public var dimension: Int
    /// The default normalizer of the bank's queries.
    public var mode: Normalizer
    /// Inverse temperature, finite and > 0.
    public var beta: Double
    public var normalization: Normalization
    /// Free-form UTF-8 text of at most 1 MiB (the ingestion feature keeps its program here).
    public var metadata: String

    public init(
        name: String, dimension: Int, mode: Normalizer = .sparsemax, beta: Double = 1,
        normalization: Normalization = .none, metadata: String = ""
    ) {
        self.name = name
        self.dimension = dimension
        self.mode = mode
        self.beta = beta
        self.normalization = normalization
        self.metadata = metadata
    }
}

/// A bank as it stands: its spec, when it was made and how many patterns it holds.
public struct BankInfo: Sendable, Hashable {
    public var spec: BankSpec
    /// Microseconds since the Unix epoch.
    public var createdMicros: Int64
    /// Number of patterns; also the last sequence number (sequence numbers are 1…count).
    public var count: Int

    public var name: String { spec.name }
    public var lastSeq: UInt64 { UInt64(count) }
}

/// One stored pattern exactly as the client gave it (never normalized).
public struct StoredPattern: Sendable, Hashable {
    public var seq: UInt64
    public var values: [Float]
    public var label: String?
    /// Microseconds since the Unix epoch at which its batch was committed.
    public var appendedMicros: Int64

    public var appendedMillis: Int64 { appendedMicros / 1000 }
}

/// The state of an ingestion job.
public enum JobState: String, Sendable, Hashable, CaseIterable {
    case running
    case done
    case failed
}

/// How far an ingestion job got. Written in the same transaction as the patterns it covers,
/// so after a crash `rowsDone` and `position` agree with what the bank holds.
public struct JobProgress: Sendable, Hashable {
    /// 1…128 bytes, no control characters.
    public var id: String
    public var bank: String
    /// Where the rows come from (a file path, for people), at most 4096 bytes.
    public var source: String
    /// Where to resume in the source (for example the next input line).
    public var position: UInt64
    /// Patterns appended so far.
    public var rowsDone: UInt64
    /// Rows expected in all, if known.
    public var total: UInt64?
    /// Input rows skipped (malformed or incomplete).
    public var skipped: UInt64
    public var state: JobState
    /// At most 4096 bytes.
    public var message: String
    /// Set by the store when the record is committed: microseconds since the Unix epoch.
    public var updatedMicros: Int64

    public init(
        id: String, bank: String, source: String = "", position: UInt64 = 0,
        rowsDone: UInt64 = 0, total: UInt64? = nil, skipped: UInt64 = 0,
        state: JobState = .running, message: String = "", updatedMicros: Int64 = 0
    ) {
        self.id = id
        self.bank = bank
        self.source = source
        self.position = position
        self.rowsDone = rowsDone
        self.total = total
        self.skipped = skipped
        self.state = state
        self.message = message
        self.updatedMicros = updatedMicros
    }
}

/// Figures for `STATS` and the benchmarks.
public struct StoreStatistics: Sendable, Hashable {
    /// Size of `data.mdb` on disk.
    public var fileBytes: Int
    /// Current LMDB map size.
    public var mapSize: Int
    public var mapCap: Int
    /// Times the writer grew the map.
    public var mapGrowths: Int
    /// Write transactions committed.
    public var commits: Int
    /// Committed transactions that carried appends (each is one sync under `full`).
    public var appendBatches: Int
    /// Append requests committed (a batch groups one or more).
    public var appendRequests: Int
    /// Patterns committed since open.
    public var appendedPatterns: Int
    /// The most append requests grouped into one transaction.
    public var largestGroup: Int
    /// Stale reader slots cleared since open.
    public var staleReadersCleared: Int
    /// Reader slots ever taken in the lock table (LMDB's high-water mark, `me_numreaders`).
    public var readers: Int
    public var pageSize: Int
    public var banks: Int
    /// Patterns in all banks.
    public var patterns: Int
    /// Bytes of the in-memory retrieval matrices in use (rows × dimension × 4).
    public var matrixBytes: Int
    public var sync: SyncPolicy
}
