// Aligned text tables for list output: `bank list`, `jobs`, `stats`.

/// A table of text cells with a header row, rendered with columns padded to their widest cell.
///
/// Numeric columns are right-aligned, text columns left-aligned; the last column is not padded,
/// so lines carry no trailing blanks.
struct Table: Sendable {
    enum Alignment: Sendable { case left, right }

    struct Column: Sendable {
        let title: String
        let alignment: Alignment

        static func left(_ title: String) -> Column { Column(title: title, alignment: .left) }
        static func right(_ title: String) -> Column { Column(title: title, alignment: .right) }
    }

    let columns: [Column]
    private(set) var rows: [[String]] = []

    init(_ columns: [Column]) {
        self.columns = columns
    }

    mutating func append(_ row: [String]) {
        precondition(row.count == columns.count, "BUG DETECTED: table row of the wrong width")
        rows.append(row.map(Self.printable))
    }

    /// The table as lines ending in newlines, columns separated by two spaces.
    func rendered() -> String {
        var widths = columns.map { $0.title.count }
        for row in rows {
            for (index, cell) in row.enumerated() {
                widths[index] = max(widths[index], cell.count)
            }
        }

        var out = ""
        for cells in [columns.map(\.title)] + rows {
            var line = ""
            for (index, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                let last = index == cells.count - 1
                if index > 0 { line += "  " }
                switch columns[index].alignment {
                case .right: line += pad + cell
                case .left: line += last ? cell : cell + pad
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    /// Keeps a cell on one line: control characters from labels become spaces.
    private static func printable(_ cell: String) -> String {
        String(
            cell.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : Character($0) })
    }
}
