// Fitting the normalization on a training prefix, and turning the latest row of recent data
// into a query whose unknown components are the future target values.

/// A query for a forecasting bank: the features of the latest row, known; the target
/// components unknown (0 in normalized units, the training mean); and the latest targets'
/// values, which an increment-encoded completion is relative to.
public struct ForecastQuery: Sendable, Equatable {
    /// Data row of the latest row and its label.
    public var row: Int
    public var label: String?
    /// `dimension` values, normalized like the bank's patterns.
    public var values: [Double]
    /// true for the feature components, false for the future targets.
    public var known: [Bool]
    /// The latest row's value of each target, in original units and `targets` order: what
    /// an increment-encoded forecast is added to. NaN where the row has no value, which only
    /// a `.level` spec allows.
    public var anchors: [Double]
}

extension FeatureSpec {
    /// Fits the z-score on a training prefix of the patterns of `csvPath` and returns the
    /// spec with `normalization` set. Only patterns entirely inside the prefix are used.
    ///
    /// - Throws: `FeatureError` `option` (a bad prefix), `insufficientData` (no pattern in
    ///   the prefix), or what reading the file throws.
    public func fittingNormalization(
        csvPath: String, prefix: TrainingPrefix
    ) throws
        -> FeatureSpec
    {
        try fittingNormalization(prefix: prefix) { try CSVReader(path: csvPath) }
    }

    /// As `fittingNormalization(csvPath:prefix:)`, reading from fresh readers made by
    /// `open` (called twice for `.fraction`).
    public func fittingNormalization(
        prefix: TrainingPrefix, open: () throws -> CSVReader
    ) throws -> FeatureSpec {
        var limitPatterns = Int.max
        var limitRows = Int.max
        switch prefix {
        case .patterns(let n):
            guard n >= 1 else { throw FeatureError(.option, "a training prefix needs n ≥ 1") }
            limitPatterns = n
        case .rows(let n):
            guard n >= 1 else { throw FeatureError(.option, "a training prefix needs n ≥ 1") }
            limitRows = n
        case .fraction(let f):
            guard f > 0, f <= 1 else {
                throw FeatureError(.option, "a training fraction must be in (0, 1], not \(f)")
            }
            let all = PatternBuilder.countPatterns(
                try PatternBuilder(
                    reader: try open(), spec: self, normalize: false))
            limitPatterns = max(1, Int((Double(try all()) * f).rounded(.down)))
        }

        let builder = try PatternBuilder(reader: try open(), spec: self, normalize: false)
        var fitter = ZScoreFitter(dimension: dimension)
        while fitter.count < limitPatterns, let pattern = try builder.next() {
            let lastRow = pattern.row + horizon
            guard lastRow < limitRows else { break }
            fitter.add(pattern.values, lastRow: lastRow)
        }
        var spec = self
        spec.normalization = try fitter.result()
        return spec
    }

    /// The query for the last row of `csvPath` (recent data with the same columns).
    ///
    /// - Throws: `FeatureError` `insufficientData` when the last row has a missing feature
    ///   (too few rows for the windows, or a missing value inside them), plus read errors.
    public func forecastQuery(csvPath: String) throws -> ForecastQuery {
        try forecastQuery(reader: try CSVReader(path: csvPath))
    }

    /// The query for the last row read from `reader`.
    public func forecastQuery(reader: CSVReader) throws -> ForecastQuery {
        let evaluator = FeatureEvaluator(features: try compiledFeatures())
        let columns = try evaluator.inputs.map { name in
            guard let index = reader.column(named: name) else {
                throw FeatureError(
                    .unknownChannel, "channel '\(name)' is not a column of the recent data")
            }
            return index
        }
        let targetColumns = try targets.map { name in
            guard let index = reader.column(named: name) else {
                throw FeatureError(
                    .unknownChannel, "target '\(name)' is not a column of the recent data")
            }
            return index
        }
        let timeIndex = timeColumn.flatMap(reader.column(named:))
        var input = [Double](repeating: .nan, count: columns.count)
        var output = [Double](repeating: .nan, count: features.count)
        var anchors = [Double](repeating: .nan, count: targets.count)
        var last: (row: Int, line: Int, label: String?, complete: Bool)?
        while try reader.next() {
            for (i, column) in columns.enumerated() { input[i] = try reader.number(column) }
            for (j, column) in targetColumns.enumerated() { anchors[j] = try reader.number(column) }
            let complete = evaluator.evaluate(input, into: &output)
            last = (
                reader.recordPosition.row, reader.recordPosition.line,
                timeIndex.map(reader.string), complete
            )
        }
        guard let last, last.complete else {
            let missing = zip(features, output).filter { $0.1.isNaN }.map(\.0).prefix(5)
            throw FeatureError(
                .insufficientData,
                last == nil
                    ? "the recent data has no rows"
                    : "the last row has missing features (\(missing.joined(separator: ", ")) "
                        + "...); give at least \(evaluator.lookback + 1) complete rows",
                line: last?.line)
        }
        if targetEncoding == .increment, let missing = zip(targets, anchors).first(where: \.1.isNaN)
        {
            throw FeatureError(
                .insufficientData,
                "the last row has no value of target '\(missing.0)', which an increment "
                    + "forecast starts from; end the recent data at a row that has it",
                line: last.line)
        }
        var values = output + [Double](repeating: 0, count: dimension - features.count)
        if let normalization {
            for i in 0..<features.count {
                values[i] = (values[i] - normalization.mean[i]) / normalization.scale[i]
            }
        }
        let known = (0..<dimension).map { $0 < features.count }
        return ForecastQuery(
            row: last.row, label: last.label, values: values, known: known, anchors: anchors)
    }

    /// The future target values of a pattern completed from `query`, in original units:
    /// `result[h][j]` is target j at step h + 1.
    public func forecast(fromPattern pattern: [Double], query: ForecastQuery) -> [[Double]] {
        forecast(fromPattern: pattern, anchors: query.anchors)
    }

    /// The future target values of a pattern in original units: `result[h][j]` is target j
    /// at step h + 1. The target components are de-normalized, then, for `.increment`, added
    /// to `anchors` (the targets' values at the pattern's own row; ignored for `.level`).
    ///
    /// - Precondition: `pattern.count == dimension`, `anchors.count == targets.count`.
    public func forecast(fromPattern pattern: [Double], anchors: [Double]) -> [[Double]] {
        precondition(pattern.count == dimension, "pattern has the wrong dimension")
        precondition(anchors.count == targets.count, "one anchor per target")
        return (0..<horizon).map { step in
            targets.indices.map { j in
                let index = features.count + step * targets.count + j
                let value =
                    normalization?.invert(pattern[index], component: index) ?? pattern[index]
                return targetEncoding == .increment ? anchors[j] + value : value
            }
        }
    }
}

extension PatternBuilder {
    /// A closure that drains the builder and returns how many patterns it yields.
    static func countPatterns(_ builder: PatternBuilder) -> () throws -> Int {
        {
            while try builder.next() != nil {}
            return builder.counts.patterns
        }
    }
}
