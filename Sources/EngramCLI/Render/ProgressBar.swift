// A progress bar on stderr for long work, shown only when stderr is a terminal.

#if canImport(Glibc)
    import Glibc
#endif

/// Draws `label [#####-----]  42%  1200/2840 rows  3.1k rows/s  ETA 0:02` on one stderr line,
/// redrawn at most ten times a second, and ends it with a newline when done.
///
/// When disabled (stderr not a terminal, or `--quiet`) every call does nothing, so callers
/// need not check. Not thread-safe.
final class ProgressBar {
    private let console: any Console
    private let label: String
    private let enabled: Bool
    private let start = ProgressBar.now()
    private var lastDraw = 0.0
    private var drawn = false

    init(console: any Console, label: String, enabled: Bool) {
        self.console = console
        self.label = label
        self.enabled = enabled
    }

    /// Reports `rows` done; `fraction` (0...1) of the work, when known, drives the bar and ETA;
    /// `total` rows, when known, is shown beside the count.
    func update(rows: Int, total: Int? = nil, fraction: Double? = nil) {
        guard enabled else { return }
        let now = Self.now()
        guard now - lastDraw >= 0.1 else { return }
        lastDraw = now
        draw(rows: rows, total: total, fraction: fraction, elapsed: now - start)
    }

    /// Draws the final state and moves to the next line.
    func finish(rows: Int, total: Int? = nil) {
        guard enabled else { return }
        draw(rows: rows, total: total, fraction: 1, elapsed: Self.now() - start)
        console.err("\n")
    }

    /// Removes the bar, for when an error follows.
    func abandon() {
        guard enabled, drawn else { return }
        console.err("\r\u{1B}[K")
    }

    // MARK: - Drawing

    private func draw(rows: Int, total: Int?, fraction: Double?, elapsed: Double) {
        drawn = true
        console.err(
            "\r\u{1B}[K"
                + Self.line(
                    label: label, rows: rows, total: total, fraction: fraction, elapsed: elapsed))
    }

    /// The text of one bar; separate so tests can check it without a terminal.
    static func line(
        label: String, rows: Int, total: Int?, fraction: Double?, elapsed: Double
    ) -> String {
        var parts = [label]
        let known = fraction ?? total.map { $0 > 0 ? Double(rows) / Double($0) : 1 }
        if let known {
            let clamped = min(1, max(0, known))
            let filled = Int(clamped * 24)
            parts.append(
                "[" + String(repeating: "#", count: filled)
                    + String(repeating: "-", count: 24 - filled) + "]")
            parts.append("\(Int(clamped * 100))%".leftPad(4))
        }
        parts.append(total.map { "\(rows)/\($0) rows" } ?? "\(rows) rows")
        let rate = elapsed > 0 ? Double(rows) / elapsed : 0
        parts.append("\(compact(rate)) rows/s")
        if let known, known > 0, known < 1 {
            parts.append("ETA " + clock(elapsed * (1 - known) / known))
        } else if known == 1 {
            parts.append("in " + clock(elapsed))
        }
        return parts.joined(separator: "  ")
    }

    static func compact(_ value: Double) -> String {
        switch value {
        case ..<1000: return String(Int(value.rounded()))
        case ..<1_000_000: return NumberFormat.short(value / 1000, digits: 3) + "k"
        default: return NumberFormat.short(value / 1_000_000, digits: 3) + "M"
        }
    }

    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        let mm = minutes < 10 && hours > 0 ? "0\(minutes)" : "\(minutes)"
        let ss = secs < 10 ? "0\(secs)" : "\(secs)"
        return hours > 0 ? "\(hours):\(mm):\(ss)" : "\(mm):\(ss)"
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
