// Reading a store: snapshots of the in-memory matrices, and stored patterns from LMDB.

import CLMDB

extension Store {
    /// A consistent prefix of a bank for retrieval: the first `asOf` patterns (all committed
    /// patterns if nil). O(1); copies nothing; never waits for the writer.
    /// - Throws: `noBank`, `notFound` if `asOf` is past the last sequence number.
    public func snapshot(bank: String, asOf: UInt64? = nil) throws -> BankSnapshot {
        let state = try engine.bank(bank)
        let (matrix, metadata) = state.published.withLock { ($0.matrix, $0.metadata) }
        let rows = asOf.map { Int(clamping: $0) } ?? matrix.count
        guard rows <= matrix.count else {
            throw StoreError(
                .notFound,
                "as-of \(rows) is past bank '\(bank)''s last sequence number \(matrix.count)")
        }
        var spec = state.spec
        spec.metadata = metadata
        let info = BankInfo(spec: spec, createdMicros: state.created, count: matrix.count)
        return BankSnapshot(info: info, publication: matrix, rows: rows)
    }

    /// The stored pattern `seq` (raw values as appended), read from LMDB.
    /// - Throws: `noBank`, `notFound`.
    public func pattern(bank: String, seq: UInt64) throws -> StoredPattern {
        _ = try engine.bank(bank)
        let found =
            seq == 0 || seq == .max ? nil : try patterns(bank: bank, range: seq..<seq + 1).first
        guard let found else {
            throw StoreError(
                .notFound,
                "bank '\(bank)' has no pattern \(seq); sequence numbers run from 1 to its count")
        }
        return found
    }

    /// Stored patterns whose sequence numbers fall in `range`, in order (clamped to the
    /// bank's contents). O(patterns returned); one short read transaction.
    /// - Throws: `noBank`.
    public func patterns(bank: String, range: Range<UInt64>) throws -> [StoredPattern] {
        try engine.withRead { txn in
            let state = try engine.bank(bank)
            return try readPatterns(txn, state, range)
        }
    }

    private func readPatterns(
        _ txn: OpaquePointer, _ state: BankState, _ range: Range<UInt64>
    ) throws -> [StoredPattern] {
        let dimension = state.spec.dimension
        let lower = max(range.lowerBound, 1)
        guard lower < range.upperBound else { return [] }
        return try withCursor(txn, state.patternsDBI) { cursor in
            var found: [StoredPattern] = []
            var val = MDB_val()
            var more = try withSeqKey(lower) { key in
                try cursorGet(cursor, &key, &val, MDB_SET_RANGE)
            }
            var key = MDB_val()
            while more {
                _ = try cursorGet(cursor, &key, &val, MDB_GET_CURRENT)
                guard let seq = seqKey(key), seq < range.upperBound else { break }
                guard val.mv_size == PatternValue.size(dimension: dimension) else {
                    throw StoreError(.corrupt, "pattern \(seq) is damaged; restore a backup")
                }
                let values = [Float](unsafeUninitializedCapacity: dimension) { buffer, count in
                    UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(
                        from: val.mv_data!, byteCount: dimension * 4)
                    count = dimension
                }
                let label = try withSeqKey(seq) { labelKey in
                    try get(txn, state.labelsDBI, &labelKey).map(text(of:))
                }
                found.append(
                    StoredPattern(
                        seq: seq, values: values, label: label,
                        appendedMicros: PatternValue.micros(val.mv_data!, dimension: dimension)))
                more = try cursorGet(cursor, &key, &val, MDB_NEXT)
            }
            return found
        }
    }
}
