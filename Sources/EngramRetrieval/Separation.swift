// The separation functions (sparsemax, softmax, α-entmax) on a score vector, their
// regularizers Ψ and conjugates Ψ*. Everything here runs in Float64.

internal import Glibc

// MARK: - Public entry point

extension Normalizer {
    /// The weights p = normalizer(z) for scores `z` (β already applied). The result has the
    /// same length, entries ≥ 0 summing to 1 (up to rounding); an empty input gives `[]`.
    ///
    /// Complexity: one pass to find max z, then work on the candidates within the normalizer's
    /// reach of the max only (z ≥ max − 1 for sparsemax, max − 1/(α−1) for entmax, max − 800
    /// for softmax, below which a weight is exactly 0 in Float64): the candidates are sorted
    /// (sparsemax, 1.5-entmax) or bisected (other α), never the whole vector.
    ///
    /// - Throws: ``RetrievalError/alpha(_:)`` for α outside (1, 2],
    ///   ``RetrievalError/nonFinite(row:component:)`` (row nil) for a NaN or infinite score.
    public func weights(_ scores: [Double]) throws(RetrievalError) -> [Double] {
        if case .entmax(let alpha) = self, !(alpha > 1 && alpha <= 2) { throw .alpha(alpha) }
        if let bad = scores.firstIndex(where: { !$0.isFinite }) {
            throw .nonFinite(row: nil, component: bad)
        }
        guard let top = scores.max() else { return [] }
        let candidates = scores.indices.filter { scores[$0] >= top - reach * 1.001 }
        let shifted = candidates.map { scores[$0] - top }
        var result = [Double](repeating: 0, count: scores.count)
        for (slot, weight) in zip(candidates, separate(shifted)) { result[slot] = weight }
        return result
    }
}

// MARK: - Core on max-shifted candidates

extension Normalizer {
    /// How far below the top score (in units of β·score) an entry can still get weight.
    var reach: Double {
        switch self {
        case .sparsemax: 1
        case .softmax: 800
        case .entmax(let alpha): 1 / (alpha - 1)
        }
    }

    /// Weights for max-shifted scores `u` (max u = 0): every entry that can get weight must be
    /// present, extra ones get 0. Non-empty, finite, α validated.
    func separate(_ u: [Double]) -> [Double] {
        switch self {
        case .sparsemax: sparsemaxWeights(u)
        case .softmax: softmaxWeights(u)
        case .entmax(let alpha) where alpha == 2: sparsemaxWeights(u)
        case .entmax(let alpha) where alpha == 1.5: entmax15Weights(u)
        case .entmax(let alpha): entmaxBisectWeights(u, alpha: alpha)
        }
    }

    /// Ψ(p) for weights `p` (zeros may be omitted): ½‖p‖² − ½ (Gini, sparsemax), Σ p ln p
    /// (Shannon, softmax), (Σ p^α − 1)/(α(α−1)) (Tsallis, entmax).
    func regularizer(_ p: some Sequence<Double>) -> Double {
        switch self {
        case .sparsemax:
            return 0.5 * p.reduce(0) { $0 + $1 * $1 } - 0.5
        case .softmax:
            return p.reduce(0) { $1 > 0 ? $0 + $1 * log($1) : $0 }
        case .entmax(let alpha):
            let sum = p.reduce(0) { $1 > 0 ? $0 + pow($1, alpha) : $0 }
            return (sum - 1) / (alpha * (alpha - 1))
        }
    }

    /// Ψ*(u) = max_{p ∈ simplex} ⟨p, u⟩ − Ψ(p) for max-shifted `u` with `p` = separate(u).
    /// Ψ*(u + c) = Ψ*(u) + c, so the caller adds the shift back.
    func conjugate(_ u: [Double], weights p: [Double]) -> Double {
        switch self {
        case .softmax:
            return log(u.reduce(0) { $0 + exp($1) })
        default:
            var inner = 0.0
            for (value, weight) in zip(u, p) where weight > 0 { inner += value * weight }
            return inner - regularizer(p)
        }
    }
}

// MARK: - Algorithms

/// Positions of `u` ordered by value descending, then position ascending (deterministic ties).
private func descendingOrder(_ u: [Double]) -> [Int] {
    u.indices.sorted { u[$0] != u[$1] ? u[$0] > u[$1] : $0 < $1 }
}

/// Exact sparsemax, p = max(u − τ, 0). Up to 64 candidates: sort, κ = max{k : 1 + k·u_(k) >
/// Σ_{j≤k} u_(j)}, τ = (c_κ − 1)/κ. More: Michelot's filtering, exact as well and without a
/// sort: for any subset S, τ_S = (Σ_S u − 1)/|S| ≤ τ (the mass above τ_S is at least 1), so
/// entries ≤ τ_S get no weight; drop them and repeat until nothing drops, when τ_S = τ.
func sparsemaxWeights(_ u: [Double]) -> [Double] {
    if u.count == 1 { return [1] }
    let tau =
        u.count <= 64
        ? sparsemaxThresholdSorted(u)
        : sparsemaxThresholdFiltered(u)
            ?? sparsemaxThresholdSorted(u)
    return u.map { max($0 - tau, 0) }
}

private func sparsemaxThresholdSorted(_ u: [Double]) -> Double {
    var cumulative = 0.0
    var supportSum = 0.0
    var support = 0
    for (rank, slot) in descendingOrder(u).enumerated() {
        cumulative += u[slot]
        guard 1 + Double(rank + 1) * u[slot] > cumulative else { break }
        support = rank + 1
        supportSum = cumulative
    }
    return (supportSum - 1) / Double(support)
}

/// Michelot's threshold; nil if it has not settled after 64 passes (each pass drops at least
/// one entry; typical inputs settle in a handful).
private func sparsemaxThresholdFiltered(_ u: [Double]) -> Double? {
    var active = u
    for _ in 0..<64 {
        let tau = (active.reduce(0, +) - 1) / Double(active.count)
        let before = active.count
        active.removeAll { $0 <= tau }
        if active.count == before { return tau }
    }
    return nil
}

/// Max-shifted softmax; entries below −800 underflow to exactly 0 either way.
func softmaxWeights(_ u: [Double]) -> [Double] {
    let terms = u.map { exp($0) }
    let total = terms.reduce(0, +)
    return terms.map { $0 / total }
}

/// Exact 1.5-entmax (Peters et al.): with X = u/2 sorted descending, τ_k = mean_k −
/// √max((1 − ss_k)/k, 0), κ = #{k : τ_k ≤ X_(k)}, p = [X − τ_κ]₊².
func entmax15Weights(_ u: [Double]) -> [Double] {
    if u.count == 1 { return [1] }
    // Many candidates: a few Newton steps from below give a lower bound on τ; entries at or
    // under it get no weight, so only the rest is sorted.
    var order: [Int]
    if u.count > 64 {
        let bound = newtonLowerBound(u.map { $0 / 2 }, exponent: 2, steps: 4)
        order = u.indices.filter { u[$0] / 2 > bound }
        order.sort { u[$0] != u[$1] ? u[$0] > u[$1] : $0 < $1 }
    } else {
        order = descendingOrder(u)
    }
    var sum = 0.0
    var sumSquares = 0.0
    var taus: [Double] = []
    taus.reserveCapacity(order.count)
    var support = 0
    for (rank, slot) in order.enumerated() {
        let value = u[slot] / 2
        let k = Double(rank + 1)
        sum += value
        sumSquares += value * value
        let mean = sum / k
        let spread = max(sumSquares - sum * mean, 0)
        let tau = mean - max((1 - spread) / k, 0).squareRoot()
        taus.append(tau)
        if tau <= value { support += 1 }
    }
    let tau = taus[max(support, 1) - 1]
    return renormalized(
        u.map { value in
            let gap = max(value / 2 - tau, 0)
            return gap * gap
        })
}

/// α-entmax: τ in p_i = [(α−1)u_i − τ]₊^{1/(α−1)} with Σ p = 1, found in Float64 inside the
/// bracket [−1, −(1/n)^{α−1}], then p renormalized.
///
/// Each iteration proposes a Newton step from the lower end (f(τ) = Σ p(τ) − 1 is convex and
/// decreasing, so the step lands at or before the root and converges quadratically), or the
/// midpoint when the step leaves the bracket, and keeps the bracket by the sign of f at the
/// proposal alone: f ≥ 0 moves the lower end, otherwise the upper end. (The older test
/// f(mid)·f(lo) ≥ 0, still in widely copied code, is always true once f(lo) = 0 on one-hot
/// answers, drifts to the upper end and yields 0/0.) It stops when the Newton step falls
/// below 1e-15 or the bracket stops shrinking; entries at or below the lower end can never get
/// weight and are dropped as it rises.
func entmaxBisectWeights(_ u: [Double], alpha: Double) -> [Double] {
    if u.count == 1 { return [1] }
    let x = u.map { $0 * (alpha - 1) }
    let exponent = 1 / (alpha - 1)
    var active = x.filter { $0 > -1 }

    /// f(τ) and f′(τ) over the active entries.
    func evaluate(_ tau: Double) -> (value: Double, slope: Double) {
        var mass = 0.0
        var slope = 0.0
        for value in active where value > tau {
            let gap = value - tau
            let term = power(gap, exponent)
            mass += term
            slope -= exponent * term / gap
        }
        return (mass - 1, slope)
    }

    var low = -1.0
    var high = -pow(1 / Double(x.count), alpha - 1)
    var atLow = evaluate(low)
    for _ in 0..<200 {
        guard atLow.value > 0, atLow.slope < 0 else { break }
        let step = -atLow.value / atLow.slope
        var proposal = low + step
        if !(proposal > low && proposal < high) { proposal = low + (high - low) / 2 }
        guard proposal > low, proposal < high else { break }
        let atProposal = evaluate(proposal)
        if atProposal.value >= 0 {
            low = proposal
            atLow = atProposal
            active.removeAll { $0 <= low }
            if step <= 1e-15 { break }
        } else {
            high = proposal
        }
    }
    return renormalized(x.map { $0 > low ? power($0 - low, exponent) : 0 })
}

/// A lower bound on the entmax threshold of `x` (max x = 0): up to `steps` Newton steps on the
/// convex decreasing f(τ) = Σ [x − τ]₊^exponent − 1 from τ = −1, each kept only if f stays ≥ 0
/// there (so rounding can never push the bound past the root).
func newtonLowerBound(_ x: [Double], exponent: Double, steps: Int) -> Double {
    var low = -1.0
    for _ in 0..<steps {
        var mass = 0.0
        var slope = 0.0
        for value in x where value > low {
            let term = power(value - low, exponent)
            mass += term
            slope -= exponent * term / (value - low)
        }
        guard mass > 1, slope < 0 else { break }
        let proposal = low - (mass - 1) / slope
        let check = x.reduce(0.0) { $1 > proposal ? $0 + power($1 - proposal, exponent) : $0 }
        guard check >= 1, proposal > low else { break }
        low = proposal
    }
    return low
}

/// base^exponent with exact fast paths for the common exponents 1 and 2.
@inline(__always)
private func power(_ base: Double, _ exponent: Double) -> Double {
    if exponent == 1 { return base }
    if exponent == 2 { return base * base }
    return pow(base, exponent)
}

private func renormalized(_ p: [Double]) -> [Double] {
    let total = p.reduce(0, +)
    return total > 0 ? p.map { $0 / total } : p
}
