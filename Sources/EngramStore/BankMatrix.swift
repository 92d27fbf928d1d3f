// The in-memory retrieval matrix of a bank: rows copied out of LMDB into a 64-byte aligned
// buffer that only grows. Published prefixes never change, so readers take snapshots without
// blocking the writer.

public import EngramRetrieval

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - Row and label buffers

/// A fixed-capacity, 64-byte aligned buffer of `capacity × dimension` Float32 values.
/// Rows below a published count are immutable; only the writer thread writes rows at or past
/// it. A larger buffer replaces this one when it fills; snapshots keep the old one alive.
final class RowBuffer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let capacity: Int
    let dimension: Int

    /// Bytes mapped with mmap (0 for a posix_memalign allocation).
    private let mappedBytes: Int

    init(capacity: Int, dimension: Int) {
        self.capacity = capacity
        self.dimension = dimension
        let bytes = max(capacity * dimension * MemoryLayout<Float>.stride, 64)
        if bytes >= RowBuffer.hugeThreshold {
            // Page-aligned anonymous memory, with transparent huge pages where the kernel
            // allows them: loading a large bank then takes hundreds of faults, not millions.
            let length = (bytes + 4095) & ~4095
            let raw = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let raw, raw != MAP_FAILED else {
                fatalError("EngramStore: out of memory mapping \(length) bytes for a bank matrix")
            }
            _ = madvise(raw, length, MADV_HUGEPAGE)
            mappedBytes = length
            base = raw.bindMemory(to: Float.self, capacity: capacity * dimension)
            return
        }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("EngramStore: out of memory allocating \(bytes) bytes for a bank matrix")
        }
        mappedBytes = 0
        base = raw.bindMemory(to: Float.self, capacity: capacity * dimension)
    }

    static let hugeThreshold = 4 << 20

    deinit {
        if mappedBytes > 0 {
            munmap(base, mappedBytes)
        } else {
            free(base)
        }
    }

    @inline(__always)
    func row(_ index: Int) -> UnsafeMutablePointer<Float> { base + index * dimension }
}

/// Labels of rows, parallel to a `RowBuffer`, created only once a bank has a label.
/// Slots below `initialized` hold a value; the writer alone writes slots at or past the
/// published count.
final class LabelBuffer: @unchecked Sendable {
    let slots: UnsafeMutablePointer<String?>
    let capacity: Int
    /// Writer-only (and deinit): slots `0..<initialized` are initialized.
    var initialized = 0

    init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: max(capacity, 1))
    }

    deinit {
        slots.deinitialize(count: initialized)
        slots.deallocate()
    }

    /// Writer-only: sets slot `index`, which is at most `initialized`.
    func set(_ index: Int, _ label: String?) {
        precondition(index <= initialized, "EngramStore: label slots are written in order")
        if index < initialized {
            slots[index] = label
        } else {
            (slots + index).initialize(to: label)
            initialized += 1
        }
    }
}

// MARK: - Bank matrix

/// The writer's working view of one bank's matrix and what it has published to readers.
/// The published part is guarded by the bank's mutex (see `BankState`); the working part
/// belongs to the writer thread.
struct MatrixPublication: Sendable {
    var rows: RowBuffer
    var labels: LabelBuffer?
    var count: Int
    /// The largest squared norm of the `count` rows (0 for none): snapshots pass it on, so
    /// that batch retrieval need not find it with a pass over the bank.
    var largestSquaredNorm: Double = 0
}

/// Writer-side staging: rows beyond the published count, possibly in a grown buffer.
struct MatrixStaging {
    var rows: RowBuffer
    var labels: LabelBuffer?
    var count: Int
    var largestSquaredNorm: Double
    let normalization: Normalization

    init(_ publication: MatrixPublication, normalization: Normalization) {
        rows = publication.rows
        labels = publication.labels
        count = publication.count
        largestSquaredNorm = publication.largestSquaredNorm
        self.normalization = normalization
    }

    var publication: MatrixPublication {
        MatrixPublication(
            rows: rows, labels: labels, count: count, largestSquaredNorm: largestSquaredNorm)
    }

    /// Appends one row (raw values; normalized here for `l2` banks) and its label.
    mutating func append(_ values: UnsafePointer<Float>, label: String?) {
        reserve(count + 1)
        let target = rows.row(count)
        target.update(from: values, count: rows.dimension)
        if normalization == .l2 {
            l2Normalize(UnsafeMutableBufferPointer(start: target, count: rows.dimension))
        }
        largestSquaredNorm = max(
            largestSquaredNorm, PatternMatrix.squaredNorm(ofRow: target, dimension: rows.dimension))
        if label != nil && labels == nil {
            let fresh = LabelBuffer(capacity: rows.capacity)
            for index in 0..<count { fresh.set(index, nil) }
            labels = fresh
        }
        labels?.set(count, label)
        count += 1
    }

    /// Makes room for `needed` rows, doubling into a new buffer that copies the staged rows.
    mutating func reserve(_ needed: Int) {
        guard needed > rows.capacity else { return }
        let capacity = max(needed, rows.capacity * 2, 64)
        let grown = RowBuffer(capacity: capacity, dimension: rows.dimension)
        grown.base.update(from: rows.base, count: count * rows.dimension)
        rows = grown
        if let old = labels {
            let fresh = LabelBuffer(capacity: capacity)
            for index in 0..<count { fresh.set(index, old.slots[index]) }
            labels = fresh
        }
    }
}

// MARK: - Snapshot

/// A consistent prefix of a bank: the first `rows` patterns, which never change. Holding a
/// snapshot keeps its buffer alive; taking one copies no rows and never blocks the writer.
///
/// Row `i` is the pattern with sequence number `i + 1`. For an `l2` bank the rows are
/// normalized; `Store.pattern(bank:seq:)` returns the raw stored values.
public struct BankSnapshot: Sendable {
    /// The bank's description; `info.count` is the bank's count when the snapshot was taken
    /// and may exceed `rows` for an as-of snapshot.
    public let info: BankInfo
    /// Number of rows in the snapshot.
    public let rows: Int
    public let dimension: Int
    let buffer: RowBuffer
    let labels: LabelBuffer?
    /// Bounds the norm of every published row, and so of this prefix's.
    let rowNormBound: Double

    init(info: BankInfo, publication: MatrixPublication, rows: Int) {
        self.info = info
        self.rows = rows
        self.dimension = publication.rows.dimension
        self.buffer = publication.rows
        self.labels = publication.labels
        self.rowNormBound = PatternMatrix.rowNormBound(
            largestSquaredNorm: publication.largestSquaredNorm)
    }

    /// Start of the row-major `rows × dimension` Float32 matrix, 64-byte aligned; valid while
    /// `owner` (or this snapshot) is alive.
    public var base: UnsafePointer<Float> { UnsafePointer(buffer.base) }

    /// The object that keeps `base` alive (for `PatternMatrix`).
    public var owner: AnyObject { buffer }

    /// The rows as a retrieval matrix (normalized for `l2` banks) with the bank's row-norm
    /// bound; keeps the buffer alive.
    public var matrix: PatternMatrix {
        PatternMatrix(
            base: base, rows: rows, dimension: dimension, owner: buffer,
            rowNormBound: rowNormBound)
    }

    /// Row `index` (0-based), `0..<rows`.
    public func row(_ index: Int) -> UnsafeBufferPointer<Float> {
        precondition(index >= 0 && index < rows, "EngramStore: row \(index) outside 0..<\(rows)")
        return UnsafeBufferPointer(start: buffer.row(index), count: dimension)
    }

    /// The sequence number of row `index`.
    public func seq(ofRow index: Int) -> UInt64 { UInt64(index + 1) }

    /// The label of row `index`, if it has one.
    public func label(ofRow index: Int) -> String? {
        precondition(index >= 0 && index < rows, "EngramStore: row \(index) outside 0..<\(rows)")
        return labels?.slots[index]
    }
}
