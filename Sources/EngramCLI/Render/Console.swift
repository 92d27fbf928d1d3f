// Where the client writes: stdout for answers, stderr for errors, notes and progress.

#if canImport(Glibc)
    import Glibc
#endif

/// The client's output streams.
///
/// Not thread-safe: one command runs on one thread and owns its console. Tests use
/// ``MemoryConsole``; the executable uses ``StandardConsole``.
public protocol Console: AnyObject {
    /// Writes answer text to standard output.
    func out(_ text: String)
    /// Writes errors, notes and progress to standard error, unbuffered.
    func err(_ text: String)
    /// Whether standard error is a terminal (decides the progress bar).
    var stderrIsTerminal: Bool { get }
    /// Whether standard output is a terminal.
    var stdoutIsTerminal: Bool { get }
    /// Pushes buffered standard output to the file descriptor.
    func flush()
}

/// The process's real standard output and error.
///
/// Standard output is buffered (64 KiB) because bulk commands print thousands of lines;
/// ``flush()`` runs before the process exits and before anything goes to standard error, so the
/// two streams stay in order on a shared terminal.
public final class StandardConsole: Console {
    private var buffer: [UInt8] = []
    public let stderrIsTerminal: Bool
    public let stdoutIsTerminal: Bool

    public init() {
        stderrIsTerminal = isatty(2) == 1
        stdoutIsTerminal = isatty(1) == 1
        buffer.reserveCapacity(1 << 16)
    }

    public func out(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 || stdoutIsTerminal {
            flush()
        }
    }

    public func err(_ text: String) {
        flush()
        Self.writeAll(2, Array(text.utf8))
    }

    public func flush() {
        guard !buffer.isEmpty else { return }
        Self.writeAll(1, buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                // The reader went away (`engram … | head`): stop quietly, as a program killed
                // by SIGPIPE would, instead of finishing work nobody reads.
                if errno == EPIPE, fd == 1 { exit(128 + SIGPIPE) }
                return
            }
            offset += written
        }
    }
}

/// A console that keeps what is written, for tests.
public final class MemoryConsole: Console {
    public private(set) var stdout = ""
    public private(set) var stderr = ""
    public var stderrIsTerminal: Bool
    public var stdoutIsTerminal = false

    public init(stderrIsTerminal: Bool = false) {
        self.stderrIsTerminal = stderrIsTerminal
    }

    public func out(_ text: String) { stdout += text }
    public func err(_ text: String) { stderr += text }
    public func flush() {}
}
