// How numbers are written, in human output and in JSON alike.

import Foundation

/// Number formatting shared by every renderer.
enum NumberFormat {
    /// The shortest text that reads back to the same Float, without a trailing `.0`
    /// (`5`, `0.25`, `1e-05`). Non-finite values never reach here from a valid reply.
    static func float(_ value: Float) -> String {
        trimmed(value.description)
    }

    /// The shortest text that reads back to the same Double, without a trailing `.0`.
    static func double(_ value: Double) -> String {
        trimmed(value.description)
    }

    /// A setting such as β or α for human output: 6 significant digits, so `1/√30` reads
    /// `0.182574` rather than `0.18257418583505536` (`--json` keeps ``double(_:)``).
    static func human(_ value: Double) -> String {
        guard value.isFinite else { return value.description }
        return String(format: "%.6g", value)
    }

    /// A value rounded to `digits` significant digits for tables (`0.7312`, `12.5`).
    static func short(_ value: Double, digits: Int = 4) -> String {
        guard value.isFinite else { return value.description }
        return String(format: "%.\(digits)g", value)
    }

    private static func trimmed(_ text: String) -> String {
        guard text.contains("."), !text.contains("e") else {
            return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
        }
        var result = text
        while result.hasSuffix("0") { result.removeLast() }
        if result.hasSuffix(".") { result.removeLast() }
        return result == "-0" ? "0" : result
    }
}
