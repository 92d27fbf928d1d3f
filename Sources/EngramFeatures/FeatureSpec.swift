// The feature specification stored in a bank's metadata: everything needed to recompute the
// same pattern vectors later (ingest resume, forecast from recent data) and to map a
// completed pattern back to original units.

import Foundation

/// What a bank's patterns are made of: the program, how it was bound to the input, the
/// forecasting targets and the normalization. Stored as JSON in the bank metadata.
///
/// Pattern layout (`dimension` components): the `features` in order, then for each step
/// h = 1 … `horizon` the `targets` in order (component names `lead(target,h)`), encoded as
/// `targetEncoding` says.
public struct FeatureSpec: Sendable, Codable, Equatable {
    /// Format of this JSON document.
    public var format: Int = 1
    /// The program text (as in the program file).
    public var program: String
    /// The channels `*` stood for, in order.
    public var channels: [String]
    /// The column whose text labels each pattern; nil labels nothing.
    public var timeColumn: String?
    /// Columns whose future values follow the features.
    public var targets: [String]
    /// Steps ahead: 0 (no targets) or the number of future rows per target.
    public var horizon: Int
    /// How the future target values are stored. Metadata written before this field existed
    /// decodes as `.level`; `json()` omits the field for `.level`, so such a spec's text and
    /// `digest` are unchanged.
    public var targetEncoding: TargetEncoding
    /// Canonical feature names, in vector order.
    public var features: [String]
    /// z-score per component, fitted on a training prefix; nil means raw values.
    public var normalization: ZScore?

    /// Binds a program to an input's columns.
    ///
    /// - Parameters:
    ///   - header: the input's column names.
    ///   - timeColumn: a column used as the pattern label and never as a channel.
    ///   - channels: what `*` stands for; nil means every column but the time column.
    ///   - targets: columns to forecast (empty when `horizon` is 0).
    ///   - targetEncoding: how their future values are stored; see ``TargetEncoding``.
    /// - Throws: `FeatureError` `unknownChannel`, `option` (horizon/targets), or what
    ///   `FeatureProgram.features(channels:)` throws.
    public init(
        program: FeatureProgram, header: [String], timeColumn: String? = nil,
        channels: [String]? = nil, targets: [String] = [], horizon: Int = 0,
        targetEncoding: TargetEncoding = .increment
    ) throws {
        func require(_ name: String, _ role: String) throws {
            guard header.contains(name) else {
                throw FeatureError(
                    .unknownChannel,
                    "\(role) '\(name)' is not a column; columns: "
                        + header.joined(separator: ", "))
            }
        }
        if let timeColumn { try require(timeColumn, "time column") }
        let bound = channels ?? header.filter { $0 != timeColumn }
        for channel in bound { try require(channel, "channel") }
        for target in targets { try require(target, "target") }
        guard (0...10_000).contains(horizon) else {
            throw FeatureError(.option, "horizon must be 0 ... 10000, not \(horizon)")
        }
        guard (horizon == 0) == targets.isEmpty else {
            throw FeatureError(
                .option,
                "a horizon needs at least one target column and targets need a "
                    + "horizon ≥ 1")
        }
        guard Set(targets).count == targets.count, !targets.contains(where: { $0 == timeColumn })
        else {
            throw FeatureError(.option, "targets must be distinct and not the time column")
        }
        self.program = program.text
        self.channels = bound
        self.timeColumn = timeColumn
        self.targets = targets
        self.horizon = horizon
        self.targetEncoding = targetEncoding
        self.features = try program.features(channels: bound).map(\.name)
        self.normalization = nil
    }

    private enum CodingKeys: String, CodingKey {
        case format, program, channels, timeColumn, targets, horizon, targetEncoding, features
        case normalization
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try container.decode(Int.self, forKey: .format)
        program = try container.decode(String.self, forKey: .program)
        channels = try container.decode([String].self, forKey: .channels)
        timeColumn = try container.decodeIfPresent(String.self, forKey: .timeColumn)
        targets = try container.decode([String].self, forKey: .targets)
        horizon = try container.decode(Int.self, forKey: .horizon)
        targetEncoding =
            try container.decodeIfPresent(TargetEncoding.self, forKey: .targetEncoding) ?? .level
        features = try container.decode([String].self, forKey: .features)
        normalization = try container.decodeIfPresent(ZScore.self, forKey: .normalization)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(program, forKey: .program)
        try container.encode(channels, forKey: .channels)
        try container.encodeIfPresent(timeColumn, forKey: .timeColumn)
        try container.encode(targets, forKey: .targets)
        try container.encode(horizon, forKey: .horizon)
        if targetEncoding != .level {
            try container.encode(targetEncoding, forKey: .targetEncoding)
        }
        try container.encode(features, forKey: .features)
        try container.encodeIfPresent(normalization, forKey: .normalization)
    }

    /// Components per pattern.
    public var dimension: Int { features.count + horizon * targets.count }

    /// Names of all components: feature names, then `lead(target,h)`.
    public var componentNames: [String] {
        var names = features
        for step in 0..<horizon {
            for target in targets {
                names.append("lead(\(FeatureExpr.quoteIfNeeded(target)),\(step + 1))")
            }
        }
        return names
    }

    /// Re-parses the program and checks it still yields `features`.
    ///
    /// - Throws: `FeatureError` `spec` when the stored program and names disagree.
    public func compiledFeatures() throws -> [Feature] {
        let parsed = try FeatureProgram(parsing: program).features(channels: channels)
        guard parsed.map(\.name) == features else {
            throw FeatureError(.spec, "the stored program no longer yields the stored features")
        }
        return parsed
    }

    // MARK: - JSON

    /// Compact JSON with sorted keys (stable text for the same spec).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a spec written by `json()`.
    ///
    /// - Throws: `FeatureError` `spec` for malformed JSON or an unknown format.
    public init(json: String) throws {
        do {
            self = try JSONDecoder().decode(FeatureSpec.self, from: Data(json.utf8))
        } catch {
            throw FeatureError(.spec, "malformed feature specification: \(error)")
        }
        guard format == 1 else {
            throw FeatureError(.spec, "feature specification format \(format) is not supported")
        }
        if let normalization {
            guard normalization.mean.count == dimension, normalization.scale.count == dimension
            else {
                throw FeatureError(.spec, "normalization has the wrong dimension")
            }
            guard normalization.mean.allSatisfy(\.isFinite),
                normalization.scale.allSatisfy({ $0 > 0 && $0.isFinite })
            else {
                throw FeatureError(.spec, "normalization has a non-finite mean or a scale ≤ 0")
            }
        }
    }

    /// A short digest of the spec: resume points carry it so they are not applied to
    /// patterns built differently (FNV-1a 64 of `json()`).
    public var digest: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in json().utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

// MARK: - Target encoding

/// How a pattern stores the future value of a target at step h, relative to the row t whose
/// features it holds.
///
/// A series with a trend keeps moving past every level seen in training, so a blend of
/// historical futures stored as levels lies where the history was, not where the present
/// is. Stored as increments, the blend says how the series moves from wherever it stands,
/// and the forecast adds that back to the last observed value (the query's anchor).
public enum TargetEncoding: String, Sendable, Codable, Equatable, CaseIterable {
    /// y(t+h) − y(t); a row whose own target value y(t) is missing is skipped. The default.
    case increment
    /// y(t+h) as it is (the only encoding before this choice existed).
    case level
}

// MARK: - Normalization

/// Per-component z-score: (x − mean) / scale. A component whose training values are
/// constant (sample sd 0) or seen once gets scale 1, so it is centred but not blown up.
public struct ZScore: Sendable, Codable, Equatable {
    public var mean: [Double]
    public var scale: [Double]
    /// Patterns the fit used.
    public var count: Int
    /// One past the last input row any fitted value came from: the fit used no data at or
    /// after this row.
    public var rowsUsed: Int

    public init(mean: [Double], scale: [Double], count: Int, rowsUsed: Int) {
        self.mean = mean
        self.scale = scale
        self.count = count
        self.rowsUsed = rowsUsed
    }

    /// Normalizes in place.
    public func apply(_ values: inout [Double]) {
        for i in values.indices { values[i] = (values[i] - mean[i]) / scale[i] }
    }

    /// Back to original units for component `index`.
    public func invert(_ value: Double, component index: Int) -> Double {
        value * scale[index] + mean[index]
    }
}

/// Welford accumulation of per-component mean and variance.
struct ZScoreFitter {
    var count = 0
    var mean: [Double]
    var m2: [Double]
    var rowsUsed = 0

    init(dimension: Int) {
        mean = [Double](repeating: 0, count: dimension)
        m2 = [Double](repeating: 0, count: dimension)
    }

    mutating func add(_ values: [Double], lastRow: Int) {
        count += 1
        rowsUsed = max(rowsUsed, lastRow + 1)
        let n = Double(count)
        for i in values.indices {
            let delta = values[i] - mean[i]
            mean[i] += delta / n
            m2[i] += delta * (values[i] - mean[i])
        }
    }

    func result() throws -> ZScore {
        guard count > 0 else {
            throw FeatureError(
                .insufficientData,
                "no complete pattern in the training prefix; use a longer "
                    + "prefix or a program with shorter windows")
        }
        let scale = m2.map { m2 in
            let sd = count > 1 ? (m2 / Double(count - 1)).squareRoot() : 0
            return sd > 0 && sd.isFinite ? sd : 1
        }
        return ZScore(mean: mean, scale: scale, count: count, rowsUsed: rowsUsed)
    }
}

/// Which patterns a normalization is fitted on: always a prefix in time.
public enum TrainingPrefix: Sendable, Equatable, Codable {
    /// The first n patterns.
    case patterns(Int)
    /// The first fraction (0 < f ≤ 1) of all patterns (costs one extra counting pass).
    case fraction(Double)
    /// Patterns built only from the first n data rows (features and targets alike).
    case rows(Int)
}
