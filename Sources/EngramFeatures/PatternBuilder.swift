// Streams patterns from a CSV: features at row t, then targets at t+1 … t+H (as levels or as
// increments over row t); warm-up and incomplete rows are counted, never emitted; resumable
// at any pattern boundary.

/// One pattern: the row it describes, its label (the time column's text) and its values.
public struct Pattern: Sendable, Equatable {
    /// 0-based data row of the features.
    public var row: Int
    public var label: String?
    /// `FeatureSpec.dimension` values, normalized when the spec has a normalization.
    public var values: [Double]
}

/// What happened to the rows decided so far. Every decided row is exactly one of warm-up,
/// skipped, tail or pattern: `rows == warmUp + skippedMissing + tail + patterns`.
public struct PatternCounts: Sendable, Codable, Equatable {
    /// Rows decided.
    public var rows = 0
    /// Rows before every window is full (the first `lookback` rows).
    public var warmUp = 0
    /// Rows with a missing feature or a missing target value (with the increment encoding,
    /// also a missing target value at the row itself).
    public var skippedMissing = 0
    /// The last `horizon` rows: no complete future.
    public var tail = 0
    /// Patterns emitted.
    public var patterns = 0

    public init() {}
}

/// Where to resume a stream after the patterns emitted so far: commit this together with
/// those patterns. JSON-codable.
public struct ResumePoint: Sendable, Codable, Equatable {
    /// The first row not yet decided.
    public var nextRow: Int
    /// Where reading restarts: `settleRows` before `nextRow`, so windows are rebuilt and the
    /// resumed values equal an uninterrupted run bit for bit.
    public var restart: CSVPosition
    /// Counts up to `nextRow`.
    public var counts: PatternCounts
    /// `FeatureSpec.digest` of the spec the patterns were built with.
    public var specDigest: String
}

/// Builds patterns from a CSV stream under a `FeatureSpec`.
///
/// Not thread-safe. Work per row: parse the used columns, evaluate the features (no
/// allocation), plus one array per emitted pattern.
public final class PatternBuilder {
    public let spec: FeatureSpec
    public let evaluator: FeatureEvaluator
    /// Counts of the rows decided so far (in a resumed run, including the earlier run's).
    @exclusivity(unchecked) public private(set) var counts: PatternCounts

    private let reader: CSVReader
    private let inputColumns: [Int]
    private let targetColumns: [Int]
    private let timeColumn: Int?
    private let normalize: Bool
    private let incremental: Bool
    private let suppressBefore: Int
    private let initialRestart: CSVPosition
    // Single-threaded by contract: no dynamic exclusivity checks on the per-row state.
    @exclusivity(unchecked) private var nextRow: Int
    @exclusivity(unchecked) private var lastRead: Int

    private let featureCount: Int
    private let ringSize: Int
    @exclusivity(unchecked) private var input: [Double]
    @exclusivity(unchecked) private var featureRing: [Double]
    @exclusivity(unchecked) private var complete: [Bool]
    @exclusivity(unchecked) private var targetRing: [Double]
    @exclusivity(unchecked) private var labels: [String?]
    private let positionRingSize: Int
    @exclusivity(unchecked) private var positions: [CSVPosition]

    /// Opens `csvPath` and prepares to stream patterns.
    ///
    /// - Parameters:
    ///   - resume: continue after the patterns covered by this point (from `resumePoint`).
    ///   - normalize: apply `spec.normalization` (when present).
    /// - Throws: `FeatureError` `unknownChannel` (a needed column is missing), `spec` (the
    ///   resume point belongs to another spec), `io`, `csv`.
    public convenience init(
        csvPath: String, spec: FeatureSpec, resume: ResumePoint? = nil, normalize: Bool = true
    ) throws {
        let reader = try CSVReader(path: csvPath, from: resume?.restart)
        try self.init(reader: reader, spec: spec, resume: resume, normalize: normalize)
    }

    /// Streams from a reader positioned at the first data row, or at `resume.restart`.
    public init(
        reader: CSVReader, spec: FeatureSpec, resume: ResumePoint? = nil, normalize: Bool = true
    ) throws {
        if let resume, resume.specDigest != spec.digest {
            throw FeatureError(
                .spec,
                "the resume point was saved for different feature settings; restart "
                    + "the ingestion from the beginning")
        }
        let features = try spec.compiledFeatures()
        self.spec = spec
        self.reader = reader
        self.normalize = normalize && spec.normalization != nil
        self.incremental = spec.targetEncoding == .increment
        let start = reader.position
        self.evaluator = FeatureEvaluator(features: features, startRow: start.row)

        func column(_ name: String, _ role: String) throws -> Int {
            guard let index = reader.column(named: name) else {
                throw FeatureError(
                    .unknownChannel,
                    "\(role) '\(name)' is not a column of the input; columns: "
                        + reader.header.joined(separator: ", "))
            }
            return index
        }
        inputColumns = try evaluator.inputs.map { try column($0, "channel") }
        targetColumns = try spec.targets.map { try column($0, "target") }
        timeColumn = try spec.timeColumn.map { try column($0, "time column") }

        counts = resume?.counts ?? PatternCounts()
        suppressBefore = resume?.nextRow ?? start.row
        nextRow = suppressBefore
        initialRestart = start
        lastRead = start.row - 1

        featureCount = features.count
        ringSize = spec.horizon + 1
        input = [Double](repeating: .nan, count: inputColumns.count)
        featureRing = [Double](repeating: .nan, count: ringSize * featureCount)
        complete = [Bool](repeating: false, count: ringSize)
        targetRing = [Double](repeating: .nan, count: ringSize * max(1, targetColumns.count))
        labels = [String?](repeating: nil, count: ringSize)
        positionRingSize = evaluator.settleRows + ringSize + 1
        positions = [CSVPosition](repeating: start, count: positionRingSize)
    }

    /// Components per pattern.
    public var dimension: Int { spec.dimension }

    /// The point to resume from after the last pattern returned by `next()`.
    public var resumePoint: ResumePoint {
        let restartRow = max(initialRestart.row, nextRow - evaluator.settleRows)
        let restart =
            restartRow <= lastRead && restartRow > lastRead - positionRingSize
            ? positions[restartRow % positionRingSize] : initialRestart
        return ResumePoint(
            nextRow: nextRow, restart: restart, counts: counts, specDigest: spec.digest)
    }

    /// The next pattern, or nil at the end of the input.
    ///
    /// - Throws: `FeatureError` `csv` for a malformed row (the stream cannot continue past
    ///   it; fix the file and resume from the last committed point).
    public func next() throws -> Pattern? {
        while try reader.next() {
            let row = try readRow()
            let decided = row - spec.horizon
            guard decided >= nextRow else { continue }
            if let pattern = decide(decided) { return pattern }
        }
        while nextRow <= lastRead {
            record(nextRow) { counts in
                if nextRow < evaluator.lookback { counts.warmUp += 1 } else { counts.tail += 1 }
            }
        }
        return nil
    }

    // MARK: - Rows

    /// Parses and evaluates one row into the rings; returns its index.
    private func readRow() throws -> Int {
        let row = reader.recordPosition.row
        lastRead = row
        positions[row % positionRingSize] = reader.recordPosition
        let slot = row % ringSize
        for (i, column) in inputColumns.enumerated() { input[i] = try reader.number(column) }
        for (i, column) in targetColumns.enumerated() {
            targetRing[slot * targetColumns.count + i] = try reader.number(column)
        }
        let featureCount = self.featureCount
        complete[slot] = input.withUnsafeBufferPointer { source in
            featureRing.withUnsafeMutableBufferPointer { ring in
                let out = UnsafeMutableBufferPointer(
                    rebasing: ring[slot * featureCount..<(slot + 1) * featureCount])
                return evaluator.evaluate(source, into: out)
            }
        }
        if let timeColumn, row >= suppressBefore { labels[slot] = reader.string(timeColumn) }
        return row
    }

    /// Decides row `row` (its whole horizon is read): warm-up, skipped or a pattern.
    private func decide(_ row: Int) -> Pattern? {
        if row < evaluator.lookback {
            record(row) { $0.warmUp += 1 }
            return nil
        }
        let slot = row % ringSize
        var values: [Double] = []
        var usable = complete[slot]
        if usable {
            values.reserveCapacity(spec.dimension)
            values += featureRing[slot * featureCount..<(slot + 1) * featureCount]
            let now = slot * targetColumns.count
            for step in stride(from: 1, through: spec.horizon, by: 1) {
                let future = (row + step) % ringSize * targetColumns.count
                for i in 0..<targetColumns.count {
                    // An increment needs y(t) too: NaN − anything is NaN, so a missing
                    // anchor skips the row like a missing future value.
                    let value =
                        incremental
                        ? targetRing[future + i] - targetRing[now + i] : targetRing[future + i]
                    usable = usable && !value.isNaN
                    values.append(value)
                }
            }
        }
        guard usable else {
            record(row) { $0.skippedMissing += 1 }
            return nil
        }
        record(row) { $0.patterns += 1 }
        if normalize, let normalization = spec.normalization { normalization.apply(&values) }
        return Pattern(row: row, label: labels[slot], values: values)
    }

    private func record(_ row: Int, _ update: (inout PatternCounts) -> Void) {
        counts.rows += 1
        update(&counts)
        nextRow = row + 1
    }
}
