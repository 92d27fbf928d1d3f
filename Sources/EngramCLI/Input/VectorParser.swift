// Reading vectors typed on the command line or found in CSV cells.

import EngramWire

/// Parses comma-separated vectors, checking every component client-side so that a typo is a
/// data error (exit 65) with its position, not a round trip to the daemon.
enum VectorParser {
    /// Reads `0.5,1,-2` (and `?` for an unknown component when `allowUnknown`).
    ///
    /// - Returns: the components; nil marks an unknown one.
    /// - Throws: `data` naming the first bad component (1-based) and what is wrong with it.
    static func parse(_ text: String, allowUnknown: Bool) throws(CLIError) -> [Float?] {
        let cells = text.split(separator: ",", omittingEmptySubsequences: false)
        var values: [Float?] = []
        values.reserveCapacity(cells.count)
        for (index, cell) in cells.enumerated() {
            do {
                values.append(try component(cell, allowUnknown: allowUnknown))
            } catch {
                throw .data("bad vector: component \(index + 1) \(error.message)")
            }
        }
        if allowUnknown, !values.contains(where: { $0 != nil }) {
            throw .data(
                "bad vector: every component is unknown",
                hint: "give at least one known component")
        }
        return values
    }

    /// Reads a vector in which every component must be known.
    static func parseKnown(_ text: String) throws(CLIError) -> [Float] {
        try parse(text, allowUnknown: false).map { $0 ?? 0 }
    }

    /// One cell: a finite Float32, or nil for `?` (or blank, in CSV) when unknowns are allowed.
    /// The error's message is the tail after "component N".
    static func component(
        _ cell: Substring, allowUnknown: Bool, blankIsUnknown: Bool = false
    ) throws(CLIError) -> Float? {
        let trimmed = cell.trimmingSpaces
        if trimmed == "?" || (blankIsUnknown && trimmed.isEmpty) {
            guard allowUnknown else {
                throw .data("is unknown ('?'), which only 'complete' accepts")
            }
            return nil
        }
        guard !trimmed.isEmpty else { throw .data("is empty") }
        let lowered = trimmed.lowercased()
        let special = ["nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"]
        guard FloatText.isDecimal(trimmed.utf8) || special.contains(lowered),
            let value = Float(trimmed)
        else {
            throw .data("'\(quote(trimmed))' is not a number")
        }
        guard value.isFinite else {
            throw .data("'\(quote(trimmed))' is not finite (NaN, infinity or out of Float32 range)")
        }
        return value
    }

    /// A value cut to 32 characters for messages.
    static func quote(_ text: Substring) -> String {
        text.count <= 32 ? String(text) : String(text.prefix(32)) + "…"
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" || first == "\r" {
            result.removeFirst()
        }
        while let last = result.last, last == " " || last == "\t" || last == "\r" {
            result.removeLast()
        }
        return result
    }
}
