// The writer thread: the only thread that begins and commits write transactions after open.
// Callers queue requests and block; the writer drains the queue, commits consecutive appends
// as one transaction (one sync), grows the map on MDB_MAP_FULL and wakes each caller.

import CLMDB
import Dispatch
import EngramRetrieval
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - Requests

/// Rows to append, already validated against the bank as it was when queued.
struct AppendPayload: Sendable {
    let bank: String
    let dimension: Int
    /// `count × dimension` values, row-major.
    let values: [Float]
    let count: Int
    let labels: [String?]?
    let progress: JobProgress?
    /// Commit only if the job's stored `rowsDone` equals this (0 for a new job).
    let ifRowsDone: UInt64?

    var bytes: Int { values.count * 4 }
}

enum WriteOperation: Sendable {
    case append(AppendPayload)
    case createBank(BankSpec)
    case dropBank(String)
    case setMetadata(bank: String, metadata: String)
    case putJob(JobProgress)
    case setJobState(id: String, state: JobState, message: String?)
    case deleteJob(String)
    case stop
}

enum WriteOutcome: Sendable {
    case appended(Range<UInt64>)
    case created(BankInfo)
    case dropped(Int)
    case job(JobProgress)
    case done
}

/// One queued request. The writer sets `outcome` and then signals `done`; the semaphore
/// orders the write before the caller's read.
final class WriteRequest: @unchecked Sendable {
    let operation: WriteOperation
    let done = DispatchSemaphore(value: 0)
    var outcome: Result<WriteOutcome, StoreError> = .failure(.closedError)

    init(_ operation: WriteOperation) {
        self.operation = operation
    }

    func finish(_ outcome: Result<WriteOutcome, StoreError>) {
        self.outcome = outcome
        done.signal()
    }
}

struct WriteQueue {
    var pending: [WriteRequest] = []
    var stopping = false
}

/// The most payload bytes grouped into one transaction; larger groups are split so that a
/// transaction stays well below LMDB's dirty-page limit.
let groupByteLimit = 64 << 20

// MARK: - Submitting

extension Engine {
    /// Queues a request and blocks until the writer has committed (or failed) it.
    func submit(_ operation: WriteOperation) throws -> WriteOutcome {
        let request = WriteRequest(operation)
        let accepted = queue.withLock { queue in
            guard !queue.stopping else { return false }
            queue.pending.append(request)
            return true
        }
        guard accepted else { throw StoreError.closedError }
        wake.signal()
        request.done.wait()
        return try request.outcome.get()
    }
}

// MARK: - The writer loop

extension Engine {
    /// The writer thread's body; returns after a `.stop` request has been served.
    func runWriter() {
        var lastReaderCheck = nowMicros()
        let interval = Int64(options.readerCheckInterval * 1_000_000)
        while true {
            _ = wake.wait(timeout: .now() + .milliseconds(max(Int(interval / 1000), 1)))
            if nowMicros() - lastReaderCheck >= interval {
                _ = checkReaders()
                lastReaderCheck = nowMicros()
            }
            let batch = queue.withLock { queue in
                let batch = queue.pending
                queue.pending.removeAll(keepingCapacity: true)
                return batch
            }
            if serve(batch) { return }
        }
    }

    /// Serves drained requests in order; consecutive appends share one transaction. Returns
    /// true after a stop request.
    private func serve(_ batch: [WriteRequest]) -> Bool {
        var index = 0
        while index < batch.count {
            let request = batch[index]
            if case .append(let first) = request.operation {
                var end = index + 1
                var bytes = first.bytes
                while end < batch.count, case .append(let next) = batch[end].operation,
                    bytes + next.bytes <= groupByteLimit
                {
                    bytes += next.bytes
                    end += 1
                }
                commitGroup(Array(batch[index..<end]))
                index = end
                continue
            }
            if case .stop = request.operation {
                for late in batch[(index + 1)...] { late.finish(.failure(.closedError)) }
                request.finish(.success(.done))
                return true
            }
            request.finish(Result { try serveSingle(request.operation) }.mapError(asStoreError))
            index += 1
        }
        return false
    }

    private func serveSingle(_ operation: WriteOperation) throws -> WriteOutcome {
        switch operation {
        case .createBank(let spec): return .created(try createBank(spec))
        case .dropBank(let name): return .dropped(try dropBank(name))
        case .setMetadata(let bank, let metadata):
            try setMetadata(bank: bank, metadata: metadata)
            return .done
        case .putJob(let job): return .job(try putJob(job))
        case .setJobState(let id, let state, let message):
            return .job(try setJobState(id: id, state: state, message: message))
        case .deleteJob(let id):
            try deleteJob(id)
            return .done
        case .append, .stop: preconditionFailure("EngramStore: served elsewhere")
        }
    }
}

func asStoreError(_ error: any Error) -> StoreError {
    error as? StoreError ?? StoreError(.io, "unexpected error \(error)")
}

// MARK: - Write transactions

extension Engine {
    /// Begins a write transaction, runs `body`, commits. On `MDB_MAP_FULL` the map grows
    /// (×2, up to the cap) and `body` runs again in a new transaction; at the cap this throws
    /// `full`. Any other failure aborts and throws. Writer thread only.
    func writeTransaction<T>(
        holdingRemap: Bool = false, _ body: (OpaquePointer) throws -> T
    ) throws -> T {
        while true {
            do {
                return try attemptWrite(body)
            } catch let error as StoreError where error.systemCode == MDB_MAP_FULL {
                guard try growMap(holdingRemap: holdingRemap) else { throw fullError() }
            } catch let error as StoreError where error.systemCode == MDB_MAP_RESIZED {
                if holdingRemap {
                    mdb_env_set_mapsize(env.raw, 0)
                } else {
                    env.adoptForeignMapSize()
                }
            }
        }
    }

    private func attemptWrite<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env.raw, nil, 0, &txn), "begin write transaction")
        let result: T
        do {
            result = try body(txn!)
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        // mdb_txn_commit frees the transaction whether or not it succeeds.
        try check(mdb_txn_commit(txn), "commit")
        counters.add(counters.commits)
        return result
    }

    func fullError() -> StoreError {
        StoreError(
            .full,
            "store full: map cap \(mapCap) bytes reached; raise the map cap (or drop a bank)",
            systemCode: MDB_MAP_FULL)
    }

    /// Doubles the map (by at most `maxGrowthStep`) up to the cap, under the exclusive remap
    /// lock; false at the cap. Throws if LMDB cannot remap (for example, no address space).
    func growMap(holdingRemap: Bool) throws -> Bool {
        let current = env.info.me_mapsize
        guard current < mapCap else { return false }
        let step = min(max(current, 1 << 20), options.maxGrowthStep)
        let grown = min(current + step, mapCap)
        if !holdingRemap { env.remap.lockExclusive() }
        let rc = mdb_env_set_mapsize(env.raw, grown)
        if !holdingRemap { env.remap.unlock() }
        try check(rc, "grow the map from \(current) to \(grown) bytes")
        counters.add(counters.growths)
        return true
    }

    /// Clears reader slots left by dead processes; returns how many. Any thread; 0 once
    /// the store is closed.
    func checkReaders() -> Int {
        env.remap.lockShared()
        defer { env.remap.unlock() }
        guard !env.isClosed.load(ordering: .acquiring) else { return 0 }
        var dead: Int32 = 0
        mdb_reader_check(env.raw, &dead)
        counters.add(counters.staleReaders, Int(dead))
        return Int(dead)
    }
}

// MARK: - Group commit of appends

extension Engine {
    /// Commits a group of appends in one transaction. If the transaction fails as a whole,
    /// each request is retried alone, so one request's failure never fails another.
    private func commitGroup(_ group: [WriteRequest]) {
        do {
            let (outcomes, stagings) = try writeTransaction { txn in
                try stageAppends(group, txn)
            }
            publish(stagings)
            counters.add(counters.appendBatches)
            counters.add(counters.appendRequests, group.count)
            counters.largestGroup.max(group.count, ordering: .relaxed)
            for (request, outcome) in zip(group, outcomes) {
                if case .success(let range) = outcome {
                    counters.add(counters.appendedPatterns, range.count)
                }
                request.finish(outcome.map { .appended($0) })
            }
        } catch {
            guard group.count > 1 else {
                group[0].finish(.failure(asStoreError(error)))
                return
            }
            for request in group { commitGroup([request]) }
        }
    }

    /// Puts every row of the group into `txn` and stages it in memory. Requests whose bank
    /// vanished or changed shape fail alone and put nothing.
    private func stageAppends(
        _ group: [WriteRequest], _ txn: OpaquePointer
    ) throws -> ([Result<Range<UInt64>, StoreError>], [String: (BankState, MatrixStaging)]) {
        let micros = nowMicros()
        var stagings: [String: (BankState, MatrixStaging)] = [:]
        var outcomes: [Result<Range<UInt64>, StoreError>] = []
        for request in group {
            guard case .append(let payload) = request.operation else { continue }
            let bank: BankState
            do {
                bank = try self.bank(payload.bank)
                guard bank.spec.dimension == payload.dimension else {
                    throw StoreError(
                        .dimension,
                        "bank '\(payload.bank)' was re-created with dimension "
                            + "\(bank.spec.dimension); resend with that length")
                }
                if let expected = payload.ifRowsDone, let job = payload.progress {
                    let stored = try readJob(job.id, txn)?.rowsDone ?? 0
                    guard stored == expected else {
                        throw StoreError(
                            .conflict,
                            "job '\(quoted(job.id))' has \(stored) rows committed, the batch "
                                + "expected \(expected); resume from the job's progress")
                    }
                }
            } catch let error as StoreError where error.systemCode == nil {
                outcomes.append(.failure(error))
                continue
            }
            var staging =
                stagings[payload.bank]?.1
                ?? MatrixStaging(
                    bank.published.withLock { $0.matrix },
                    normalization: bank.spec.normalization)
            let first = UInt64(staging.count + 1)
            try putRows(payload, bank: bank, first: first, micros: micros, txn, &staging)
            if var job = payload.progress {
                job.updatedMicros = micros
                try putJobRecord(job, txn)
            }
            stagings[payload.bank] = (bank, staging)
            outcomes.append(.success(first..<first + UInt64(payload.count)))
        }
        return (outcomes, stagings)
    }

    private func putRows(
        _ payload: AppendPayload, bank: BankState, first: UInt64, micros: Int64,
        _ txn: OpaquePointer, _ staging: inout MatrixStaging
    ) throws {
        let dimension = payload.dimension
        let size = PatternValue.size(dimension: dimension)
        staging.reserve(staging.count + payload.count)
        try payload.values.withUnsafeBufferPointer { values in
            for row in 0..<payload.count {
                let seq = first + UInt64(row)
                let rowValues = values.baseAddress! + row * dimension
                try withSeqKey(seq) { key in
                    var val = MDB_val(mv_size: size, mv_data: nil)
                    let flags = UInt32(MDB_APPEND | MDB_RESERVE)
                    try check(mdb_put(txn, bank.patternsDBI, &key, &val, flags), "append pattern")
                    PatternValue.write(
                        rowValues, dimension: dimension, micros: micros, to: val.mv_data!)
                }
                let label = payload.labels?[row].flatMap { $0.isEmpty ? nil : $0 }
                if let label {
                    try withSeqKey(seq) { key in
                        try withTextVal(label) { val in
                            let rc = mdb_put(txn, bank.labelsDBI, &key, &val, UInt32(MDB_APPEND))
                            try check(rc, "append label")
                        }
                    }
                }
                staging.append(rowValues, label: label)
            }
        }
    }

    /// Makes staged rows visible to readers; called only after the commit succeeded.
    private func publish(_ stagings: [String: (BankState, MatrixStaging)]) {
        for (bank, staging) in stagings.values {
            bank.published.withLock { $0.matrix = staging.publication }
        }
    }
}

// MARK: - Thread

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Starts a joinable OS thread (the writer must be one fixed thread: LMDB ties a write
/// transaction to the thread that began it).
func startThread(_ body: @escaping @Sendable () -> Void) throws -> pthread_t {
    var thread = pthread_t()
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    let rc = pthread_create(
        &thread, nil,
        { context in
            Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
    guard rc == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(context).release()
        throw StoreError(
            .io, "cannot start the writer thread; check process limits", systemCode: rc)
    }
    return thread
}
