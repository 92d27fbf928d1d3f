/// Why a retrieval request was refused. Every case has a stable ``code`` (safe to match on and
/// to put on the wire) and a ``message`` that says what to do about it.
///
/// Nothing is computed when an error is thrown: a refused request leaves no partial answer.
/// ``deadline`` is the one error thrown midway: the work done until then is discarded.
public enum RetrievalError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A query, mask or state has `actual` components but the bank has `expected`.
    case dimension(expected: Int, actual: Int)

    /// A NaN or ±infinity at `component`, in bank row `row`, or in the query when `row` is nil.
    case nonFinite(row: Int?, component: Int)

    /// β must be finite and > 0.
    case beta(Double)

    /// The entmax α must lie in (1, 2].
    case alpha(Double)

    /// At least one update step is needed.
    case steps(Int)

    /// The early-stop tolerance must be finite and ≥ 0.
    case tolerance(Double)

    /// The number of support entries to report must be ≥ 1.
    case topK(Int)

    /// The mask hides every component, so nothing is known to retrieve from.
    case allMasked

    /// The bank has no patterns.
    case emptyBank

    /// The call's ``Deadline`` passed before it finished; the call was stopped (between two
    /// update steps or two blocks of rows) and returned nothing. Thrown for a whole batch,
    /// never for one of its queries.
    case deadline

    /// Query `index` of a batch was refused for `underlying`; the batch was not answered.
    indirect case query(index: Int, underlying: RetrievalError)

    /// Stable machine-readable code; a batch query error reports its underlying code.
    public var code: String {
        switch self {
        case .dimension: "dimension"
        case .nonFinite: "nonFinite"
        case .beta: "beta"
        case .alpha: "alpha"
        case .steps: "steps"
        case .tolerance: "tolerance"
        case .topK: "topK"
        case .allMasked: "allMasked"
        case .emptyBank: "emptyBank"
        case .deadline: "deadline"
        case .query(_, let underlying): underlying.code
        }
    }

    /// What went wrong and how to fix it, in one sentence.
    public var message: String {
        switch self {
        case .dimension(let expected, let actual):
            "got \(actual) components but the bank has dimension \(expected); "
                + "send exactly \(expected) values (and mask entries)"
        case .nonFinite(let row?, let component):
            "pattern row \(row) has a NaN or infinite value at component \(component); "
                + "the bank is corrupt or was filled without validation"
        case .nonFinite(nil, let component):
            "the query has a NaN or infinite value at component \(component); "
                + "send finite numbers, or mark the component unknown"
        case .beta(let beta):
            "beta \(beta) is invalid; use a finite beta > 0 (larger is sharper)"
        case .alpha(let alpha):
            "entmax alpha \(alpha) is outside (1, 2]; use 1.5, or sparsemax for 2"
        case .steps(let steps):
            "steps \(steps) is invalid; use at least 1 update step"
        case .tolerance(let tolerance):
            "tolerance \(tolerance) is invalid; use a finite value >= 0"
        case .topK(let topK):
            "top-k \(topK) is invalid; report at least 1 support entry"
        case .allMasked:
            "the mask hides every component; mark at least one component as known"
        case .emptyBank:
            "the bank holds no patterns; append patterns before querying"
        case .deadline:
            "the retrieval ran past its deadline and was stopped; allow more time, or use "
                + "fewer steps, a smaller batch or a smaller bank (an earlier as-of)"
        case .query(let index, let underlying):
            "query \(index) of the batch: \(underlying.message)"
        }
    }

    public var description: String { "\(code): \(message)" }
}
