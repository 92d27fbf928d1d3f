// Vector encodings: comma-separated decimal text, and little-endian binary32 bytes.

// MARK: - Reals as text

/// The text form of real numbers on the wire.
///
/// Output is the shortest decimal that reads back to exactly the same value (Swift's
/// `description`), with an integral value written without its `.0` (`1`, `-0`, `16`), and
/// exponents as Swift writes them (`1e-05`, `3.4028235e+38`); every output parses back.
///
/// Input is strict decimal: an optional sign, digits with an optional fraction (`1`, `1.5`,
/// `.5`, `5.`), and an optional exponent (`e-3`, `E+7`). Hex floats, `nan`, `inf`, digit
/// separators, spaces, and values that overflow to infinity are rejected. Values too small
/// for the type round to zero or a subnormal, as IEEE-754 rounding does.
public enum FloatText {
    /// The shortest exact text of `value` (see the type's notes).
    public static func format(_ value: Float) -> String {
        trimmed(value.description)
    }

    /// The shortest exact text of `value` (see the type's notes).
    public static func format(_ value: Double) -> String {
        trimmed(value.description)
    }

    private static func trimmed(_ text: String) -> String {
        guard text.hasSuffix(".0") else { return text }
        return String(text.dropLast(2))
    }

    /// Appends the text of ``format(_:)-(Float)`` to `out`, trimming in the byte buffer:
    /// what a text vector is made of, 64 to thousands of times a reply.
    public static func append(_ value: Float, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: value.description.utf8)
        if out.count - start > 2, out[out.count - 1] == UInt8(ascii: "0"),
            out[out.count - 2] == UInt8(ascii: ".")
        {
            out.removeLast(2)
        }
    }

    /// Parses a strict decimal Float32; `nil` if malformed or not finite. Correctly rounded.
    ///
    /// Most tokens (up to 15 significant digits, a power of ten within 10^±22) take a fast
    /// path: one Float64 operation, then a rounding to Float32 that is exact unless the
    /// Float64 lands on a midpoint between two Float32 values, which goes to `strtof` as every
    /// other token does.
    public static func parseFloat(_ token: some Collection<UInt8>) -> Float? {
        // Scanned as raw bytes where the storage allows it: no index checks, no retains.
        if let value = token.withContiguousStorageIfAvailable({ parseContiguous($0) }) {
            return value
        }
        return parseContiguous(token)
    }

    private static func parseContiguous(_ token: some Collection<UInt8>) -> Float? {
        switch scan(token) {
        case .malformed: return nil
        case .value(let value): return value
        case .needsStrtof:
            guard let value = Float(String(decoding: token, as: UTF8.self)), value.isFinite
            else { return nil }
            return value
        }
    }

    /// What one pass over a token found.
    private enum Scan {
        /// Not a strict decimal (``isDecimal(_:)`` would say false).
        case malformed
        /// A strict decimal, correctly rounded by the fast path.
        case value(Float)
        /// A strict decimal outside the fast path's reach.
        case needsStrtof
    }

    /// Checks the grammar of ``isDecimal(_:)`` and gathers the fast path's digits in the same
    /// pass.
    private static func scan(_ token: some Collection<UInt8>) -> Scan {
        var iterator = token.makeIterator()
        var byte = iterator.next()
        var negative = false
        if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
            negative = byte == UInt8(ascii: "-")
            byte = iterator.next()
        }
        var digits: UInt64 = 0
        var significant = 0
        var scale = 0
        var mantissaDigits = 0
        var inFraction = false
        while let b = byte {
            if b == UInt8(ascii: "."), !inFraction {
                inFraction = true
            } else if isDigit(b) {
                mantissaDigits += 1
                let digit = UInt64(b &- UInt8(ascii: "0"))
                if digits != 0 || digit != 0 {  // leading zeros are not significant
                    significant += 1
                    if significant <= 15 { digits = digits * 10 + digit }
                }
                if inFraction { scale -= 1 }
            } else {
                break
            }
            byte = iterator.next()
        }
        guard mantissaDigits > 0 else { return .malformed }
        var exponent = 0
        if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            byte = iterator.next()
            var exponentNegative = false
            if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                exponentNegative = byte == UInt8(ascii: "-")
                byte = iterator.next()
            }
            var exponentDigits = 0
            while let b = byte, isDigit(b) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(b &- UInt8(ascii: "0")) }
                exponentDigits += 1
                byte = iterator.next()
            }
            guard exponentDigits > 0 else { return .malformed }
            if exponentNegative { exponent = -exponent }
        }
        guard byte == nil else { return .malformed }
        guard significant <= 15,
            let value = clinger(digits: digits, power: scale + exponent, negative: negative)
        else { return .needsStrtof }
        return .value(value)
    }

    /// The decimal `±digits × 10^power` as a correctly rounded Float32, or nil when the fast
    /// path cannot vouch for it (see ``fastFloat(_:)``).
    private static func clinger(digits: UInt64, power: Int, negative: Bool) -> Float? {
        var wide = Double(digits)
        if digits != 0 {
            guard power >= -22 && power <= 22 else { return nil }
            wide = power < 0 ? wide / powerOfTen(-power) : wide * powerOfTen(power)
            guard wide >= Double(Float.leastNormalMagnitude),
                wide <= Double(Float.greatestFiniteMagnitude)
            else { return nil }
        }
        // A tie between two Float32 values is a Float64 whose 29 mantissa bits below Float32's
        // precision are exactly one half (wide is in Float32's normal range here): then the
        // decimal may lie on either side of the midpoint, and strtof decides.
        if wide.bitPattern & 0x1FFF_FFFF == 0x1000_0000 { return nil }
        let narrow = Float(wide)
        return negative ? -narrow : narrow
    }

    /// 10^exponent for 0 ≤ exponent ≤ 22, each exact in Float64. A switch over literals, not
    /// a global array: no lazy initialization and no retain on the hot path.
    private static func powerOfTen(_ exponent: Int) -> Double {
        switch exponent {
        case 0: 1
        case 1: 1e1
        case 2: 1e2
        case 3: 1e3
        case 4: 1e4
        case 5: 1e5
        case 6: 1e6
        case 7: 1e7
        case 8: 1e8
        case 9: 1e9
        case 10: 1e10
        case 11: 1e11
        case 12: 1e12
        case 13: 1e13
        case 14: 1e14
        case 15: 1e15
        case 16: 1e16
        case 17: 1e17
        case 18: 1e18
        case 19: 1e19
        case 20: 1e20
        case 21: 1e21
        default: 1e22
        }
    }

    /// The fast path of ``parseFloat(_:)``: the value, or nil when the token is malformed or
    /// the fast path does not apply. Clinger's observation: with the digits m < 2^53 and 10^k exact,
    /// m / 10^k (or m × 10^k) in one IEEE operation is the correctly rounded Float64 of the
    /// decimal; rounding that to Float32 again is correct unless it sits exactly on a Float32
    /// midpoint, or is out of the normal range.
    static func fastFloat(_ token: some Collection<UInt8>) -> Float? {
        guard case .value(let value) = scan(token) else { return nil }
        return value
    }

    /// Parses a strict decimal Float64; `nil` if malformed or not finite.
    public static func parseDouble(_ token: some Collection<UInt8>) -> Double? {
        guard isDecimal(token) else { return nil }
        guard let value = Double(String(decoding: token, as: UTF8.self)), value.isFinite else {
            return nil
        }
        return value
    }

    /// Whether `token` matches `[+-]?(digits(.digits?)?|.digits)([eE][+-]?digits)?`.
    public static func isDecimal(_ token: some Collection<UInt8>) -> Bool {
        var iterator = token.makeIterator()
        var byte = iterator.next()
        if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") { byte = iterator.next() }
        var mantissaDigits = 0
        while let b = byte, isDigit(b) {
            mantissaDigits += 1
            byte = iterator.next()
        }
        if byte == UInt8(ascii: ".") {
            byte = iterator.next()
            while let b = byte, isDigit(b) {
                mantissaDigits += 1
                byte = iterator.next()
            }
        }
        guard mantissaDigits > 0 else { return false }
        if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            byte = iterator.next()
            if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") { byte = iterator.next() }
            var exponentDigits = 0
            while let b = byte, isDigit(b) {
                exponentDigits += 1
                byte = iterator.next()
            }
            guard exponentDigits > 0 else { return false }
        }
        return byte == nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// Why `token` is not an acceptable real, for error messages.
    static func complaint(_ token: some Collection<UInt8>) -> String {
        var word = String(decoding: token, as: UTF8.self).lowercased()
        if word.hasPrefix("+") || word.hasPrefix("-") { word.removeFirst() }
        if word.hasPrefix("nan") || word.hasPrefix("inf") || word.hasPrefix("snan") {
            return "is not finite; only finite decimal numbers are accepted"
        }
        if isDecimal(token) {
            return "overflows to infinity; the largest finite Float32 is 3.4028235e+38"
        }
        if word.hasPrefix("0x") { return "is a hex float; write it in decimal" }
        return "is not a decimal number"
    }
}

// MARK: - Text vectors

/// Comma-separated decimal components: `0.5,1,-2.25`. In a query, `?` marks an unknown
/// component. Component numbers in error messages count from 1.
public enum VectorText {
    /// The text of `values`; where `known` is given and false, the component is written `?`.
    public static func encode(_ values: [Float], known: [Bool]? = nil) -> [UInt8] {
        var out: [UInt8] = []
        // The longest shortest form of a Float32 ("-1.17549435e-38") and its comma: one
        // allocation, never a regrowth.
        out.reserveCapacity(values.count * 16)
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            if let known, index < known.count, !known[index] {
                out.append(UInt8(ascii: "?"))
            } else {
                FloatText.append(value, to: &out)
            }
        }
        return out
    }

    /// Decodes a vector in which every component is known (`STORE`, `MSTORE`).
    ///
    /// - Throws: `BADFLOAT` naming the first bad component and quoting it.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> [Float] {
        let (values, known) = try decode(bytes, allowUnknown: false)
        assert(known == nil)
        return values
    }

    /// Decodes a query vector: `?` components are unknown. Unknown components get the value
    /// 0 and `false` in `known`; `known` is `nil` when every component is known.
    ///
    /// - Throws: `BADFLOAT` naming the first bad component and quoting it.
    public static func decodeQuery(
        _ bytes: [UInt8]
    ) throws(WireError) -> (
        values: [Float], known: [Bool]?
    ) {
        try decode(bytes, allowUnknown: true)
    }

    private static func decode(
        _ bytes: [UInt8], allowUnknown: Bool
    ) throws(WireError) -> (
        values: [Float], known: [Bool]?
    ) {
        guard !bytes.isEmpty else {
            throw WireError(.badFloat, "empty vector; give comma-separated numbers like 0.5,1,-2")
        }
        var values: [Float] = []
        var known: [Bool]?
        var componentStart = 0
        var index = 0
        while componentStart <= bytes.count {
            var end = componentStart
            while end < bytes.count, bytes[end] != UInt8(ascii: ",") { end += 1 }
            let token = bytes[componentStart..<end]
            index += 1
            if token.count == 1, token.first == UInt8(ascii: "?") {
                guard allowUnknown else {
                    throw WireError(
                        .badFloat,
                        "component \(index) is unknown ('?'); unknown components are allowed "
                            + "only in queries")
                }
                if known == nil { known = Array(repeating: true, count: values.count) }
                known!.append(false)
                values.append(0)
            } else if let value = FloatText.parseFloat(token) {
                values.append(value)
                known?.append(true)
            } else if token.isEmpty {
                throw WireError(
                    .badFloat, "component \(index) is empty; components are separated by one comma")
            } else {
                throw WireError(
                    .badFloat,
                    "component \(index) \(WireError.quote(token)) \(FloatText.complaint(token))")
            }
            componentStart = end + 1
        }
        return (values, known)
    }
}

// MARK: - Binary vectors

/// Little-endian IEEE-754 binary32 components, 4 bytes each, in one bulk string: what
/// `numpy.asarray(v, dtype='<f4').tobytes()` produces. Rows of a batch are concatenated.
public enum VectorBinary {
    /// The bytes of `values`.
    public static func encode(_ values: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        append(values, to: &out)
        return out
    }

    /// The bytes of `rows`, concatenated.
    public static func encode(rows: [[Float]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rows.reduce(0) { $0 + $1.count * 4 })
        for row in rows { append(row, to: &out) }
        return out
    }

    private static func append(_ values: [Float], to out: inout [UInt8]) {
        out.reserveCapacity(out.count + values.count * 4)
        for value in values {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { out.append(contentsOf: $0) }
        }
    }

    /// Decodes one vector.
    ///
    /// - Throws: `BADFLOAT` if the length is not a positive multiple of 4 or a component is
    ///   NaN or infinite (naming it, counting from 1).
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> [Float] {
        try decode(bytes, rows: 1)[0]
    }

    /// Decodes `count` vectors of equal length concatenated in one bulk string.
    ///
    /// `known`, when given, is the query mask shared by every row: a value at a component it
    /// marks unknown is accepted whatever it is (numpy users fill unknowns with NaN) and
    /// returned as 0, so nothing downstream sees a non-finite value.
    ///
    /// - Throws: `BADFLOAT` if the length is not a positive multiple of `4 * count` or a
    ///   known component is not finite (naming the component, and the vector when `count`
    ///   is over 1, counting from 1); `DIM` if `known` has another length than the rows.
    public static func decode(
        _ bytes: [UInt8], rows count: Int, known: [Bool]? = nil
    ) throws(WireError) -> [[Float]] {
        try checkLength(bytes.count, rows: count)
        var values = load(bytes)
        let dimension = values.count / count
        if let known {
            guard known.count == dimension else {
                throw WireError(
                    .dim,
                    "MASK has \(known.count) components but the "
                        + (count == 1 ? "vector has" : "vectors have") + " \(dimension)")
            }
            for index in values.indices where !known[index % dimension] { values[index] = 0 }
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let row = count == 1 ? "the binary vector" : "vector \(bad / dimension + 1)"
            throw WireError(
                .badFloat,
                "component \(bad % dimension + 1) of \(row) is \(values[bad]); only finite "
                    + "values are accepted")
        }
        return (0..<count).map { Array(values[($0 * dimension)..<(($0 + 1) * dimension)]) }
    }

    /// Refuses a bulk of `length` bytes that cannot hold `count` equal rows of floats.
    private static func checkLength(_ length: Int, rows count: Int) throws(WireError) {
        guard count > 0 else {
            throw WireError(.badFloat, "a binary batch needs at least one vector")
        }
        if length > 0, length % (4 * count) == 0 { return }
        let format = "(little-endian float32 components)"
        if count == 1 {
            throw WireError(
                .badFloat,
                length == 0
                    ? "binary vector is empty; it needs 4 bytes per component \(format)"
                    : "binary vector of \(length) bytes is not a whole number of 4-byte floats "
                        + format)
        }
        throw WireError(
            .badFloat,
            "binary batch of \(length) bytes for \(count) vectors is not \(count) equal rows "
                + "of 4-byte floats; it must be 4 × dimension × \(count) bytes \(format)")
    }

    private static func load(_ bytes: [UInt8]) -> [Float] {
        bytes.withUnsafeBytes { raw in
            (0..<(bytes.count / 4)).map { index in
                Float(
                    bitPattern: UInt32(
                        littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
                )
            }
        }
    }
}
