// Scores ⟨ξ_μ, x⟩ for one query in one streaming pass over the bank, and the selection of the
// candidates that can get weight. The kernel is hand-written SIMD rather than sgemv: the scan
// is bound by memory reads, and sgemv reaches only part of the read ceiling here (measured in
// the retrieval benchmark).

internal import CEngramKernels

// MARK: - Dot-product kernel

/// Rows scored per block: the block's Float32 and Float64 scores stay in L1.
let scanBlockRows = 1024

/// `out[i] = ⟨row first+i, x⟩` for `i < count`, Float32 accumulation.
///
/// Two kernels, chosen by the dimension alone: short rows (d ≤ 128) are scored four at a
/// time (shared loads of `x`, four independent accumulators: the work is compute-bound
/// there); long rows one at a time in address order, because interleaving several long rows
/// measured about a third slower when streaming from memory (the hardware prefetcher follows
/// one sequential stream best). Either way a row's value depends only on that row, `x` and
/// the dimension, so results do not depend on blocking, batching into blocks, or threads.
func scoreRows(
    _ bank: PatternMatrix, first: Int, count: Int, x: UnsafePointer<Float>,
    into out: UnsafeMutablePointer<Float>
) {
    if bank.dimension <= 128 {
        scoreShortRows(bank.base + first * bank.dimension, count, bank.dimension, x, out)
    } else {
        scoreLongRows(bank.base + first * bank.dimension, count, bank.dimension, x, out)
    }
}

// Each kernel loop lives in its own never-inlined function: compiled together, the optimizer
// interleaved the two loop nests, spilled the accumulators and shuffled lanes in the hot loop.

@inline(never)
private func scoreShortRows(
    _ start: UnsafePointer<Float>, _ count: Int, _ d: Int, _ x: UnsafePointer<Float>,
    _ out: UnsafeMutablePointer<Float>
) {
    var r = start
    var row = 0
    while row + 4 <= count {
        let (s0, s1, s2, s3) = dotShort4(r, r + d, r + 2 * d, r + 3 * d, x, d)
        out[row] = s0
        out[row + 1] = s1
        out[row + 2] = s2
        out[row + 3] = s3
        r += 4 * d
        row += 4
    }
    while row < count {
        out[row] = dotShort1(r, x, d)
        r += d
        row += 1
    }
}

@inline(never)
private func scoreLongRows(
    _ start: UnsafePointer<Float>, _ count: Int, _ d: Int, _ x: UnsafePointer<Float>,
    _ out: UnsafeMutablePointer<Float>
) {
    var r = start
    for row in 0..<count {
        out[row] = dotLong(r, x, d)
        r += d
    }
}

/// Four short rows at once: the loads of `x` are shared.
@inline(__always)
private func dotShort4(
    _ r0: UnsafePointer<Float>, _ r1: UnsafePointer<Float>, _ r2: UnsafePointer<Float>,
    _ r3: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ d: Int
) -> (Float, Float, Float, Float) {
    var a0 = SIMD8<Float>()
    var a1 = SIMD8<Float>()
    var a2 = SIMD8<Float>()
    var a3 = SIMD8<Float>()
    var j = 0
    while j + 8 <= d {
        let xv = load8(x + j)
        a0 += load8(r0 + j) * xv
        a1 += load8(r1 + j) * xv
        a2 += load8(r2 + j) * xv
        a3 += load8(r3 + j) * xv
        j += 8
    }
    var t0: Float = 0
    var t1: Float = 0
    var t2: Float = 0
    var t3: Float = 0
    while j < d {
        t0 += r0[j] * x[j]
        t1 += r1[j] * x[j]
        t2 += r2[j] * x[j]
        t3 += r3[j] * x[j]
        j += 1
    }
    return (a0.sum() + t0, a1.sum() + t1, a2.sum() + t2, a3.sum() + t3)
}

/// One short row, with exactly the operation order of one lane of ``dotShort4``.
@inline(__always)
private func dotShort1(_ r: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ d: Int) -> Float {
    var a = SIMD8<Float>()
    var j = 0
    while j + 8 <= d {
        a += load8(r + j) * load8(x + j)
        j += 8
    }
    var t: Float = 0
    while j < d {
        t += r[j] * x[j]
        j += 1
    }
    return a.sum() + t
}

@inline(__always)
private func load8(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
}

/// One long row with four independent SIMD8 accumulators (32 floats per iteration); the
/// remainder (d mod 32) goes to a separate, never-inlined function so that the hot loop stays
/// a plain load-multiply-add stream.
@inline(__always)
private func dotLong(_ r: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ d: Int) -> Float {
    var a0 = SIMD8<Float>()
    var a1 = SIMD8<Float>()
    var a2 = SIMD8<Float>()
    var a3 = SIMD8<Float>()
    let main = d & ~31
    var j = 0
    while j < main {
        a0 += load8(r + j) * load8(x + j)
        a1 += load8(r + j + 8) * load8(x + j + 8)
        a2 += load8(r + j + 16) * load8(x + j + 16)
        a3 += load8(r + j + 24) * load8(x + j + 24)
        j += 32
    }
    let sum = ((a0 + a1) + (a2 + a3)).sum()
    return main == d ? sum : sum + dotRemainder(r + main, x + main, d - main)
}

/// ⟨r, x⟩ over fewer than 32 components: eight at a time, then scalar.
@inline(never)
private func dotRemainder(
    _ r: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int
)
    -> Float
{
    var a = SIMD8<Float>()
    var j = 0
    while j + 8 <= count {
        a += load8(r + j) * load8(x + j)
        j += 8
    }
    var tail: Float = 0
    while j < count {
        tail += r[j] * x[j]
        j += 1
    }
    return a.sum() + tail
}

/// An upper bound on max_μ ‖ξ_μ‖ (+∞ if a row holds a non-finite value): the bank's own bound
/// when its owner keeps one, else one pass over the rows.
func maxRowNorm(_ bank: PatternMatrix) -> Double {
    if let bound = bank.rowNormBound { return bound }
    var largest = 0.0
    for row in 0..<bank.rows {
        largest = max(largest, squaredNorm(bank.base + row * bank.dimension, bank.dimension))
    }
    return PatternMatrix.rowNormBound(largestSquaredNorm: largest)
}

/// ‖r‖² of `count` floats: squares summed in Float32 eight at a time, redone in Float64 when
/// that overflows; +∞ for a non-finite value.
func squaredNorm(_ r: UnsafePointer<Float>, _ count: Int) -> Double {
    var squares = SIMD8<Float>()
    var j = 0
    while j + 8 <= count {
        let v = UnsafeRawPointer(r + j).loadUnaligned(as: SIMD8<Float>.self)
        squares += v * v
        j += 8
    }
    var sum = Double(squares.sum())
    while j < count {
        sum += Double(r[j]) * Double(r[j])
        j += 1
    }
    if !sum.isFinite {
        sum = (0..<count).reduce(0.0) { $0 + Double(r[$1]) * Double(r[$1]) }
        guard sum.isFinite else { return .infinity }
    }
    return sum
}

/// ⟨row, x⟩ accumulated in Float64: the fallback when a Float32 score overflows, and the
/// check that tells an overflow from a non-finite stored value.
func scoreRowDouble(_ bank: PatternMatrix, row: Int, x: UnsafePointer<Float>) -> Double {
    let r = bank.base + row * bank.dimension
    var sum = 0.0
    for j in 0..<bank.dimension { sum += Double(r[j]) * Double(x[j]) }
    return sum
}

// MARK: - Candidate selection

/// The scores that can still get weight: those within `reach` (score units) of the running
/// maximum. Entries are kept in row order; stale ones are pruned as the maximum grows.
struct CandidateCollector {
    /// Loosened slightly so that rounding never drops an entry the exact filter would keep.
    let reach: Double
    /// Extra room (score units) for scores that are only approximate (the batch's sgemm sums
    /// in another order): at least twice the largest possible difference from the scan
    /// kernel's score, so the kept entries are a superset, re-scored exactly by
    /// ``exactCandidates(_:in:x:normalizer:beta:)``. 0 for exact scores.
    let slack: Double
    private(set) var top = -Double.infinity
    private(set) var rows: [Int] = []
    private(set) var scores: [Double] = []
    private var pruneAt = 4096

    init(normalizer: Normalizer, beta: Double, slack: Double = 0) {
        reach = normalizer.reach / beta * 1.001
        self.slack = slack
    }

    private func floor(below top: Double) -> Double {
        guard slack > 0, top.isFinite else { return top - reach }  // no ∞ − ∞ = NaN floor
        return top - reach - slack
    }

    /// Takes the finite scores of rows `first ..< first + block.count`.
    mutating func absorb(_ block: UnsafeBufferPointer<Double>, first: Int) {
        var blockTop = top
        for score in block where score > blockTop { blockTop = score }
        top = blockTop
        let floor = floor(below: top)
        for (offset, score) in block.enumerated() where score >= floor {
            rows.append(first + offset)
            scores.append(score)
        }
        if rows.count >= pruneAt { prune() }
    }

    /// Takes Float32 scores known to be finite in one pass, raising the running maximum as it
    /// goes. Compares in Float32 against a floor rounded down (so nothing the Float64 floor
    /// would keep is missed) and converts only the entries it keeps; once the maximum is
    /// established nearly every entry costs one compare.
    /// The entries below the floor, nearly all of them once the maximum is known, are
    /// skipped by a vectorized search for the next one that is not.
    mutating func absorb(_ block: UnsafeBufferPointer<Float>, first: Int) {
        var blockTop = Float(top)
        var floor = Float(self.floor(below: top)).nextDown
        let base = block.baseAddress!
        var index = 0
        while true {
            index += engram_first_at_least(base + index, block.count - index, floor)
            guard index < block.count else { break }
            let score = base[index]
            if score > blockTop {
                blockTop = score
                floor = Float(self.floor(below: Double(score))).nextDown
            }
            rows.append(first + index)
            scores.append(Double(score))
            index += 1
        }
        top = max(top, Double(blockTop))
        if rows.count >= pruneAt { prune() }
    }

    /// Drops entries that fell out of reach; returns the candidates (row order).
    mutating func finish() -> (rows: [Int], scores: [Double]) {
        prune()
        return (rows, scores)
    }

    private mutating func prune() {
        let floor = floor(below: top)
        var kept = 0
        for index in rows.indices where scores[index] >= floor {
            rows[kept] = rows[index]
            scores[kept] = scores[index]
            kept += 1
        }
        rows.removeLast(rows.count - kept)
        scores.removeLast(scores.count - kept)
        pruneAt = max(4096, 2 * kept)
    }
}

/// The candidates an exact scan would select, from a superset whose scores were approximate:
/// each row is re-scored with the scan's own kernel (so its score is bit for bit the one
/// ``scanCandidates(_:x:normalizer:beta:deadline:)`` computes) and the scan's filter is
/// applied again. This makes batch answers equal single answers, whatever else is in the
/// batch.
func exactCandidates(
    _ superset: (rows: [Int], scores: [Double]), in bank: PatternMatrix,
    x: UnsafePointer<Float>, normalizer: Normalizer, beta: Double
) throws(RetrievalError) -> (rows: [Int], scores: [Double]) {
    var exact: [Double] = []
    exact.reserveCapacity(superset.rows.count)
    var score: Float = 0
    for row in superset.rows {
        scoreRows(bank, first: row, count: 1, x: x, into: &score)
        if score.isFinite {
            exact.append(Double(score))
        } else {
            let wide = scoreRowDouble(bank, row: row, x: x)
            guard wide.isFinite else { throw nonFiniteError(bank, row: row) }
            exact.append(wide)
        }
    }
    var collector = CandidateCollector(normalizer: normalizer, beta: beta)
    exact.withUnsafeBufferPointer { collector.absorbSparse($0, rows: superset.rows) }
    return collector.finish()
}

extension CandidateCollector {
    /// Takes exact scores of the given rows (ascending).
    mutating func absorbSparse(_ block: UnsafeBufferPointer<Double>, rows: [Int]) {
        for (row, score) in zip(rows, block) {
            var one = score
            withUnsafePointer(to: &one) {
                absorb(UnsafeBufferPointer(start: $0, count: 1), first: row)
            }
        }
    }
}

/// Feeds Float32 scores of rows `first ..< first + count` into `collector`, recomputing in
/// Float64 any row whose Float32 score is not finite.
///
/// - Throws: ``RetrievalError/nonFinite(row:component:)`` for a row that holds a NaN or
///   infinity (the query is finite by then).
func absorbScores(
    _ floats: UnsafePointer<Float>, first: Int, count: Int, bank: PatternMatrix,
    x: UnsafePointer<Float>, doubles: UnsafeMutablePointer<Double>,
    into collector: inout CandidateCollector
) throws(RetrievalError) {
    if engram_all_finite(floats, count) == 1 {
        collector.absorb(UnsafeBufferPointer(start: floats, count: count), first: first)
        return
    }
    for i in 0..<count {
        doubles[i] = Double(floats[i])
        guard !floats[i].isFinite else { continue }
        let exact = scoreRowDouble(bank, row: first + i, x: x)
        guard exact.isFinite else { throw nonFiniteError(bank, row: first + i) }
        doubles[i] = exact
    }
    collector.absorb(UnsafeBufferPointer(start: doubles, count: count), first: first)
}

func nonFiniteError(_ bank: PatternMatrix, row: Int) -> RetrievalError {
    let values = bank[row: row]
    return .nonFinite(row: row, component: values.firstIndex { !$0.isFinite } ?? 0)
}

/// The candidates for state `x`: one streaming pass over the bank, checking `deadline` (when
/// given) before each block of ``scanBlockRows`` rows.
func scanCandidates(
    _ bank: PatternMatrix, x: UnsafePointer<Float>, normalizer: Normalizer, beta: Double,
    deadline: Deadline? = nil
) throws(RetrievalError) -> (rows: [Int], scores: [Double]) {
    var collector = CandidateCollector(normalizer: normalizer, beta: beta)
    let floats = UnsafeMutablePointer<Float>.allocate(capacity: scanBlockRows)
    let doubles = UnsafeMutablePointer<Double>.allocate(capacity: scanBlockRows)
    defer {
        floats.deallocate()
        doubles.deallocate()
    }
    var first = 0
    while first < bank.rows {
        try deadline.check()
        let count = min(scanBlockRows, bank.rows - first)
        scoreRows(bank, first: first, count: count, x: x, into: floats)
        try absorbScores(
            floats, first: first, count: count, bank: bank, x: x, doubles: doubles,
            into: &collector)
        first += count
    }
    return collector.finish()
}
