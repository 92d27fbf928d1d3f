// Streaming lines out of a file without loading it whole.

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a file line by line with getline(3). Not thread-safe; closes the file on release.
final class LineReader {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var line: UnsafeMutablePointer<CChar>?
    private var capacity = 0
    /// The 1-based number of the line last returned.
    private(set) var lineNumber = 0
    /// Bytes consumed so far, for progress.
    private(set) var bytesRead = 0
    /// The size of the file in bytes when it was opened (0 for pipes).
    let size: Int

    /// Opens `path` (`-` is standard input).
    ///
    /// - Throws: `io` naming the path and the reason.
    init(path: String) throws(CLIError) {
        self.path = path
        let opened = path == "-" ? fdopen(dup(0), "r") : fopen(path, "re")
        guard let opened else {
            throw CLIError(.io, "cannot read \(path): \(UnixSocket.reason(errno))")
        }
        file = opened
        setvbuf(opened, nil, _IOFBF, 1 << 20)  // 1 MiB reads instead of 4 KiB ones
        var status = stat()
        size = fstat(fileno(opened), &status) == 0 ? Int(status.st_size) : 0
    }

    deinit {
        free(line)
        fclose(file)
    }

    /// The next line without its line ending, or nil at the end of the file.
    func next() throws(CLIError) -> Substring? {
        guard let bytes = try nextBytes() else { return nil }
        return String(decoding: bytes, as: UTF8.self)[...]
    }

    /// The next line's bytes without the line ending, valid until the next call; nil at the
    /// end of the file. No copy: this is the bulk path.
    func nextBytes() throws(CLIError) -> UnsafeBufferPointer<UInt8>? {
        let count = getline(&line, &capacity, file)
        guard count >= 0, let line else {
            if ferror(file) != 0 {
                throw CLIError(.io, "cannot read \(path): \(UnixSocket.reason(errno))")
            }
            return nil
        }
        lineNumber += 1
        bytesRead += count
        var length = count
        var bytes = UnsafeRawPointer(line).assumingMemoryBound(to: UInt8.self)
        while length > 0, bytes[length - 1] == 0x0A || bytes[length - 1] == 0x0D { length -= 1 }
        // A UTF-8 byte order mark, as spreadsheet exports write, is not part of the first cell.
        if lineNumber == 1, length >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            bytes += 3
            length -= 3
        }
        return UnsafeBufferPointer(start: bytes, count: length)
    }
}
