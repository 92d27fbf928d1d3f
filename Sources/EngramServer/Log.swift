import CEngramSys
import CSystemd
import Glibc
import Synchronization

/// Severity of a log record; the raw value is the syslog priority that journald understands.
public enum LogLevel: Int, Sendable, CaseIterable, Comparable {
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7

    /// The level's name as written in configuration (`error`, `warning`, …).
    public var name: String {
        switch self {
        case .error: "error"
        case .warning: "warning"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        }
    }

    /// Parses a configured level name; `warn` and `err` are accepted as aliases.
    public init?(name: String) {
        switch name.lowercased() {
        case "error", "err": self = .error
        case "warning", "warn": self = .warning
        case "notice": self = .notice
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// One structured field of a log record: a lower-case key and its value.
public typealias LogField = (key: String, value: String)

/// Where log records go.
public enum LogSink: Sendable, Equatable {
    /// stderr, one line per record with an `<N>` priority prefix (sd-daemon(3)).
    case stderr
    /// The systemd journal through `sd_journal_sendv`, with one journal field per log field.
    case journal
}

/// The daemon's logger.
///
/// Messages are constant strings (`StaticString`); everything variable goes in fields, so that
/// records can be searched by message and filtered by field. A record is one `write(2)` of one
/// line to stderr (atomic for lines under `PIPE_BUF` even with many threads), or one
/// `sd_journal_sendv` call. Thread-safe; the level may be changed at any time.
public final class Logger: Sendable {
    private let threshold: Atomic<Int>
    /// The destination; chosen at start-up.
    public let sink: LogSink

    /// Creates a logger that drops records less severe than `level`.
    public init(level: LogLevel, sink: LogSink) {
        self.threshold = Atomic(level.rawValue)
        self.sink = sink
    }

    /// The journal when stderr is the journal stream systemd set up (`$JOURNAL_STREAM` names
    /// stderr's device and inode) and journald's socket exists, stderr otherwise.
    /// (`sd_journal_sendv` reports success when there is no journald, so records would vanish.)
    public static func defaultSink(environment: [String: String]) -> LogSink {
        guard let stream = environment["JOURNAL_STREAM"] else { return .stderr }
        var status = stat()
        guard fstat(2, &status) == 0, stream == "\(status.st_dev):\(status.st_ino)",
            access("/run/systemd/journal/socket", W_OK) == 0
        else { return .stderr }
        return .journal
    }

    /// The least severe level that is still logged.
    public var level: LogLevel {
        get { LogLevel(rawValue: threshold.load(ordering: .relaxed)) ?? .info }
        set { threshold.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// Whether a record of `level` would be written; check before building costly fields.
    public func enabled(_ level: LogLevel) -> Bool {
        level.rawValue <= threshold.load(ordering: .relaxed)
    }

    public func error(_ message: StaticString, _ fields: LogField...) {
        log(.error, message, fields)
    }

    public func warning(_ message: StaticString, _ fields: LogField...) {
        log(.warning, message, fields)
    }

    public func notice(_ message: StaticString, _ fields: LogField...) {
        log(.notice, message, fields)
    }

    public func info(_ message: StaticString, _ fields: LogField...) {
        log(.info, message, fields)
    }

    public func debug(_ message: StaticString, _ fields: LogField...) {
        log(.debug, message, fields)
    }

    /// Writes one record if `level` is enabled.
    public func log(_ level: LogLevel, _ message: StaticString, _ fields: [LogField]) {
        guard enabled(level) else { return }
        let text = message.description
        if sink == .journal, sendToJournal(level, text, fields) { return }
        var line = Array(Logger.formatLine(level, text, fields).utf8)
        line.append(0x0A)
        _ = line.withUnsafeBytes { csys_write_all(2, $0.baseAddress, $0.count) }
    }

    /// The stderr form of a record: `<N>message key=value …`, values quoted when they hold
    /// spaces, quotes or control characters, and control characters escaped, so that one record
    /// is always one line.
    public static func formatLine(
        _ level: LogLevel, _ message: String, _ fields: [LogField]
    )
        -> String
    {
        var line = "<\(level.rawValue)>\(message)"
        for field in fields {
            line += " \(field.key)=\(quoted(field.value))"
        }
        return line
    }

    static func quoted(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0.value < 0x20 }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\x" + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// One `sd_journal_sendv` call: `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, and each field
    /// as `ENGRAM_<KEY>`. Returns false when the journal refused the record.
    private func sendToJournal(
        _ level: LogLevel, _ message: String, _ fields: [LogField]
    )
        -> Bool
    {
        var entries = [
            "MESSAGE=\(message)", "PRIORITY=\(level.rawValue)", "SYSLOG_IDENTIFIER=engramd",
        ]
        for field in fields {
            let key = field.key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
            entries.append("ENGRAM_\(String(key))=\(field.value)")
        }
        let buffers = entries.map { Array($0.utf8) }
        return withIOVectors(buffers) { vectors in
            sd_journal_sendv(vectors.baseAddress, Int32(vectors.count)) >= 0
        }
    }
}

/// Calls `body` with an iovec array over `buffers`, which stay alive for the call.
private func withIOVectors<R>(
    _ buffers: [[UInt8]], _ body: (UnsafeMutableBufferPointer<iovec>) -> R
) -> R {
    let vectors = UnsafeMutableBufferPointer<iovec>.allocate(capacity: buffers.count)
    defer { vectors.deallocate() }
    let copies = buffers.map { buffer -> UnsafeMutableRawBufferPointer in
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count, alignment: 1)
        copy.copyBytes(from: buffer)
        return copy
    }
    defer { copies.forEach { $0.deallocate() } }
    for (index, copy) in copies.enumerated() {
        vectors[index] = iovec(iov_base: copy.baseAddress, iov_len: copy.count)
    }
    return body(vectors)
}
