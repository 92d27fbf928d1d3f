/// A read-only view of a bank's patterns: `rows × dimension` Float32 values, row-major and
/// contiguous, kept alive by `owner`.
///
/// Thread-safety: `Sendable` because the covered rows are immutable for as long as the view
/// exists. Whoever creates a view promises that nobody writes those rows while `owner` is alive
/// (the store only ever appends past the end of its published views).
///
/// Alignment: a 64-byte aligned `base` is recommended (the owning initializer provides one) but
/// not required; the kernels use unaligned loads.
public struct PatternMatrix: @unchecked Sendable {
    /// First value of row 0.
    public let base: UnsafePointer<Float>

    /// Number of patterns.
    public let rows: Int

    /// Components per pattern.
    public let dimension: Int

    /// Keeps the memory behind `base` alive; never read by the retrieval code.
    public let owner: AnyObject

    /// An upper bound on every row's Euclidean norm, from whoever keeps the rows (see
    /// ``rowNormBound(largestSquaredNorm:)``), or nil. Batch retrieval needs one per call; with
    /// nil it computes it with one extra pass over the rows.
    public let rowNormBound: Double?

    /// Wraps memory that `owner` keeps alive. O(1), copies nothing.
    ///
    /// - Precondition: `rows ≥ 0`, `dimension ≥ 1`, and `rows × dimension` readable floats at
    ///   `base` that nobody writes while the view exists; `rowNormBound`, if given, at least
    ///   the norm of every row (a bound on more rows than these is fine). A bound that is too
    ///   small can make a batch answer differ from the single-query one.
    public init(
        base: UnsafePointer<Float>, rows: Int, dimension: Int, owner: AnyObject,
        rowNormBound: Double? = nil
    ) {
        precondition(rows >= 0 && dimension >= 1, "PatternMatrix: bad shape")
        self.base = base
        self.rows = rows
        self.dimension = dimension
        self.owner = owner
        self.rowNormBound = rowNormBound
    }

    /// ‖row‖² of `dimension` floats at `row`, as the retrieval code computes it (+∞ for a
    /// non-finite value). An owner that appends rows keeps the largest of these, and passes
    /// ``rowNormBound(largestSquaredNorm:)`` of it to the views it creates. O(dimension).
    public static func squaredNorm(ofRow row: UnsafePointer<Float>, dimension: Int) -> Double {
        EngramRetrieval.squaredNorm(row, dimension)
    }

    /// The ``rowNormBound`` for rows whose largest ``squaredNorm(ofRow:dimension:)`` is
    /// `largestSquaredNorm`, widened for the rounding of the Float32 sums.
    public static func rowNormBound(largestSquaredNorm: Double) -> Double {
        (largestSquaredNorm * 1.001).squareRoot()
    }

    /// Copies row-major `values` (`values.count / dimension` rows) into a 64-byte aligned buffer
    /// owned by the view. O(rows × dimension).
    ///
    /// - Throws: ``RetrievalError/dimension(expected:actual:)`` if `values.count` is not a
    ///   multiple of `dimension` (or `dimension < 1`), ``RetrievalError/nonFinite(row:component:)``
    ///   for a NaN or infinity.
    public init(values: [Float], dimension: Int) throws(RetrievalError) {
        guard dimension >= 1, values.count % dimension == 0 else {
            throw .dimension(expected: max(dimension, 1), actual: values.count)
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFinite(row: bad / dimension, component: bad % dimension)
        }
        let storage = AlignedFloats(count: values.count)
        values.withUnsafeBufferPointer { source in
            storage.pointer.update(from: source.baseAddress!, count: values.count)
        }
        self.init(
            base: UnsafePointer(storage.pointer), rows: values.count / dimension,
            dimension: dimension, owner: storage)
    }

    /// Row `index` as a buffer of `dimension` floats, valid while the view is alive.
    public subscript(row index: Int) -> UnsafeBufferPointer<Float> {
        precondition(index >= 0 && index < rows, "PatternMatrix: row out of range")
        return UnsafeBufferPointer(start: base + index * dimension, count: dimension)
    }

    /// The first `count` rows: the bank "as of" an earlier size. O(1), shares the owner.
    public func prefix(_ count: Int) -> PatternMatrix {
        PatternMatrix(
            base: base, rows: min(max(count, 0), rows), dimension: dimension, owner: owner,
            rowNormBound: rowNormBound)
    }

    /// Checks that every value is finite. O(rows × dimension); retrieval does not call it (a
    /// non-finite value is detected anyway when it reaches a score), the store calls it on
    /// untrusted input.
    ///
    /// - Throws: ``RetrievalError/nonFinite(row:component:)`` at the first bad value.
    public func validate() throws(RetrievalError) {
        let values = UnsafeBufferPointer(start: base, count: rows * dimension)
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFinite(row: bad / dimension, component: bad % dimension)
        }
    }
}

/// A 64-byte aligned, zero-initialized Float buffer freed when the last reference goes.
final class AlignedFloats {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

// MARK: - Per-bank normalization

/// How a bank scales its patterns and queries before scoring.
public enum Normalization: String, Sendable, Hashable, CaseIterable {
    /// Values are used as given. Patterns of very different norms can then be impossible to
    /// retrieve at any β (a brighter pattern outscores a dimmer one even on its own query).
    case none

    /// Patterns and queries are scaled to unit Euclidean norm (see ``l2Normalize(_:)``).
    case l2
}

/// `values` scaled to unit Euclidean norm (norm accumulated in Float64). A zero vector is
/// returned unchanged, since it has no direction. O(count).
public func l2Normalize(_ values: [Float]) -> [Float] {
    var copy = values
    copy.withUnsafeMutableBufferPointer { l2Normalize($0) }
    return copy
}

/// Scales `values` in place to unit Euclidean norm; a zero vector is left unchanged.
/// Non-finite inputs give non-finite outputs: validate first.
public func l2Normalize(_ values: UnsafeMutableBufferPointer<Float>) {
    var sum = 0.0
    for value in values { sum += Double(value) * Double(value) }
    guard sum > 0 else { return }
    let scale = 1 / sum.squareRoot()
    for index in values.indices { values[index] = Float(Double(values[index]) * scale) }
}
