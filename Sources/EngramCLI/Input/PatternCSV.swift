// CSV files of patterns for `store --csv` and `complete --csv`: one pattern per row.

import EngramWire

#if canImport(Glibc)
    import Glibc
#endif

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
        while let line = try reader.nextBytes() {
            if reader.lineNumber == 1, format.header { continue }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
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

    // MARK: - One line

    /// Splits a line into cells on the bytes (no String per cell: this runs for every cell of
    /// a bulk file), takes out the label column, and reads each component strictly.
    private func parse(
        _ line: UnsafeBufferPointer<UInt8>, lineNumber: Int
    ) throws(CLIError)
        -> PatternRow
    {
        var cells: [Range<Int>] = []
        cells.reserveCapacity(width ?? 16)
        var start = 0
        for index in 0...line.count where index == line.count || line[index] == 0x2C {
            cells.append(Self.trimmed(line, start..<index))
            start = index + 1
        }
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
            label = String(
                decoding: UnsafeBufferPointer(rebasing: line[cells[index]]), as: UTF8.self)
            cells.remove(at: index)
        }

        var values: [Float?] = []
        values.reserveCapacity(cells.count)
        for (index, cell) in cells.enumerated() {
            let bytes = UnsafeBufferPointer(rebasing: line[cell])
            // A strict finite decimal, parsed without allocating; anything else goes to the
            // careful path, which accepts `?` and blanks or explains the error.
            if let value = FloatText.parseFloat(bytes) {
                values.append(value)
                continue
            }
            do {
                let text = String(decoding: bytes, as: UTF8.self)[...]
                values.append(
                    try VectorParser.component(
                        text, allowUnknown: format.allowUnknown, blankIsUnknown: true))
            } catch {
                throw failure(line: lineNumber, "component \(index + 1) \(error.message)")
            }
        }
        if format.allowUnknown, !values.contains(where: { $0 != nil }) {
            throw failure(line: lineNumber, "every component is unknown")
        }
        return PatternRow(line: lineNumber, values: values, label: label)
    }

    /// The cell without surrounding blanks and one pair of double quotes.
    private static func trimmed(
        _ line: UnsafeBufferPointer<UInt8>, _ range: Range<Int>
    )
        -> Range<Int>
    {
        var low = range.lowerBound
        var high = range.upperBound
        func blank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }
        while low < high, blank(line[low]) { low += 1 }
        while high > low, blank(line[high - 1]) { high -= 1 }
        if high - low >= 2, line[low] == 0x22, line[high - 1] == 0x22 {
            low += 1
            high -= 1
        }
        return low..<high
    }

    private func failure(line: Int, _ message: String) -> CLIError {
        let hint = line == 1 && !format.header ? "if line 1 is a header, add --header" : nil
        return .data("\(path) line \(line): \(message)", hint: hint)
    }
}
