// The feature expression tree, its canonical names and its static warm-up.

/// A rolling reduction over the last `k` values of a series (the window is closed on the
/// right: it holds times t−k+1 … t).
public enum WindowFunction: String, Sendable, Hashable, Codable, CaseIterable {
    case mean, max, min, sum
    /// Sample standard deviation (ddof = 1); needs a window of at least 2.
    case std
}

/// A causal operator expression over input channels. Nothing at time t uses data after t.
///
/// Missing values (NaN) propagate: `lag` carries them, `diff` and `sub` are missing when
/// either side is, and `win` is missing while its window holds any missing value (pandas
/// `rolling(k)` with `min_periods = k`).
public indirect enum FeatureExpr: Sendable, Hashable {
    /// The raw value of an input column.
    case channel(String)
    /// `lag(s,k)`: s at t−k, k ≥ 1.
    case lag(FeatureExpr, Int)
    /// `diff(s,k)`: s(t) − s(t−k), k ≥ 1.
    case diff(FeatureExpr, Int)
    /// `sub(a,b)`: a(t) − b(t).
    case sub(FeatureExpr, FeatureExpr)
    /// `win(s,k,f)`: f over s(t−k+1) … s(t).
    case win(FeatureExpr, Int, WindowFunction)

    /// The canonical text: no spaces, every argument explicit (`diff(s,1)`, never `diff(s)`).
    public var canonical: String {
        switch self {
        case .channel(let name): return FeatureExpr.quoteIfNeeded(name)
        case .lag(let s, let k): return "lag(\(s.canonical),\(k))"
        case .diff(let s, let k): return "diff(\(s.canonical),\(k))"
        case .sub(let a, let b): return "sub(\(a.canonical),\(b.canonical))"
        case .win(let s, let k, let f): return "win(\(s.canonical),\(k),\(f.rawValue))"
        }
    }

    /// Rows of history this expression needs: its value at t depends on inputs at
    /// t − lookback … t, so on complete data the first defined value is at row `lookback`.
    public var lookback: Int {
        switch self {
        case .channel: return 0
        case .lag(let s, let k), .diff(let s, let k): return s.lookback + k
        case .sub(let a, let b): return Swift.max(a.lookback, b.lookback)
        case .win(let s, let k, _): return s.lookback + k - 1
        }
    }

    /// The channels this expression reads, in first-use order, without repeats.
    public var channels: [String] {
        var seen: [String] = []
        collectChannels(into: &seen)
        return seen
    }

    private func collectChannels(into seen: inout [String]) {
        switch self {
        case .channel(let name): if !seen.contains(name) { seen.append(name) }
        case .lag(let s, _), .diff(let s, _), .win(let s, _, _): s.collectChannels(into: &seen)
        case .sub(let a, let b):
            a.collectChannels(into: &seen)
            b.collectChannels(into: &seen)
        }
    }

    /// A bare identifier needs no quotes; anything else is written `"..."` with `""` for `"`.
    static func quoteIfNeeded(_ name: String) -> String {
        if isPlainIdentifier(name) { return name }
        return "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }

    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, isIdentifierStart(first) else { return false }
        return name.utf8.allSatisfy(isIdentifierByte)
    }
}

func isIdentifierStart(_ byte: UInt8) -> Bool {
    (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
}

func isIdentifierByte(_ byte: UInt8) -> Bool {
    isIdentifierStart(byte) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2E
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}

/// One generated feature: an expression evaluated at an order level.
///
/// Order o replaces every channel reference c by its o-th difference: order 0 is the value
/// (position), order 1 is `diff(c,1)` (momentum), order 2 is `diff(diff(c,1),1)` =
/// c(t) − 2c(t−1) + c(t−2) (acceleration). The operators then apply to that series, so
/// `d1:win(x,4,max)` is the largest of the last 4 increments of x (not the increment of the
/// rolling max).
public struct Feature: Sendable, Hashable, CustomStringConvertible {
    /// 0, 1 or 2.
    public let order: Int
    public let expression: FeatureExpr

    /// Highest order level.
    public static let maxOrder = 2

    public init(order: Int = 0, _ expression: FeatureExpr) {
        precondition((0...Feature.maxOrder).contains(order), "order must be 0, 1 or 2")
        self.order = order
        self.expression = expression
    }

    /// Parses a canonical name (or any single template without braces or `*`).
    ///
    /// - Throws: `FeatureError` with code `parse` or `argument`.
    public init(parsing name: String) throws {
        self = try FeatureParser.parseFeature(name)
    }

    /// The canonical name: `d<order>:` then the canonical expression; order 0 has no prefix.
    /// `Feature(parsing: f.name) == f` for every feature.
    public var name: String {
        order == 0 ? expression.canonical : "d\(order):" + expression.canonical
    }

    public var description: String { name }

    /// Rows of history needed (order adds one row per level).
    public var lookback: Int { expression.lookback + order }
}
