// EngramStore: append-only memory banks in one LMDB environment. The only code that calls
// LMDB. `Store` is the public entry point; see the DocC catalog for the layout and rules.

import CLMDB
import EngramRetrieval
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An Engram store: one LMDB environment in a state directory, its banks, their in-memory
/// retrieval matrices and one writer thread.
///
/// Thread-safety: every method may be called from any thread. Appends and other writes block
/// the caller until the writer thread has committed them (and synced them, under the `full`
/// policy), so call them from threads of your own, not from Swift's cooperative pool; reads
/// never wait for the writer. Open a directory at most once per process.
public final class Store: Sendable {
    let engine: Engine
    private let writerThread: Mutex<pthread_t?>
    /// The descriptor holding the `flock` on `engram.lock`; closed by ``close()``.
    private let lockFD: Int32

    /// The state directory, resolved to a real path.
    public var directory: String { engine.directory }

    /// Opens (creating if needed) the store in `directory`. The environment's files are
    /// `directory/data.mdb` and `directory/lock.mdb`. A missing directory is created; a
    /// directory without `data.mdb` must be empty.
    ///
    /// Cost: reads every pattern of every bank into memory, O(total bytes).
    ///
    /// - Throws: `notAStore` for a directory holding something else (a foreign LMDB
    ///   environment, a non-LMDB file, unrelated files), `inUse` if this process or another
    ///   one already has it open (another process holds the `flock` on `engram.lock`), `corrupt`, `io`, `invalid` for bad options.
    public init(directory: String, options: StoreOptions = StoreOptions()) throws {
        try Store.validate(options)
        let real = try prepareDirectory(directory)
        let registered = openDirectories.withLock { $0.insert(real).inserted }
        guard registered else {
            throw StoreError(
                .inUse, "'\(real)' is already open in this process; share that Store instead")
        }
        do {
            lockFD = try lockDirectory(real)
        } catch {
            _ = openDirectories.withLock { $0.remove(real) }
            throw error
        }
        do {
            engine = try Store.openEngine(real, options)
        } catch {
            // A refused directory keeps only what it held before.
            if (error as? StoreError)?.code == .notAStore { unlink(real + "/" + lockFileName) }
            Glibc.close(lockFD)
            _ = openDirectories.withLock { $0.remove(real) }
            throw error
        }
        writerThread = Mutex(nil)
        let engine = self.engine
        do {
            let thread = try startThread { engine.runWriter() }
            writerThread.withLock { $0 = thread }
        } catch {
            engine.env.isClosed.store(true, ordering: .releasing)
            mdb_env_close(engine.env.raw)
            Glibc.close(lockFD)
            _ = openDirectories.withLock { $0.remove(real) }
            throw error
        }
    }

    private static func validate(_ options: StoreOptions) throws {
        guard options.initialMapSize > 0, options.mapCap >= options.initialMapSize else {
            throw StoreError(
                .invalid,
                "map cap \(options.mapCap) is below the initial map size "
                    + "\(options.initialMapSize); raise the cap")
        }
        guard (1...10_000).contains(options.maxBanks), options.maxReaders >= 8,
            options.readerCheckInterval > 0, options.maxGrowthStep >= 4096
        else {
            throw StoreError(
                .invalid,
                "maxBanks must be 1…10000, maxReaders ≥ 8, readerCheckInterval > 0, "
                    + "maxGrowthStep ≥ 4096")
        }
    }

    private static func openEngine(_ directory: String, _ options: StoreOptions) throws -> Engine {
        let (env, mapCap) = try openEnvironment(directory, options)
        do {
            let opened = try openDatabases(env)
            adviseMap(directory, populateRead)
            var banks: [String: BankState] = [:]
            try env.withRead { txn in
                for (record, spec, patterns, labels) in opened.bankStates {
                    let matrix = try loadMatrix(
                        env, txn, spec: spec, patterns: patterns, labels: labels,
                        parallelLoadValues: options.parallelLoadValues)
                    banks[spec.name] = BankState(
                        spec: spec, created: record.created, patternsDBI: patterns,
                        labelsDBI: labels, matrix: matrix)
                }
            }
            releaseMapPages(directory)
            return Engine(
                env: env, directory: directory, options: options, mapCap: mapCap,
                dbis: (opened.meta, opened.banks, opened.jobs), banks: banks)
        } catch {
            mdb_env_close(env.raw)
            throw error
        }
    }

    deinit { close() }

    /// Stops the writer after it served the queued requests, syncs and closes the
    /// environment. Later calls throw `closed`. Idempotent; blocks until readers in LMDB
    /// transactions have finished. Snapshots stay valid.
    public func close() {
        guard let thread = writerThread.withLock({ $0.take() }) else { return }
        let stop = WriteRequest(.stop)
        engine.queue.withLock { queue in
            queue.pending.append(stop)
            queue.stopping = true
        }
        engine.wake.signal()
        stop.done.wait()
        pthread_join(thread, nil)
        engine.env.remap.lockExclusive()
        engine.env.isClosed.store(true, ordering: .releasing)
        mdb_env_sync(engine.env.raw, 1)
        mdb_env_close(engine.env.raw)
        engine.env.remap.unlock()
        Glibc.close(lockFD)
        _ = openDirectories.withLock { $0.remove(engine.directory) }
    }

    /// Flushes committed data to disk (useful under the `none` sync policy).
    public func sync() throws {
        try engine.env.withOpen {
            try check(mdb_env_sync(engine.env.raw, 1), "sync")
        }
    }

    /// Clears LMDB reader slots left by dead processes and returns how many it cleared. The
    /// writer also does this every `readerCheckInterval`; call it from a watchdog tick too.
    @discardableResult
    public func checkReaders() -> Int { engine.checkReaders() }
}

// MARK: - Banks

extension Store {
    /// Creates an empty bank. Blocks until committed.
    /// - Throws: `badName`, `dimension`, `invalid` (β, α, metadata), `exists`,
    ///   `tooManyBanks`, `full`.
    @discardableResult
    public func createBank(_ spec: BankSpec) throws -> BankInfo {
        try validateSpec(spec)
        guard case .created(let info) = try engine.submit(.createBank(spec)) else {
            preconditionFailure("EngramStore: createBank outcome")
        }
        return info
    }

    /// All banks, sorted by name.
    public func listBanks() -> [BankInfo] {
        engine.banks.withLock { Array($0.values) }.map { $0.info() }.sorted {
            $0.name < $1.name
        }
    }

    /// - Throws: `noBank`.
    public func bankInfo(_ name: String) throws -> BankInfo {
        try engine.bank(name).info()
    }

    /// Deletes a bank, its patterns, labels and jobs, and returns how many patterns it held.
    /// The one destructive operation: the caller confirms. Snapshots taken before stay valid.
    /// - Throws: `noBank`, `full` (freeing pages can need a page).
    @discardableResult
    public func dropBank(_ name: String) throws -> Int {
        guard case .dropped(let count) = try engine.submit(.dropBank(name)) else {
            preconditionFailure("EngramStore: dropBank outcome")
        }
        return count
    }

    /// Replaces a bank's metadata string (at most 1 MiB).
    /// - Throws: `noBank`, `invalid`, `full`.
    public func setMetadata(bank: String, _ metadata: String) throws {
        try validateMetadata(metadata)
        _ = try engine.submit(.setMetadata(bank: bank, metadata: metadata))
    }
}

// MARK: - Appending

extension Store {
    /// Appends patterns to a bank and returns their sequence numbers. Blocks until the writer
    /// committed the batch (with the sync policy's flush): then it is durable. The batch is
    /// committed whole or not at all; `progress`, if given, is written in the same
    /// transaction.
    ///
    /// - Parameters:
    ///   - vectors: each of the bank's dimension, all components finite.
    ///   - labels: nil, or one optional label (≤ 4096 UTF-8 bytes; "" means none) per vector.
    ///   - progress: an ingestion job record for the same bank.
    ///   - ifRowsDone: with `progress`, commit only if the job's committed `rowsDone` is this
    ///     (0 for a job not yet stored), checked inside the transaction: a compare-and-set
    ///     that keeps two runs of one job from both appending the same rows.
    /// - Throws: `noBank`, `dimension`, `nonFinite`, `invalid`, `conflict`, `full`, `closed`.
    @discardableResult
    public func append(
        bank: String, vectors: [[Float]], labels: [String?]? = nil,
        progress: JobProgress? = nil, ifRowsDone: UInt64? = nil
    ) throws -> Range<UInt64> {
        let state = try engine.bank(bank)
        let dimension = state.spec.dimension
        var flat: [Float] = []
        flat.reserveCapacity(vectors.count * dimension)
        for (index, vector) in vectors.enumerated() {
            guard vector.count == dimension else {
                throw dimensionError(bank, dimension, vector.count, index)
            }
            flat.append(contentsOf: vector)
        }
        return try append(
            bank: bank, flat: flat, labels: labels, progress: progress, ifRowsDone: ifRowsDone)
    }

    /// Appends `flat.count / dimension` patterns given row-major in one array. Same contract
    /// as `append(bank:vectors:labels:progress:ifRowsDone:)`.
    @discardableResult
    public func append(
        bank: String, flat: [Float], labels: [String?]? = nil, progress: JobProgress? = nil,
        ifRowsDone: UInt64? = nil
    ) throws -> Range<UInt64> {
        let dimension = try engine.bank(bank).spec.dimension
        guard flat.count % dimension == 0 else {
            throw StoreError(
                .dimension,
                "\(flat.count) values are not a whole number of \(dimension)-component "
                    + "patterns for bank '\(bank)'")
        }
        guard flat.count <= maxAppendValues else {
            throw StoreError(
                .invalid,
                "a batch of \(flat.count * 4) bytes is over the 256 MiB limit; append smaller "
                    + "batches")
        }
        let count = flat.count / dimension
        if let index = flat.firstIndex(where: { !$0.isFinite }) {
            throw StoreError(
                .nonFinite,
                "pattern \(index / dimension + 1) of the batch has a non-finite component "
                    + "(\(flat[index])) at index \(index % dimension); send finite numbers")
        }
        if let labels {
            guard labels.count == count else {
                throw StoreError(
                    .invalid, "\(labels.count) labels for \(count) patterns; give one per pattern")
            }
            for label in labels { try validateLabel(label) }
        }
        if ifRowsDone != nil && progress == nil {
            throw StoreError(.invalid, "ifRowsDone needs a job progress record to compare with")
        }
        if let progress {
            try validateJob(progress)
            guard progress.bank == bank else {
                throw StoreError(
                    .invalid,
                    "job '\(quoted(progress.id))' is for bank '\(progress.bank)', not '\(bank)'")
            }
        }
        if count == 0 && progress == nil {
            // Nothing to commit: no transaction, no sync.
            let next = UInt64(try engine.bank(bank).info().count + 1)
            return next..<next
        }
        let payload = AppendPayload(
            bank: bank, dimension: dimension, values: flat, count: count, labels: labels,
            progress: progress, ifRowsDone: ifRowsDone)
        guard case .appended(let range) = try engine.submit(.append(payload)) else {
            preconditionFailure("EngramStore: append outcome")
        }
        return range
    }

    private func dimensionError(
        _ bank: String, _ dimension: Int, _ got: Int, _ index: Int
    )
        -> StoreError
    {
        StoreError(
            .dimension,
            "pattern \(index + 1) of the batch has \(got) components; bank '\(bank)' has "
                + "dimension \(dimension)")
    }
}

/// The most values one append may carry (256 MiB), well below LMDB's per-transaction
/// dirty-page limit.
let maxAppendValues = 64 << 20
