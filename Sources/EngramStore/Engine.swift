// The store's shared state: the environment, the database handles, the bank table and the
// counters. `Store` is the public face; the writer thread and readers share one `Engine`.

import CLMDB
import Dispatch
import Synchronization

/// One bank as the process knows it. `spec.metadata` and the matrix publication change under
/// `published`; the database handles change only under the exclusive remap lock (a failed
/// drop reopens them), and readers use them under the shared remap lock.
final class BankState: @unchecked Sendable {
    let spec: BankSpec
    let created: Int64
    var patternsDBI: MDB_dbi
    var labelsDBI: MDB_dbi
    let published: Mutex<BankPublication>

    init(
        spec: BankSpec, created: Int64, patternsDBI: MDB_dbi, labelsDBI: MDB_dbi,
        matrix: MatrixPublication
    ) {
        self.spec = spec
        self.created = created
        self.patternsDBI = patternsDBI
        self.labelsDBI = labelsDBI
        self.published = Mutex(BankPublication(matrix: matrix, metadata: spec.metadata))
    }

    func info() -> BankInfo {
        let (count, metadata) = published.withLock { ($0.matrix.count, $0.metadata) }
        var spec = self.spec
        spec.metadata = metadata
        return BankInfo(spec: spec, createdMicros: created, count: count)
    }
}

struct BankPublication: Sendable {
    var matrix: MatrixPublication
    var metadata: String
}

/// Counters for `statistics()`; relaxed atomics, read for reporting only.
final class Counters: Sendable {
    let growths = Atomic<Int>(0)
    let commits = Atomic<Int>(0)
    let appendBatches = Atomic<Int>(0)
    let appendRequests = Atomic<Int>(0)
    let appendedPatterns = Atomic<Int>(0)
    let largestGroup = Atomic<Int>(0)
    let staleReaders = Atomic<Int>(0)

    func add(_ counter: borrowing Atomic<Int>, _ amount: Int = 1) {
        counter.wrappingAdd(amount, ordering: .relaxed)
    }
}

/// Everything the store shares between callers and the writer thread.
final class Engine: Sendable {
    let env: Environment
    let directory: String
    let options: StoreOptions
    let metaDBI: MDB_dbi
    let banksDBI: MDB_dbi
    let jobsDBI: MDB_dbi
    /// Bank name → state. Only the writer thread inserts and removes, after the commit.
    let banks: Mutex<[String: BankState]>
    let counters = Counters()
    /// The map cap in force (the configured cap, or the file size if it is already larger).
    let mapCap: Int
    let queue = Mutex<WriteQueue>(WriteQueue())
    let wake = DispatchSemaphore(value: 0)

    init(
        env: Environment, directory: String, options: StoreOptions, mapCap: Int,
        dbis: (meta: MDB_dbi, banks: MDB_dbi, jobs: MDB_dbi), banks: [String: BankState]
    ) {
        self.env = env
        self.directory = directory
        self.options = options
        self.mapCap = mapCap
        self.metaDBI = dbis.meta
        self.banksDBI = dbis.banks
        self.jobsDBI = dbis.jobs
        self.banks = Mutex(banks)
    }

    func bank(_ name: String) throws -> BankState {
        guard let bank = banks.withLock({ $0[name] }) else {
            throw StoreError(
                .noBank, "no bank named '\(quoted(name))'; list banks or create it first")
        }
        return bank
    }

    /// Runs `body` in a read transaction; throws `closed` once the store is closed.
    func withRead<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        try env.withRead(body)
    }
}
