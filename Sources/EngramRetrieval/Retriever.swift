// Hopfield retrieval: scores → weights → update, repeated, with masking, energies and flags.

internal import CBLAS
internal import CEngramKernels

/// Answers queries over a ``PatternMatrix``. Stateless: every method is safe to call from any
/// number of threads at once. A single query runs on the calling thread; parallelism across
/// queries is the caller's business. Answers are deterministic: they do not depend on the
/// number of threads (OpenBLAS is pinned to one thread, see
/// ``completeBatch(_:in:parameters:deadline:)``).
public enum Retriever {
    /// Completes one query.
    ///
    /// Step t computes scores s = Ξᵀx_{t−1} over every row, weights p_t =
    /// normalizer(β·s), and x_t = Σ p_t,μ ξ_μ on unknown components (known ones keep the
    /// query's values). It stops after `steps` steps, or earlier when max |p_t − p_{t−1}| ≤
    /// tolerance.
    ///
    /// Complexity: per step one streaming pass over the bank (rows × dimension reads), plus
    /// work on the candidates near the top score and O(support × dimension) for the update.
    ///
    /// With a `deadline`, the call checks it before every step and before every block of
    /// 1024 rows of each pass (one clock read per block), so it stops within about one
    /// block's work (plus one step's update) of the deadline. Without one
    /// (nil, the default) nothing is checked and the call runs to its end. A deadline never
    /// changes an answer: a call that finishes returns exactly what it returns without one.
    ///
    /// - Throws: ``RetrievalError`` for invalid parameters, a query of the wrong dimension, a
    ///   NaN or infinity in the query's known values or in a bank row it reaches, a mask that
    ///   hides everything, or an empty bank. Nothing is computed then.
    ///   ``RetrievalError/deadline`` when `deadline` passed before the answer was complete
    ///   (a deadline already passed is reported after the checks above, before any pass over
    ///   the bank); nothing partial is returned.
    public static func complete(
        _ query: Query, in bank: PatternMatrix, parameters: RetrievalParameters,
        deadline: Deadline? = nil
    ) throws(RetrievalError) -> Completion {
        try parameters.validate()
        guard bank.rows > 0 else { throw .emptyBank }
        let prepared = try PreparedQuery(query, dimension: bank.dimension, parameters: parameters)
        return try iterate(
            prepared, in: bank, parameters: parameters, first: nil, deadline: deadline)
    }

    /// Completes many queries; the first step's scores of all of them come from one matrix
    /// product over blocks of rows, so that the score matrix never exceeds a few megabytes
    /// (batches of more than 256 queries take one pass over the bank per 256): our
    /// small-batch kernel up to ``smallBatchLimit`` queries, which reads the bank in place,
    /// cblas_sgemm above, whose packing of the bank then pays off. Later steps run per query
    /// as in ``complete(_:in:parameters:deadline:)``. The bank's ``PatternMatrix/rowNormBound``
    /// is used when it has one; otherwise each call finds it with one more pass.
    ///
    /// OpenBLAS is set to one thread the first time this is called. The product only selects
    /// candidates (its last bits may differ from the scan's); they are re-scored with the
    /// single-query kernel, so every answer is bit for bit that of
    /// ``complete(_:in:parameters:deadline:)``, whatever else is in the batch.
    ///
    /// One `deadline` covers the whole batch. It is checked before every block of
    /// 4096 rows of the first step's pass, and then as
    /// ``complete(_:in:parameters:deadline:)`` checks it, for each query in turn. Callers
    /// that combine requests with different deadlines pass the latest one and check the
    /// earlier ones themselves.
    ///
    /// - Throws: the errors of ``complete(_:in:parameters:deadline:)``; a bad query is
    ///   reported as ``RetrievalError/query(index:underlying:)`` and no query is answered.
    ///   ``RetrievalError/deadline`` (not wrapped: it concerns the batch) when `deadline`
    ///   passed before every answer was complete; then no query is answered.
    public static func completeBatch(
        _ queries: [Query], in bank: PatternMatrix, parameters: RetrievalParameters,
        deadline: Deadline? = nil
    ) throws(RetrievalError) -> [Completion] {
        var answers: [Completion] = []
        answers.reserveCapacity(queries.count)
        var failure: RetrievalError?
        try completeBatch(
            queries, in: bank, parameters: parameters,
            deadlines: Array(repeating: deadline, count: queries.count)
        ) { _, result in
            switch result {
            case .success(let answer): answers.append(answer)
            case .failure(let error): failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return answers
    }

    /// ``completeBatch(_:in:parameters:deadline:)`` with a deadline per query, handing each
    /// answer over as soon as it is done: `answer(index, result)` is called once per query, in
    /// index order, on the calling thread. The shared first pass respects the latest deadline
    /// (none if a query has none); each query's own steps respect its own deadline, so a query
    /// whose deadline passed is answered `.failure(.deadline)` without holding back the
    /// others, and a query with many steps does not delay the answers before it.
    ///
    /// - Throws: only what fails the whole batch, before any answer: invalid parameters, an
    ///   empty bank, a bad query (``RetrievalError/query(index:underlying:)``), or
    ///   ``RetrievalError/deadline`` when even the latest deadline passed in the shared pass.
    /// - Precondition: `deadlines.count == queries.count`.
    public static func completeBatch(
        _ queries: [Query], in bank: PatternMatrix, parameters: RetrievalParameters,
        deadlines: [Deadline?], answer: (Int, Result<Completion, RetrievalError>) -> Void
    ) throws(RetrievalError) {
        precondition(deadlines.count == queries.count, "Retriever: one deadline per query")
        try parameters.validate()
        guard bank.rows > 0 else { throw .emptyBank }
        var prepared: [PreparedQuery] = []
        prepared.reserveCapacity(queries.count)
        for (index, query) in queries.enumerated() {
            do {
                prepared.append(
                    try PreparedQuery(query, dimension: bank.dimension, parameters: parameters))
            } catch {
                throw .query(index: index, underlying: error)
            }
        }
        let shared = deadlines.contains(where: { $0 == nil }) ? nil : deadlines.map { $0! }.max()
        let firstCandidates = try batchCandidates(
            prepared, in: bank, parameters: parameters, deadline: shared)
        for (index, query) in prepared.enumerated() {
            let result: Result<Completion, RetrievalError>
            do {
                result = .success(
                    try iterate(
                        query, in: bank, parameters: parameters, first: firstCandidates[index],
                        deadline: deadlines[index]))
            } catch {
                result = .failure(error)
            }
            answer(index, result)
        }
    }

    /// Raw scores ⟨ξ_μ, x⟩ of `state` against every row, with the same kernel (and so the same
    /// Float32 values) as the first step of ``complete(_:in:parameters:deadline:)``. One bank
    /// pass.
    ///
    /// - Throws: ``RetrievalError/dimension(expected:actual:)``,
    ///   ``RetrievalError/nonFinite(row:component:)`` for a non-finite state value.
    public static func scores(
        of state: [Float], in bank: PatternMatrix
    ) throws(RetrievalError)
        -> [Float]
    {
        guard state.count == bank.dimension else {
            throw .dimension(expected: bank.dimension, actual: state.count)
        }
        if let bad = state.firstIndex(where: { !$0.isFinite }) {
            throw .nonFinite(row: nil, component: bad)
        }
        return [Float](unsafeUninitializedCapacity: bank.rows) { buffer, count in
            state.withUnsafeBufferPointer { x in
                scoreRows(
                    bank, first: 0, count: bank.rows, x: x.baseAddress!,
                    into: buffer.baseAddress!)
            }
            count = bank.rows
        }
    }

    /// The energy E(x) of an arbitrary state x: −(1/β) Ψ*(β Ξᵀx) + ½‖x‖², with Ψ* = log-sum-exp
    /// for softmax and the conjugate of the Gini / Tsallis entropy for sparsemax / entmax.
    /// Costs one pass over the bank. The reported ``Completion/energy`` is an upper bound of it
    /// for the returned state, equal at a fixed point.
    public static func energy(
        of state: [Float], in bank: PatternMatrix, parameters: RetrievalParameters
    ) throws(RetrievalError) -> Double {
        try parameters.validate()
        guard bank.rows > 0 else { throw .emptyBank }
        let prepared = try PreparedQuery(
            Query(values: state), dimension: bank.dimension, parameters: parameters)
        let candidates = try prepared.x.withUnsafeBufferPointer { x throws(RetrievalError) in
            try scanCandidates(
                bank, x: x.baseAddress!, normalizer: parameters.normalizer,
                beta: parameters.beta)
        }
        let weights = Weights(candidates, parameters: parameters, conjugate: true)
        let squaredNorm = prepared.x.reduce(0.0) { $0 + Double($1) * Double($1) }
        return -weights.top - weights.conjugate / parameters.beta + 0.5 * squaredNorm
    }
}

// MARK: - Query preparation

/// A validated query: unknown components zeroed, normalization applied.
struct PreparedQuery {
    var x: [Float]
    var known: [Bool]?

    init(
        _ query: Query, dimension: Int, parameters: RetrievalParameters
    )
        throws(RetrievalError)
    {
        guard query.values.count == dimension else {
            throw .dimension(expected: dimension, actual: query.values.count)
        }
        if let known = query.known {
            guard known.count == dimension else {
                throw .dimension(expected: dimension, actual: known.count)
            }
            guard known.contains(true) else { throw .allMasked }
        }
        var x = query.values
        for index in x.indices {
            if let known = query.known, !known[index] {
                x[index] = 0
            } else if !x[index].isFinite {
                throw .nonFinite(row: nil, component: index)
            }
        }
        if parameters.normalization == .l2 { x = l2Normalize(x) }
        self.x = x
        self.known = query.known
    }
}

// MARK: - Weights

/// One step's weights: positive entries only, in row order, with what the energy needs.
struct Weights {
    var rows: [Int] = []
    var values: [Double] = []

    /// Highest raw score max_μ ⟨ξ_μ, x⟩ of the step.
    var top = 0.0

    /// Ψ(p), and Ψ*(u) of the max-shifted scaled scores u = β(s − top) when asked for (only
    /// the exact energy needs it).
    var regularizer = 0.0
    var conjugate = 0.0

    init(
        _ candidates: (rows: [Int], scores: [Double]), parameters: RetrievalParameters,
        conjugate wanted: Bool = false
    ) {
        let beta = parameters.beta
        let normalizer = parameters.normalizer
        top = candidates.scores.max() ?? 0
        let shifted = candidates.scores.map { beta * ($0 - top) }
        let all = normalizer.separate(shifted)
        for (row, weight) in zip(candidates.rows, all) where weight > 0 {
            rows.append(row)
            values.append(weight)
        }
        regularizer = normalizer.regularizer(values)
        if wanted { conjugate = normalizer.conjugate(shifted, weights: all) }
    }

    /// max_μ |self_μ − other_μ| over the union of both supports (both in row order).
    func maxDifference(_ other: Weights) -> Double {
        var (i, j, worst) = (0, 0, 0.0)
        while i < rows.count || j < other.rows.count {
            if j == other.rows.count || (i < rows.count && rows[i] < other.rows[j]) {
                worst = max(worst, values[i])
                i += 1
            } else if i == rows.count || other.rows[j] < rows[i] {
                worst = max(worst, other.values[j])
                j += 1
            } else {
                worst = max(worst, abs(values[i] - other.values[j]))
                i += 1
                j += 1
            }
        }
        return worst
    }

    /// The `limit` heaviest entries, by weight descending then row ascending. A full sort
    /// when most of the support is wanted; otherwise one pass keeping the best `limit` in a
    /// small sorted buffer (O(n log limit) comparisons for the dense softmax support).
    func heaviest(_ limit: Int) -> [SupportEntry] {
        func before(_ a: Int, _ b: Int) -> Bool {
            values[a] != values[b] ? values[a] > values[b] : rows[a] < rows[b]
        }
        guard limit < rows.count / 4 else {
            return rows.indices.sorted(by: before).prefix(limit).map(entry)
        }
        var best: [Int] = []
        best.reserveCapacity(limit + 1)
        for index in rows.indices {
            if best.count == limit, !before(index, best[limit - 1]) { continue }
            var low = 0
            var high = best.count
            while low < high {
                let middle = (low + high) / 2
                if before(best[middle], index) { low = middle + 1 } else { high = middle }
            }
            best.insert(index, at: low)
            if best.count > limit { best.removeLast() }
        }
        return best.map(entry)
    }

    private func entry(_ index: Int) -> SupportEntry {
        SupportEntry(index: rows[index], weight: values[index])
    }
}

// MARK: - The update loop

extension Retriever {
    /// Runs the update steps from `query`; `first` are the first step's candidates when a batch
    /// pass selected them. Checks `deadline` before each step and in each pass.
    static func iterate(
        _ query: PreparedQuery, in bank: PatternMatrix, parameters: RetrievalParameters,
        first: (rows: [Int], scores: [Double])?, deadline: Deadline?
    ) throws(RetrievalError) -> Completion {
        var x = query.x
        var previous: Weights? = nil
        var exact = false
        var converged = false
        var energy = 0.0
        var taken = 0
        for step in 1...parameters.steps {
            try deadline.check()
            let candidates: (rows: [Int], scores: [Double])
            if step == 1, let first {
                candidates = try x.withUnsafeBufferPointer { x throws(RetrievalError) in
                    try exactCandidates(
                        first, in: bank, x: x.baseAddress!, normalizer: parameters.normalizer,
                        beta: parameters.beta)
                }
            } else {
                candidates = try x.withUnsafeBufferPointer { x throws(RetrievalError) in
                    try scanCandidates(
                        bank, x: x.baseAddress!, normalizer: parameters.normalizer,
                        beta: parameters.beta, deadline: deadline)
                }
            }
            let weights = Weights(candidates, parameters: parameters)
            if step == 1 { exact = weights.rows.count == 1 }
            let combined = combine(weights, in: bank)
            x = clamp(combined, to: query)
            energy = answerEnergy(combined: combined, state: x, weights: weights, parameters)
            taken = step
            if let previous, weights.maxDifference(previous) <= parameters.tolerance {
                converged = true
            }
            previous = weights
            if converged { break }
        }
        let final = previous!
        let limit = parameters.topK ?? (parameters.normalizer == .softmax ? 64 : Int.max)
        return Completion(
            pattern: x, support: final.heaviest(limit), supportSize: final.rows.count,
            energy: energy, steps: taken, converged: converged, exact: exact)
    }

    /// y = Σ_μ p_μ ξ_μ over the support, accumulated in Float64 in row order (eight
    /// components at a time; each component sees the same operations as a scalar loop).
    static func combine(_ weights: Weights, in bank: PatternMatrix) -> [Double] {
        let d = bank.dimension
        var sum = [Double](repeating: 0, count: d)
        sum.withUnsafeMutableBufferPointer { sum in
            let raw = UnsafeMutableRawPointer(sum.baseAddress!)
            for (row, weight) in zip(weights.rows, weights.values) {
                let r = bank.base + row * d
                var j = 0
                while j + 8 <= d {
                    let values = SIMD8<Double>(
                        UnsafeRawPointer(r + j).loadUnaligned(as: SIMD8<Float>.self))
                    let partial = raw.loadUnaligned(fromByteOffset: j * 8, as: SIMD8<Double>.self)
                    raw.storeBytes(
                        of: partial + weight * values, toByteOffset: j * 8, as: SIMD8<Double>.self)
                    j += 8
                }
                while j < d {
                    sum[j] += weight * Double(r[j])
                    j += 1
                }
            }
        }
        return sum
    }

    /// The new state: y on unknown components, the query's values on known ones.
    static func clamp(_ combined: [Double], to query: PreparedQuery) -> [Float] {
        guard let known = query.known else { return combined.map { Float($0) } }
        return combined.indices.map { known[$0] ? query.x[$0] : Float(combined[$0]) }
    }

    /// G(x_t, p_t) = −⟨Ξp_t, x_t⟩ + Ψ(p_t)/β + ½‖x_t‖²: the objective that the step minimizes
    /// alternately over p and x, so E(x_t) ≤ G(x_t, p_t) ≤ E(x_{t−1}), with equality at a fixed
    /// point.
    static func answerEnergy(
        combined: [Double], state: [Float], weights: Weights, _ parameters: RetrievalParameters
    ) -> Double {
        var inner = 0.0
        var squaredNorm = 0.0
        for (y, value) in zip(combined, state) {
            let x = Double(value)
            inner += y * x
            squaredNorm += x * x
        }
        return -inner + weights.regularizer / parameters.beta + 0.5 * squaredNorm
    }
}

// MARK: - Batch scores

/// Pins OpenBLAS to one thread, once, so that products do not depend on the thread count.
private let blasSingleThread: Void = openblas_set_num_threads(1)

extension Retriever {
    /// Queries per pass over the bank: bounds the score buffer (256 × 4096 floats = 4 MiB).
    static let batchGroup = 256

    /// First-step candidates of every query, one pass over the bank per group of queries.
    static func batchCandidates(
        _ queries: [PreparedQuery], in bank: PatternMatrix, parameters: RetrievalParameters,
        deadline: Deadline?
    ) throws(RetrievalError) -> [(rows: [Int], scores: [Double])] {
        var result: [(rows: [Int], scores: [Double])] = []
        result.reserveCapacity(queries.count)
        for start in stride(from: 0, to: queries.count, by: batchGroup) {
            try deadline.check()  // before the row norms, which may cost a pass of their own
            let group = Array(queries[start..<min(start + batchGroup, queries.count)])
            result += try groupCandidates(
                group, in: bank, parameters: parameters, deadline: deadline)
        }
        return result
    }

    /// Batches of up to this many queries are scored by the small-batch kernel, which reads
    /// the bank in place; larger ones by sgemm, whose packing of the bank then pays off. Set
    /// from `engram-bench retrieval` (the batch scores table).
    public static let smallBatchLimit = 64

    /// Rows per sgemm call, the same for every batch so that the product's blocking (and with
    /// it every score's rounding) never depends on the batch.
    static let batchBlockRows = 4096

    /// One group's first-step candidates from one product per block of rows (the small-batch
    /// kernel up to ``smallBatchLimit`` queries, sgemm above); `deadline` is checked before
    /// each block.
    ///
    /// OpenBLAS picks its kernels (edge tiles, blocking) by the shape of the product, so with
    /// sgemm a query's scores can differ in the last bits with the number and position of the
    /// queries that share its batch; the small-batch kernel's sum in another order than the
    /// scan's. Either way they only select a widened superset, which `iterate` re-scores with
    /// the scan kernel (``exactCandidates(_:in:x:normalizer:beta:)``).
    private static func groupCandidates(
        _ queries: [PreparedQuery], in bank: PatternMatrix, parameters: RetrievalParameters,
        deadline: Deadline?
    ) throws(RetrievalError) -> [(rows: [Int], scores: [Double])] {
        _ = blasSingleThread
        let q = queries.count
        guard q > 0 else { return [] }
        let d = bank.dimension
        let blockRows = batchBlockRows
        let states = queries.flatMap(\.x)
        let floats = UnsafeMutablePointer<Float>.allocate(capacity: q * blockRows)
        let doubles = UnsafeMutablePointer<Double>.allocate(capacity: blockRows)
        defer {
            floats.deallocate()
            doubles.deallocate()
        }
        // Any Float32 dot product of length d is within γ_d Σ|ξ_j x_j| ≤ γ_d ‖ξ‖‖x‖ of the
        // exact one (γ_d ≈ d·2⁻²⁴), so sgemm's and the scan's scores differ by at most twice
        // that; the floor must allow it both for an entry and for the top: 4γ_d max‖ξ‖ ‖x‖,
        // doubled for safety. The superset is re-scored with the scan kernel in `iterate`.
        let rowNorm = maxRowNorm(bank)
        let collectors0 = queries.map { query in
            let norm = query.x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let bound = 8 * Double(d) * 0x1p-24 * rowNorm * norm
            return CandidateCollector(
                normalizer: parameters.normalizer, beta: parameters.beta,
                slack: bound.isFinite ? bound : .infinity)
        }
        var collectors = collectors0
        try states.withUnsafeBufferPointer { states throws(RetrievalError) in
            var first = 0
            while first < bank.rows {
                try deadline.check()
                let count = min(blockRows, bank.rows - first)
                if q <= smallBatchLimit {
                    engram_scores(
                        bank.base + first * d, count, d, states.baseAddress!, q, floats, count)
                } else {
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(q), Int32(count), Int32(d),
                        1, states.baseAddress!, Int32(d), bank.base + first * d, Int32(d), 0,
                        floats, Int32(count))
                }
                for index in 0..<q {
                    try absorbScores(
                        floats + index * count, first: first, count: count, bank: bank,
                        x: states.baseAddress! + index * d, doubles: doubles,
                        into: &collectors[index])
                }
                first += count
            }
        }
        return collectors.indices.map { collectors[$0].finish() }
    }
}
