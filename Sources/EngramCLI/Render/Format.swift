// Formatting shared by the commands' human output: times, key-value blocks, vectors.

#if canImport(Glibc)
    import Glibc
#endif

/// Text forms shared by the commands.
enum Format {
    /// `2026-12-03 09:30:00 UTC` from milliseconds since the epoch (the wire's unit).
    static func time(_ milliseconds: Int) -> String {
        var seconds = milliseconds / 1000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }

    /// Key-value lines with the keys padded: `name   digits`.
    static func fields(_ rows: [(String, String)]) -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { key, value in
            key + String(repeating: " ", count: width - key.count) + "  " + value + "\n"
        }.joined()
    }

    /// Components separated by commas, wrapped before `width` columns, each line indented;
    /// past `limit` components the rest is summarized (people read the picture or `--json`).
    static func vector(
        _ values: [Float], indent: String = "  ", width: Int = 96, limit: Int = 512
    ) -> String {
        var out = ""
        var line = indent
        let shown = values.prefix(limit)
        for (index, value) in shown.enumerated() {
            let last = index == values.count - 1
            let item = NumberFormat.float(value) + (last ? "" : ",")
            if line.count + item.count + 1 > width, line != indent {
                out += line + "\n"
                line = indent
            }
            line += (line == indent ? "" : " ") + item
        }
        if values.count > shown.count {
            line += " … (\(values.count - shown.count) more; --json prints them all)"
        }
        return out + line + "\n"
    }

    static func yesNo(_ value: Bool) -> String { value ? "yes" : "no" }

    static func label(_ label: String?) -> String {
        guard let label, !label.isEmpty else { return "-" }
        return label
    }
}
