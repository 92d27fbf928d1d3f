// Streaming evaluation: a program compiled to a flat array of nodes in dependency order,
// shared sub-expressions evaluated once, all state in two preallocated arenas.

/// Evaluates features one row at a time, in one pass, with constant work per row and node.
///
/// - Rows are given in time order as one value per input (`inputs`), NaN for missing.
/// - Before a feature's window is full (the first `lookback` rows of the stream) and while
///   a missing value is inside any window it depends on, its value is NaN.
/// - Windows: rolling sums with a shifted origin for mean/sum/std (recomputed exactly every
///   k rows and whenever a large value leaves, so error does not build up), monotonic deques
///   for max/min. `std` is the sample standard deviation (ddof = 1).
/// - Results depend only on the last `settleRows` rows: an evaluator started at absolute row
///   r gives bit-identical values to one started at 0 for every row ≥ r + `settleRows`
///   (this is what makes resumed ingestion exact).
///
/// Not thread-safe: one evaluator per stream. No allocation after `init`.
public final class FeatureEvaluator {
    /// The features, in output order.
    public let features: [Feature]
    /// The channels a row must provide, in this order (first use in `features`).
    public let inputs: [String]
    /// Warm-up: on complete data the first row with every feature defined is `lookback`.
    public let lookback: Int
    /// Rows of history after which results no longer depend on where the stream started.
    public let settleRows: Int
    /// Absolute index of the next row to evaluate.
    @exclusivity(unchecked) public private(set) var row: Int

    private let plan: Plan
    private let nodes: UnsafeMutableBufferPointer<Node>
    private let outputs: UnsafeMutableBufferPointer<Int>
    private let values: UnsafeMutableBufferPointer<Double>
    private let reals: UnsafeMutableBufferPointer<Double>
    private let ints: UnsafeMutableBufferPointer<Int>

    public var featureCount: Int { features.count }

    /// Compiles the features. Equal sub-expressions (for instance the `diff(x,1)` under
    /// every order-1 feature of x) become one node.
    ///
    /// - Parameter startRow: the absolute row index of the first row that will be given.
    public init(features: [Feature], startRow: Int = 0) {
        precondition(!features.isEmpty, "an evaluator needs at least one feature")
        var builder = PlanBuilder()
        let outputSlots = features.map { builder.slot(for: $0) }
        self.plan = builder.plan
        self.features = features
        self.inputs = builder.inputs
        self.lookback = features.map(\.lookback).max() ?? 0
        self.settleRows = builder.plan.nodes.map(\.settle).max() ?? 0
        self.row = startRow

        nodes = .allocate(capacity: plan.nodes.count)
        _ = nodes.initialize(from: plan.nodes)
        outputs = .allocate(capacity: outputSlots.count)
        _ = outputs.initialize(from: outputSlots)
        values = .allocate(capacity: max(1, plan.slotCount))
        reals = .allocate(capacity: max(1, plan.realCount))
        ints = .allocate(capacity: max(1, plan.intCount))
        reset(startRow: startRow)
    }

    deinit {
        nodes.deallocate()
        outputs.deallocate()
        values.deallocate()
        reals.deallocate()
        ints.deallocate()
    }

    /// Forgets all history, as if no row had been seen; the next row has index `startRow`.
    public func reset(startRow: Int = 0) {
        row = startRow
        values.initialize(repeating: .nan)
        reals.initialize(repeating: .nan)
        ints.initialize(repeating: 0)
        for node in nodes { node.resetState(startRow: startRow, reals: reals, ints: ints) }
    }

    /// Evaluates one row.
    ///
    /// - Parameters:
    ///   - input: `inputs.count` values, NaN for missing.
    ///   - output: room for `featureCount` values; receives the features (NaN = undefined).
    /// - Returns: true when every feature is defined and finite (a sum of huge inputs can
    ///   overflow; such a row counts as incomplete rather than carrying infinity along).
    /// - Complexity: O(nodes), amortized; no allocation.
    @discardableResult
    public func evaluate(
        _ input: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>
    ) -> Bool {
        precondition(input.count >= inputs.count && output.count >= features.count)
        let t = row
        row += 1
        let values = self.values.baseAddress!
        let reals = self.reals.baseAddress!
        let ints = self.ints.baseAddress!
        for index in nodes.indices {
            nodes[index].step(t: t, input: input, values: values, reals: reals, ints: ints)
        }
        var complete = true
        for index in outputs.indices {
            let value = values[outputs[index]]
            output[index] = value
            complete = complete && value.isFinite
        }
        return complete
    }

    /// Array convenience for `evaluate(_:into:)`.
    @discardableResult
    public func evaluate(_ input: [Double], into output: inout [Double]) -> Bool {
        if output.count != features.count {
            output = [Double](repeating: .nan, count: features.count)
        }
        return input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { evaluate(source, into: $0) }
        }
    }
}

// MARK: - Plan

/// A compiled program: nodes in dependency order and the sizes of the state arenas.
struct Plan {
    var nodes: [Node] = []
    var slotCount = 0
    var realCount = 0
    var intCount = 0
}

/// What a node computes; `moment` writes three slots: sum, mean, std.
enum NodeKind: UInt8 {
    case input, lag, diff, sub, moment, max, min
}

private enum NodeKey: Hashable {
    case input(Int)
    case lag(Int, Int)
    case diff(Int, Int)
    case sub(Int, Int)
    case moment(Int, Int)
    case max(Int, Int)
    case min(Int, Int)
}

/// Turns feature trees into nodes, sharing equal sub-expressions. Nodes refer to their
/// inputs by value slot, so a nested `win(win(x,4,mean),8,max)` reads the mean slot directly.
private struct PlanBuilder {
    var plan = Plan()
    var inputs: [String] = []
    var memo: [NodeKey: Int] = [:]
    /// Per value slot: rows after which it no longer depends on the stream's start.
    var slotSettle: [Int] = []

    /// The value slot of a feature.
    mutating func slot(for feature: Feature) -> Int {
        compile(feature.expression, order: feature.order)
    }

    mutating func compile(_ expression: FeatureExpr, order: Int) -> Int {
        switch expression {
        case .channel(let name):
            let column: Int
            if let known = inputs.firstIndex(of: name) {
                column = known
            } else {
                inputs.append(name)
                column = inputs.count - 1
            }
            var slot = add(.input(column), .input, a: column, k: 0)
            for _ in 0..<order { slot = add(.diff(slot, 1), .diff, a: slot, k: 1) }
            return slot
        case .lag(let s, let k):
            let child = compile(s, order: order)
            return add(.lag(child, k), .lag, a: child, k: k)
        case .diff(let s, let k):
            let child = compile(s, order: order)
            return add(.diff(child, k), .diff, a: child, k: k)
        case .sub(let a, let b):
            let left = compile(a, order: order)
            let right = compile(b, order: order)
            return add(.sub(left, right), .sub, a: left, b: right, k: 0)
        case .win(let s, let k, let function):
            let child = compile(s, order: order)
            switch function {
            case .max: return add(.max(child, k), .max, a: child, k: k)
            case .min: return add(.min(child, k), .min, a: child, k: k)
            case .sum: return add(.moment(child, k), .moment, a: child, k: k)
            case .mean: return add(.moment(child, k), .moment, a: child, k: k) + 1
            case .std: return add(.moment(child, k), .moment, a: child, k: k) + 2
            }
        }
    }

    /// Adds a node unless an equal one exists; returns its first value slot.
    mutating func add(_ key: NodeKey, _ kind: NodeKind, a: Int, b: Int = 0, k: Int) -> Int {
        if let existing = memo[key] { return existing }
        var node = Node(kind: kind, a: a, b: b, k: k)
        node.out = plan.slotCount
        let childSettle = kind == .input ? 0 : slotSettle[a]
        switch kind {
        case .input:
            node.settle = 0
        case .lag, .diff:
            node.settle = childSettle + k
            reserve(&node, reals: k, ints: 1)
        case .sub:
            node.settle = Swift.max(childSettle, slotSettle[b])
        case .moment:
            node.settle = childSettle + 2 * k - 1
            reserve(&node, reals: k + 3, ints: 4)
        case .max, .min:
            node.settle = childSettle + k - 1
            reserve(&node, reals: k, ints: 3 + k)
        }
        let width = kind == .moment ? 3 : 1
        plan.slotCount += width
        slotSettle += Array(repeating: node.settle, count: width)
        plan.nodes.append(node)
        memo[key] = node.out
        return node.out
    }

    private mutating func reserve(_ node: inout Node, reals: Int, ints: Int) {
        node.realBase = plan.realCount
        node.intBase = plan.intCount
        plan.realCount += reals
        plan.intCount += ints
    }
}
