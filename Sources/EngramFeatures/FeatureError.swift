// The one error type of the features layer: stable codes, a message with a remedy, and the
// source position (program line/column, or CSV line) when there is one.

/// Every failure of `EngramFeatures`: program parse errors, CSV errors, binding errors.
///
/// `code` is stable and meant for programs (the CLI maps it to exit statuses and messages);
/// `message` is for people and says what to do. `line` and `column` are 1-based: for a
/// program they point into the program text, for CSV input `line` is the physical line of
/// the file (quoted fields may span lines) and `column` is the 1-based field number.
public struct FeatureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable error codes.
    public enum Code: String, Sendable, Codable, CaseIterable {
        /// The program text does not follow the grammar.
        case parse
        /// The program's version line is missing or names a version this build cannot read.
        case version
        /// An operator argument is out of range (a lag of 0, a `std` window of 1, ...).
        case argument
        /// A feature is listed twice after brace expansion.
        case duplicate
        /// A program or a target names a channel that the input does not have.
        case unknownChannel
        /// Malformed CSV: wrong field count, unterminated quote, unparsable number.
        case csv
        /// A file could not be opened or read.
        case io
        /// A forecasting option is invalid (horizon, targets, training prefix).
        case option
        /// Not enough complete rows to compute what was asked (fit, forecast).
        case insufficientData
        /// A stored feature specification or resume point is malformed or does not match.
        case spec
    }

    public let code: Code
    public let message: String
    public let line: Int?
    public let column: Int?
    /// For parse errors: the offending program line followed by a caret line.
    public let excerpt: String?

    public init(
        _ code: Code, _ message: String, line: Int? = nil, column: Int? = nil,
        excerpt: String? = nil
    ) {
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.excerpt = excerpt
    }

    public var description: String {
        var text = "\(code.rawValue) error"
        if let line {
            text += " at line \(line)"
            if let column { text += ", column \(column)" }
        }
        text += ": \(message)"
        if let excerpt { text += "\n" + excerpt }
        return text
    }
}
