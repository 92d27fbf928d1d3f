// Decimal text to Double without going through String: the common case (up to 19
// significant digits, small exponent) is exact by Clinger's fast path; the rest falls back
// to the standard library's correctly rounded parser.

private let exactPowersOfTen: [Double] = (0...22).map { exponent in
    var value = 1.0
    for _ in 0..<exponent { value *= 10 }
    return value
}

/// Parses `[+-]digits[.digits][(e|E)[+-]digits]` (also `.5` and `5.`), surrounding blanks
/// allowed. Returns nil for anything else, and for values outside the finite range.
func parseDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
    var start = 0
    var end = bytes.count
    while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
    while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
    guard start < end else { return nil }

    var i = start
    var negative = false
    if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
        negative = bytes[i] == UInt8(ascii: "-")
        i += 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var significant = 0
    var exponent = 0
    var sawDot = false
    while i < end {
        let byte = bytes[i]
        if byte >= 0x30 && byte <= 0x39 {
            digits += 1
            if mantissa != 0 || byte != 0x30 { significant += 1 }
            if significant <= 19 {
                mantissa = mantissa &* 10 &+ UInt64(byte - 0x30)
                if sawDot { exponent -= 1 }
            } else if !sawDot {
                exponent += 1
            }
        } else if byte == UInt8(ascii: "."), !sawDot {
            sawDot = true
        } else {
            break
        }
        i += 1
    }
    guard digits > 0 else { return nil }
    if i < end {
        guard bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") else { return nil }
        i += 1
        var exponentNegative = false
        if i < end && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) {
            exponentNegative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var written = 0
        var exponentDigits = 0
        while i < end, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            if written < 100_000 { written = written * 10 + Int(bytes[i] - 0x30) }
            exponentDigits += 1
            i += 1
        }
        guard exponentDigits > 0, i == end else { return nil }
        exponent += exponentNegative ? -written : written
    }

    if mantissa == 0 { return negative ? -0.0 : 0.0 }
    if significant <= 19, mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
        let m = Double(mantissa)
        let value = exponent < 0 ? m / exactPowersOfTen[-exponent] : m * exactPowersOfTen[exponent]
        return negative ? -value : value
    }
    return slowParse(UnsafeBufferPointer(rebasing: bytes[start..<end]))
}

private func slowParse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
    guard let value = Double(String(decoding: bytes, as: UTF8.self)), value.isFinite else {
        return nil
    }
    return value
}
