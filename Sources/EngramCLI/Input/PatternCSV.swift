// CSV files of patterns for `store --csv` and `complete --csv`: one pattern per row.

/// How to read a pattern CSV.
struct PatternCSVFormat: Sendable, Equatable {
    /// The first line is a header and is skipped.
    var header = false
    /// The column holding the label: counts from 1, negative from the end (-1 = last);
    /// nil when every column is a component.
    var labelColumn: Int?
    /// `?` and blank cells are unknown components (for `complete`).
    var allowUnknown = false
}

/// One data row of a pattern CSV.
struct PatternRow: Sendable, Equatable {
    /// The 1-based line number in the file, for messages.
    let line: Int
    let values: [Float?]
    let label: String?
}

/// Reads pattern rows one at a time, checking each: a bad cell is a `data` error naming the
/// file, the line and the column; so is a row whose width differs from the first row's.
final class PatternCSVReader {
    let format: PatternCSVFormat
    private let reader: LineReader
    private var width: Int?
    /// Patterns read so far.
    private(set) var rowsRead = 0

    init(path: String, format: PatternCSVFormat) throws(CLIError) {
        self.format = format
        reader = try LineReader(path: path)
    }

    var path: String { reader.path }
    var bytesRead: Int { reader.bytesRead }
    var size: Int { reader.size }

    /// The next row, or nil at the end; blank lines are skipped.
    func next() throws(CLIError) -> PatternRow? {
        while let line = try reader.next() {
            if reader.lineNumber == 1, format.header { continue }
            if line.trimmingSpaces.isEmpty { continue }
            let row = try parse(line, lineNumber: reader.lineNumber)
            rowsRead += 1
            return row
        }
        return nil
    }

    /// Up to `limit` rows; empty at the end.
    func next(upTo limit: Int) throws(CLIError) -> [PatternRow] {
        var rows: [PatternRow] = []
        rows.reserveCapacity(limit)
        while rows.count < limit, let row = try next() {
            rows.append(row)
        }
        return rows
    }

    private func parse(_ line: Substring, lineNumber: Int) throws(CLIError) -> PatternRow {
        var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(unquote)
        if let width, cells.count != width {
            throw failure(
                line: lineNumber, "has \(cells.count) columns; earlier rows have \(width)")
        }
        width = cells.count

        var label: String?
        if let column = format.labelColumn {
            let index = column > 0 ? column - 1 : cells.count + column
            guard column != 0, index >= 0, index < cells.count else {
                throw CLIError.usage(
                    "label column \(column) is outside the \(cells.count) columns of \(path)")
            }
            label = String(cells.remove(at: index).trimmingSpaces)
        }

        var values: [Float?] = []
        values.reserveCapacity(cells.count)
        for (index, cell) in cells.enumerated() {
            do {
                values.append(
                    try VectorParser.component(
                        cell, allowUnknown: format.allowUnknown, blankIsUnknown: true))
            } catch {
                throw failure(line: lineNumber, "component \(index + 1) \(error.message)")
            }
        }
        if format.allowUnknown, !values.contains(where: { $0 != nil }) {
            throw failure(line: lineNumber, "every component is unknown")
        }
        return PatternRow(line: lineNumber, values: values, label: label)
    }

    private func failure(line: Int, _ message: String) -> CLIError {
        .data("\(path) line \(line): \(message)")
    }

    private func unquote(_ cell: Substring) -> Substring {
        let trimmed = cell.trimmingSpaces
        if trimmed.count >= 2, trimmed.first == "\"", trimmed.last == "\"" {
            return trimmed.dropFirst().dropLast()
        }
        return trimmed
    }
}
