// Recursive-descent parser for program lines and canonical names. A line is parsed into a
// template tree that still holds brace sets and `*`; expansion turns it into features.

// MARK: - Templates

/// A parsed program line before expansion: brace sets and `*` are still unexpanded.
indirect enum Template: Sendable, Equatable {
    case channel(String, column: Int)
    case all(column: Int)
    case lag(Template, [Int])
    case diff(Template, [Int])
    case sub(Template, Template)
    case win(Template, [Int], [WindowFunction])
    case set([Template])
}

/// One template line of a program, with where it came from (for error messages).
struct TemplateLine: Sendable, Equatable {
    var orders: [Int]
    var template: Template
    var line: Int
    var text: String
}

/// Largest window, lag or difference distance accepted: bounds the memory of one node.
let maximumDistance = 1_000_000

// MARK: - Parser

struct FeatureParser {
    private let bytes: [UInt8]
    private let text: String
    private let line: Int
    private var index = 0

    init(text: String, line: Int) {
        self.text = text
        self.bytes = Array(text.utf8)
        self.line = line
    }

    /// Parses one template line: an optional order prefix (`d1:`, `d{0,1,2}:`) and an
    /// expression. Comments must already be removed.
    static func parseLine(_ text: String, line: Int) throws -> TemplateLine {
        var parser = FeatureParser(text: text, line: line)
        let orders = try parser.parseOrderPrefix()
        let template = try parser.parseExpression()
        parser.skipSpaces()
        guard parser.index == parser.bytes.count else {
            throw parser.error("unexpected text after the expression")
        }
        return TemplateLine(orders: orders, template: template, line: line, text: text)
    }

    /// Parses a single feature name: no brace set may hold more than one value, no `*`.
    static func parseFeature(_ name: String) throws -> Feature {
        let parsed = try parseLine(name, line: 1)
        let features = try expand(parsed, channels: nil)
        guard features.count == 1 else {
            throw FeatureError(
                .parse,
                "a feature name denotes one feature; '\(name)' expands to "
                    + "\(features.count)", line: 1, column: 1, excerpt: caretExcerpt(name, 1))
        }
        return features[0]
    }

    // MARK: Order prefix and expressions

    private mutating func parseOrderPrefix() throws -> [Int] {
        skipSpaces()
        guard peek() == UInt8(ascii: "d"), index + 1 < bytes.count else { return [0] }
        let next = bytes[index + 1]
        let start = index
        if next == UInt8(ascii: "{") {
            index += 1
            let orders = try parseIntegers()
            try expect(":")
            return try checkOrders(orders, column: start)
        }
        guard isDigit(next) else { return [0] }
        index += 1
        let order = try parseInteger()
        skipSpaces()
        guard peek() == UInt8(ascii: ":") else {
            index = start
            return [0]
        }
        index += 1
        return try checkOrders([order], column: start)
    }

    private func checkOrders(_ orders: [Int], column: Int) throws -> [Int] {
        for order in orders where !(0...Feature.maxOrder).contains(order) {
            throw error("order must be 0, 1 or 2, not \(order)", at: column, code: .argument)
        }
        return orders
    }

    private mutating func parseExpression() throws -> Template {
        skipSpaces()
        let start = index
        guard let byte = peek() else { throw error("expected a channel or an operator") }
        if byte == UInt8(ascii: "*") {
            index += 1
            return .all(column: start)
        }
        if byte == UInt8(ascii: "{") {
            index += 1
            var items = [try parseExpression()]
            while try separator() { items.append(try parseExpression()) }
            return .set(items)
        }
        if byte == UInt8(ascii: "\"") { return .channel(try parseQuoted(), column: start) }
        guard isIdentifierStart(byte) else { throw error("expected a channel or an operator") }
        let name = parseIdentifier()
        skipSpaces()
        guard peek() == UInt8(ascii: "(") else { return .channel(name, column: start) }
        index += 1
        return try parseCall(name, column: start)
    }

    private mutating func parseCall(_ name: String, column: Int) throws -> Template {
        let result: Template
        switch name {
        case "lag":
            let series = try parseExpression()
            try expect(",")
            result = .lag(series, try parseDistances())
        case "diff":
            let series = try parseExpression()
            skipSpaces()
            if peek() == UInt8(ascii: ",") {
                index += 1
                result = .diff(series, try parseDistances())
            } else {
                result = .diff(series, [1])
            }
        case "sub":
            let left = try parseExpression()
            try expect(",")
            result = .sub(left, try parseExpression())
        case "win":
            let series = try parseExpression()
            try expect(",")
            let lengths = try parseDistances()
            try expect(",")
            let functions = try parseFunctions()
            if functions.contains(.std), lengths.contains(1) {
                throw error(
                    "win(…,1,std) is undefined: std needs a window of at least 2",
                    at: column, code: .argument)
            }
            result = .win(series, lengths, functions)
        case "lead":
            throw error(
                "lead looks into the future; choose targets and a horizon instead",
                at: column)
        default:
            throw error(
                "unknown operator '\(name)'; the operators are lag, diff, sub and win",
                at: column)
        }
        try expect(")")
        return result
    }

    // MARK: Arguments

    private mutating func parseDistances() throws -> [Int] {
        skipSpaces()
        let start = index
        let values = try parseIntegers()
        for value in values where value < 1 || value > maximumDistance {
            throw error(
                "a lag, difference or window length must be 1 ... \(maximumDistance), "
                    + "not \(value)", at: start, code: .argument)
        }
        return values
    }

    /// An integer or a brace set of integers and ranges `a..b`.
    private mutating func parseIntegers() throws -> [Int] {
        skipSpaces()
        guard peek() == UInt8(ascii: "{") else { return [try parseInteger()] }
        index += 1
        var values: [Int] = []
        repeat {
            let low = try parseInteger()
            skipSpaces()
            if peek() == UInt8(ascii: "."), index + 1 < bytes.count,
                bytes[index + 1] == UInt8(ascii: ".")
            {
                index += 2
                let high = try parseInteger()
                guard high >= low, high - low < 10_000 else {
                    throw error("a range a..b needs a ≤ b (and fewer than 10000 values)")
                }
                values += Array(low...high)
            } else {
                values.append(low)
            }
        } while try separator()
        return values
    }

    private mutating func parseInteger() throws -> Int {
        skipSpaces()
        let start = index
        var value = 0
        while let byte = peek(), isDigit(byte) {
            guard value < 100_000_000 else { throw error("number too large", at: start) }
            value = value * 10 + Int(byte - 0x30)
            index += 1
        }
        guard index > start else { throw error("expected a whole number") }
        return value
    }

    private mutating func parseFunctions() throws -> [WindowFunction] {
        skipSpaces()
        var functions: [WindowFunction] = []
        if peek() == UInt8(ascii: "{") {
            index += 1
            repeat { functions.append(try parseFunction()) } while try separator()
        } else {
            functions.append(try parseFunction())
        }
        return functions
    }

    private mutating func parseFunction() throws -> WindowFunction {
        skipSpaces()
        let start = index
        guard let byte = peek(), isIdentifierStart(byte) else {
            throw error("expected a window function: mean, max, min, sum or std")
        }
        let name = parseIdentifier()
        guard let function = WindowFunction(rawValue: name) else {
            throw error(
                "unknown window function '\(name)'; use mean, max, min, sum or std", at: start)
        }
        return function
    }

    // MARK: Tokens

    /// After a brace-set item: `,` means another item follows, `}` ends the set.
    private mutating func separator() throws -> Bool {
        skipSpaces()
        switch peek() {
        case UInt8(ascii: ","):
            index += 1
            return true
        case UInt8(ascii: "}"):
            index += 1
            return false
        default: throw error("expected ',' or '}'")
        }
    }

    private mutating func expect(_ symbol: Unicode.Scalar) throws {
        skipSpaces()
        guard peek() == UInt8(ascii: symbol) else { throw error("expected '\(symbol)'") }
        index += 1
    }

    private mutating func parseIdentifier() -> String {
        let start = index
        while let byte = peek(), isIdentifierByte(byte) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// `"..."` with `""` standing for one quote.
    private mutating func parseQuoted() throws -> String {
        let start = index
        index += 1
        var name: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated quoted name", at: start) }
            index += 1
            if byte == UInt8(ascii: "\"") {
                guard peek() == UInt8(ascii: "\"") else { break }
                index += 1
            }
            name.append(byte)
        }
        guard !name.isEmpty else { throw error("empty channel name", at: start) }
        return String(decoding: name, as: UTF8.self)
    }

    private mutating func skipSpaces() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 { index += 1 }
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    // MARK: Errors

    private func error(
        _ message: String, at byteOffset: Int? = nil, code: FeatureError.Code = .parse
    ) -> FeatureError {
        let column = columnOf(byteOffset ?? index)
        return FeatureError(
            code, message, line: line, column: column, excerpt: caretExcerpt(text, column))
    }

    private func columnOf(_ byteOffset: Int) -> Int {
        let prefix = bytes[..<Swift.min(byteOffset, bytes.count)]
        return String(decoding: prefix, as: UTF8.self).count + 1
    }
}

/// The line, then a caret under the given 1-based column.
func caretExcerpt(_ text: String, _ column: Int) -> String {
    "  " + text + "\n  " + String(repeating: " ", count: max(0, column - 1)) + "^"
}

// MARK: - Expansion

/// Expands brace sets and `*` into features, orders varying slowest, then the expression's
/// sets from left to right. With `channels == nil` a `*` is an error (single names).
func expand(_ line: TemplateLine, channels: [String]?) throws -> [Feature] {
    let expressions = try expand(line.template, line: line, channels: channels)
    var features: [Feature] = []
    for order in line.orders {
        for expression in expressions { features.append(Feature(order: order, expression)) }
    }
    return features
}

private func expand(
    _ template: Template, line: TemplateLine, channels: [String]?
) throws
    -> [FeatureExpr]
{
    func sub(_ t: Template) throws -> [FeatureExpr] {
        try expand(t, line: line, channels: channels)
    }
    func fail(_ code: FeatureError.Code, _ message: String, _ column: Int) -> FeatureError {
        let col = String(decoding: Array(line.text.utf8).prefix(column), as: UTF8.self).count + 1
        return FeatureError(
            code, message, line: line.line, column: col, excerpt: caretExcerpt(line.text, col))
    }

    switch template {
    case .channel(let name, let column):
        if let channels, !channels.contains(name) {
            throw fail(
                .unknownChannel,
                "unknown channel '\(name)'; channels: "
                    + channels.map(FeatureExpr.quoteIfNeeded).joined(separator: ", "), column)
        }
        return [.channel(name)]
    case .all(let column):
        guard let channels else { throw fail(.parse, "'*' is not allowed in a name", column) }
        return channels.map { .channel($0) }
    case .lag(let s, let ks):
        return try sub(s).flatMap { e in ks.map { .lag(e, $0) } }
    case .diff(let s, let ks):
        return try sub(s).flatMap { e in ks.map { .diff(e, $0) } }
    case .sub(let a, let b):
        let right = try sub(b)
        return try sub(a).flatMap { x in right.map { .sub(x, $0) } }
    case .win(let s, let ks, let fs):
        return try sub(s).flatMap { e in ks.flatMap { k in fs.map { .win(e, k, $0) } } }
    case .set(let items):
        return try items.flatMap(sub)
    }
}
