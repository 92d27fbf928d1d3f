// A feature program: versioned text, one template per line, expanded against the input's
// channels into an ordered list of uniquely named features.

import Foundation

/// A parsed feature program.
///
/// The text format: the first line that is neither blank nor a comment is the version line
/// `engram-features 1`; every further non-blank line is one template (see the DocC article
/// "Feature programs"); `#` starts a comment outside a quoted channel name.
///
/// Values are immutable and `Sendable`. Parsing is linear in the text length.
public struct FeatureProgram: Sendable, Equatable {
    /// The language version this build reads and writes.
    public static let languageVersion = 1

    /// The program text, exactly as given (stored in bank metadata).
    public let text: String
    public let version: Int
    let lines: [TemplateLine]

    /// Parses a program.
    ///
    /// - Throws: `FeatureError` with code `version` (missing or unknown version line),
    ///   `parse` (grammar; the error carries line, column and a caret excerpt) or `argument`
    ///   (an out-of-range number).
    public init(parsing text: String) throws {
        self.text = text
        var version: Int?
        var lines: [TemplateLine] = []
        var number = 0
        // "\r\n" is one Character, so split on line breaks rather than on "\n".
        let rawLines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for rawLine in rawLines {
            number += 1
            let code = stripComment(String(rawLine))
            guard !code.allSatisfy({ $0 == " " || $0 == "\t" }) else { continue }
            if version == nil {
                version = try parseVersionLine(code, line: number)
                continue
            }
            lines.append(try FeatureParser.parseLine(code, line: number))
        }
        guard let version else {
            throw FeatureError(
                .version, "a program starts with the line 'engram-features 1'", line: 1)
        }
        self.version = version
        self.lines = lines
    }

    /// Reads and parses a program file.
    ///
    /// - Throws: `FeatureError` `io` when the file cannot be read as UTF-8, else as
    ///   `init(parsing:)`.
    public init(contentsOfFile path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw FeatureError(.io, "cannot read the feature program \(path): \(error)")
        }
        try self.init(parsing: text)
    }

    /// Expands the program against the input channels: `*` becomes every channel, in order.
    ///
    /// - Parameter channels: the channel names `*` stands for; a named channel must be
    ///   among them.
    /// - Returns: the features in program order (line by line; within a line orders vary
    ///   slowest, then brace sets from left to right).
    /// - Throws: `FeatureError` `unknownChannel`, `duplicate` (the same canonical name
    ///   twice, with both lines), `argument`, or `parse` when the program has no features.
    public func features(channels: [String]) throws -> [Feature] {
        var features: [Feature] = []
        var firstLine: [String: Int] = [:]
        for line in lines {
            for feature in try expand(line, channels: channels) {
                let name = feature.name
                if let earlier = firstLine[name] {
                    throw FeatureError(
                        .duplicate,
                        "feature \(name) is generated twice (lines \(earlier) and \(line.line)); "
                            + "remove one of them", line: line.line)
                }
                firstLine[name] = line.line
                features.append(feature)
            }
        }
        guard !features.isEmpty else {
            throw FeatureError(.parse, "the program has no feature lines")
        }
        return features
    }

    // MARK: - Default program

    /// The program used when the user gives none, `engram-default-v2`. Every feature is
    /// unchanged when a constant is added to a channel, so with increment targets a pattern
    /// says how the series moves, never where it stands. For every channel: position against
    /// recent history and momentum (the changes over 1, 4, 8, 16 and 32 rows), how much the
    /// steps vary (std of the one-row changes over 4, 8, 16 and 32 rows) and acceleration
    /// (the change of the k-row change, k = 4, 8, 16). 12 features per channel; the first 32
    /// rows are warm-up. Chosen by forecast error on earlier years of co2, sunspots and
    /// macrodata (see the DocC article "Feature programs").
    public static let defaultText = """
        engram-features 1
        # engram-default-v2: the program used when none is given. Level-free: adding a
        # constant to a channel changes no feature.
        # Orders 0 and 1, position and momentum: where the value stands against 1..32 rows ago.
        diff(*,{1,4,8,16,32})
        # How much the steps vary.
        d1:win(*,{4,8,16,32},std)
        # Order 2, acceleration: the change of the k-row change.
        diff(diff(*,4),4)
        diff(diff(*,8),8)
        diff(diff(*,16),16)

        """

    /// The parsed default program.
    public static let `default`: FeatureProgram = try! FeatureProgram(parsing: defaultText)
}

/// The line without its comment: `#` outside a quoted name starts a comment.
private func stripComment(_ line: String) -> String {
    var inQuotes = false
    var result = ""
    for character in line {
        if character == "\"" { inQuotes.toggle() }
        if character == "#" && !inQuotes { break }
        result.append(character)
    }
    return result
}

private func parseVersionLine(_ code: String, line: Int) throws -> Int {
    let words = code.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard words.count == 2, words[0] == "engram-features", let version = Int(words[1]) else {
        throw FeatureError(
            .version, "the first line must be 'engram-features 1', found '\(code)'",
            line: line, column: 1, excerpt: caretExcerpt(code, 1))
    }
    guard version == FeatureProgram.languageVersion else {
        throw FeatureError(
            .version,
            "this build reads feature language version \(FeatureProgram.languageVersion), "
                + "not \(version); rewrite the program or upgrade engram", line: line)
    }
    return version
}
