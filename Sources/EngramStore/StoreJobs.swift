// Ingestion jobs: reading, writing and changing job progress records.

extension Store {
    /// - Throws: `notFound`.
    public func job(id: String) throws -> JobProgress {
        let found = try engine.withRead { txn in try engine.readJob(id, txn) }
        guard let found else { throw engine.noJobError(id) }
        return found
    }

    /// All job records, by id.
    public func jobs() throws -> [JobProgress] {
        try engine.withRead { txn in try engine.readJobs(txn) }
    }

    /// Writes a job record without patterns (for example a job that starts or is given up).
    /// - Throws: `invalid`, `full`.
    @discardableResult
    public func putJob(_ job: JobProgress) throws -> JobProgress {
        try validateJob(job)
        guard case .job(let stored) = try engine.submit(.putJob(job)) else {
            preconditionFailure("EngramStore: putJob outcome")
        }
        return stored
    }

    /// Sets a job's state (and message, if given), keeping its progress.
    /// - Throws: `notFound`, `invalid`, `full`.
    @discardableResult
    public func setJobState(
        id: String, _ state: JobState, message: String? = nil
    ) throws
        -> JobProgress
    {
        if let message, message.utf8.count > Limits.jobTextBytes {
            throw StoreError(.invalid, "job message is over 4096 bytes; shorten it")
        }
        guard
            case .job(let stored) = try engine.submit(
                .setJobState(id: id, state: state, message: message))
        else { preconditionFailure("EngramStore: setJobState outcome") }
        return stored
    }

    /// - Throws: `notFound`.
    public func deleteJob(id: String) throws {
        _ = try engine.submit(.deleteJob(id))
    }
}
