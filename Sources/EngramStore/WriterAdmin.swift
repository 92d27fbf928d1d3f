// Writer-side bank and job operations, each in its own write transaction. Handles are
// published to (or retracted from) the bank table only after the commit succeeded.

import CLMDB
import EngramRetrieval

extension Engine {
    // MARK: - Banks

    func createBank(_ spec: BankSpec) throws -> BankInfo {
        guard banks.withLock({ $0[spec.name] }) == nil else { throw existsError(spec.name) }
        guard banks.withLock({ $0.count }) < options.maxBanks else {
            throw StoreError(
                .tooManyBanks,
                "the store holds \(options.maxBanks) banks, its maximum; drop one or "
                    + "reopen with a larger maxBanks")
        }
        let created = nowMicros()
        let record = BankRecord(spec, created: created).encoded()
        let dbis = try writeTransaction { txn -> (MDB_dbi, MDB_dbi) in
            try withTextVal(spec.name) { key in
                try withBytesVal(record) { val in
                    let rc = mdb_put(txn, banksDBI, &key, &val, UInt32(MDB_NOOVERWRITE))
                    if rc == MDB_KEYEXIST { throw existsError(spec.name) }
                    try check(rc, "create bank")
                }
            }
            let patterns = try openDatabase(txn, DatabaseName.patterns(spec.name), create: true)
            let labels = try openDatabase(txn, DatabaseName.labels(spec.name), create: true)
            return (patterns, labels)
        }
        let matrix = MatrixPublication(
            rows: RowBuffer(capacity: 64, dimension: spec.dimension), labels: nil, count: 0)
        let state = BankState(
            spec: spec, created: created, patternsDBI: dbis.0, labelsDBI: dbis.1, matrix: matrix)
        banks.withLock { $0[spec.name] = state }
        return state.info()
    }

    private func existsError(_ name: String) -> StoreError {
        StoreError(.exists, "bank '\(name)' already exists; drop it first or pick another name")
    }

    /// Deletes the bank's databases, its record and its jobs in one transaction, under the
    /// exclusive remap lock because `mdb_drop` closes the handles that readers use.
    func dropBank(_ name: String) throws -> Int {
        let bank = try self.bank(name)
        env.remap.lockExclusive()
        defer { env.remap.unlock() }
        do {
            try writeTransaction(holdingRemap: true) { txn in
                try check(mdb_drop(txn, bank.patternsDBI, 1), "drop bank patterns")
                try check(mdb_drop(txn, bank.labelsDBI, 1), "drop bank labels")
                try withTextVal(name) { key in
                    try check(mdb_del(txn, banksDBI, &key, nil), "drop bank record")
                }
                try deleteJobs(ofBank: name, txn)
            }
        } catch {
            // mdb_drop closed the handles although nothing was committed: reopen them.
            try? writeTransaction(holdingRemap: true) { txn in
                bank.patternsDBI = try openDatabase(txn, DatabaseName.patterns(name))
                bank.labelsDBI = try openDatabase(txn, DatabaseName.labels(name))
            }
            throw error
        }
        let count = bank.published.withLock { $0.matrix.count }
        banks.withLock { $0[name] = nil }
        return count
    }

    func setMetadata(bank name: String, metadata: String) throws {
        let bank = try self.bank(name)
        var spec = bank.spec
        spec.metadata = metadata
        let record = BankRecord(spec, created: bank.created).encoded()
        try writeTransaction { txn in
            try withTextVal(name) { key in
                try withBytesVal(record) { val in
                    try check(mdb_put(txn, banksDBI, &key, &val, 0), "set bank metadata")
                }
            }
        }
        bank.published.withLock { $0.metadata = metadata }
    }

    // MARK: - Jobs

    func putJobRecord(_ job: JobProgress, _ txn: OpaquePointer) throws {
        let record = JobRecord(job).encoded()
        try withTextVal(job.id) { key in
            try withBytesVal(record) { val in
                try check(mdb_put(txn, jobsDBI, &key, &val, 0), "write job progress")
            }
        }
    }

    func putJob(_ job: JobProgress) throws -> JobProgress {
        var job = job
        job.updatedMicros = nowMicros()
        try writeTransaction { txn in try putJobRecord(job, txn) }
        return job
    }

    func setJobState(id: String, state: JobState, message: String?) throws -> JobProgress {
        try writeTransaction { txn in
            guard var job = try readJob(id, txn) else { throw noJobError(id) }
            job.state = state
            if let message { job.message = message }
            job.updatedMicros = nowMicros()
            try putJobRecord(job, txn)
            return job
        }
    }

    func deleteJob(_ id: String) throws {
        try writeTransaction { txn in
            try withTextVal(id) { key in
                let rc = mdb_del(txn, jobsDBI, &key, nil)
                if rc == MDB_NOTFOUND { throw noJobError(id) }
                try check(rc, "delete job")
            }
        }
    }

    func readJob(_ id: String, _ txn: OpaquePointer) throws -> JobProgress? {
        try withTextVal(id) { key in
            guard let val = try get(txn, jobsDBI, &key) else { return nil }
            return try JobRecord.decode(bytes(of: val)).job
        }
    }

    func noJobError(_ id: String) -> StoreError {
        StoreError(.notFound, "no job with id '\(quoted(id))'; list jobs to see the ids")
    }

    func readJobs(_ txn: OpaquePointer) throws -> [JobProgress] {
        try withCursor(txn, jobsDBI) { cursor in
            var key = MDB_val()
            var val = MDB_val()
            var jobs: [JobProgress] = []
            var more = try cursorGet(cursor, &key, &val, MDB_FIRST)
            while more {
                jobs.append(try JobRecord.decode(bytes(of: val)).job)
                more = try cursorGet(cursor, &key, &val, MDB_NEXT)
            }
            return jobs
        }
    }

    /// A dropped bank's jobs go with it, so that a bank re-created under the same name does
    /// not resume from stale progress.
    private func deleteJobs(ofBank name: String, _ txn: OpaquePointer) throws {
        for job in try readJobs(txn) where job.bank == name {
            try withTextVal(job.id) { key in
                try check(mdb_del(txn, jobsDBI, &key, nil), "delete job of dropped bank")
            }
        }
    }
}

/// Opens (or creates) a named database inside `txn`.
func openDatabase(_ txn: OpaquePointer, _ name: String, create: Bool = false) throws -> MDB_dbi {
    var dbi: MDB_dbi = 0
    let rc = mdb_dbi_open(txn, name, create ? UInt32(MDB_CREATE) : 0, &dbi)
    if rc == MDB_NOTFOUND {
        throw StoreError(
            .corrupt, "database '\(name)' is missing; restore the store from a backup",
            systemCode: rc)
    }
    try check(rc, "open database \(name)")
    return dbi
}
