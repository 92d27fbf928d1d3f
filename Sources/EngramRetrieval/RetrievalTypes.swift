/// The separation function that turns scores into weights over the stored patterns.
public enum Normalizer: Sendable, Hashable, CustomStringConvertible {
    /// Euclidean projection onto the probability simplex (the sparse modern Hopfield model).
    case sparsemax

    /// Max-shifted softmax (the dense modern Hopfield model).
    case softmax

    /// α-entmax, α ∈ (1, 2]: α = 2 is sparsemax, α → 1 approaches softmax.
    case entmax(alpha: Double)

    /// `sparsemax`, `softmax` or `entmax:<alpha>`.
    public var description: String {
        switch self {
        case .sparsemax: "sparsemax"
        case .softmax: "softmax"
        case .entmax(let alpha): "entmax:\(alpha)"
        }
    }

    /// The score gap (in units of β·score) from which one step returns a single stored pattern:
    /// 1 for sparsemax, 1/(α−1) for entmax, none for softmax.
    public var exactMargin: Double? {
        switch self {
        case .sparsemax: 1
        case .softmax: nil
        case .entmax(let alpha): 1 / (alpha - 1)
        }
    }
}

/// How to answer a query. Value type; validated by every retrieval call.
public struct RetrievalParameters: Sendable, Hashable {
    /// The separation function (the bank's mode unless a query overrides it).
    public var normalizer: Normalizer

    /// Inverse temperature β > 0, applied to the scores ⟨ξ, x⟩ before the normalizer.
    public var beta: Double

    /// Maximum number of update steps, ≥ 1. One step equals one (sparse) attention call.
    public var steps: Int

    /// Early stop once max_μ |p_new − p_old| ≤ tolerance (≥ 0; needs two steps to apply).
    public var tolerance: Double

    /// Support entries to report, ≥ 1; nil reports the whole support for sparse normalizers
    /// and the 64 heaviest entries for softmax.
    public var topK: Int?

    /// Applied to the query before scoring. The bank's rows must already be normalized the same
    /// way (the store's snapshot does that for `l2` banks).
    public var normalization: Normalization

    public init(
        normalizer: Normalizer = .sparsemax, beta: Double = 1, steps: Int = 1,
        tolerance: Double = 1e-4, topK: Int? = nil, normalization: Normalization = .none
    ) {
        self.normalizer = normalizer
        self.beta = beta
        self.steps = steps
        self.tolerance = tolerance
        self.topK = topK
        self.normalization = normalization
    }

    /// Throws the first invalid field: β, α, steps, tolerance, top-k (in that order).
    public func validate() throws(RetrievalError) {
        guard beta.isFinite, beta > 0 else { throw .beta(beta) }
        if case .entmax(let alpha) = normalizer, !(alpha > 1 && alpha <= 2) {
            throw .alpha(alpha)
        }
        guard steps >= 1 else { throw .steps(steps) }
        guard tolerance.isFinite, tolerance >= 0 else { throw .tolerance(tolerance) }
        if let topK, topK < 1 { throw .topK(topK) }
    }
}

/// A query: a vector, and which of its components are known.
public struct Query: Sendable, Hashable {
    /// One value per component. Values at unknown components are ignored (they may be NaN).
    public var values: [Float]

    /// `known[i]` tells whether component i is given; nil means every component is known.
    /// Unknown components start at zero and are the only ones an update changes.
    public var known: [Bool]?

    public init(values: [Float], known: [Bool]? = nil) {
        self.values = values
        self.known = known
    }
}

/// One stored pattern's weight in an answer.
public struct SupportEntry: Sendable, Hashable {
    /// Row of the pattern in the ``PatternMatrix`` (0-based).
    public var index: Int

    /// Weight p_μ in (0, 1]; the weights of the full support sum to 1.
    public var weight: Double

    public init(index: Int, weight: Double) {
        self.index = index
        self.weight = weight
    }
}

/// The answer to one query.
public struct Completion: Sendable, Hashable {
    /// The returned state x_T: Σ_μ p_μ ξ_μ on unknown components, the query on known ones.
    public var pattern: [Float]

    /// The heaviest entries of the last step's weights p_T, by weight descending then index
    /// ascending, at most `topK` of them.
    public var support: [SupportEntry]

    /// Number of patterns with positive weight in p_T (≥ `support.count`).
    public var supportSize: Int

    /// Energy of the answer (x_T, p_T), never larger than that of the previous step's answer;
    /// see the EngramRetrieval overview for the exact definition.
    public var energy: Double

    /// Update steps taken, 1 ≤ steps ≤ the requested maximum.
    public var steps: Int

    /// Whether the last step changed the weights by at most the tolerance.
    public var converged: Bool

    /// Whether the first step's weights were one-hot, i.e. one step returns a stored pattern.
    public var exact: Bool

    public init(
        pattern: [Float], support: [SupportEntry], supportSize: Int, energy: Double, steps: Int,
        converged: Bool, exact: Bool
    ) {
        self.pattern = pattern
        self.support = support
        self.supportSize = supportSize
        self.energy = energy
        self.steps = steps
        self.converged = converged
        self.exact = exact
    }
}
