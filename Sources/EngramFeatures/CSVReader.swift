// A streaming RFC 4180 CSV reader: a header row, quoted fields (commas, doubled quotes and
// line breaks inside), LF or CRLF line ends; fixed memory, resumable at a byte offset.

import Glibc

/// Where a record starts, so a reader can resume there.
public struct CSVPosition: Sendable, Hashable, Codable {
    /// Offset in bytes from the start of the file.
    public var byteOffset: Int
    /// 0-based index of the data row (the header is not a row).
    public var row: Int
    /// 1-based physical line of the file where the record starts.
    public var line: Int

    public init(byteOffset: Int, row: Int, line: Int) {
        self.byteOffset = byteOffset
        self.row = row
        self.line = line
    }
}

/// Reads a CSV file record by record without holding the file in memory.
///
/// The first record is the header; every data record must have as many fields. Blank lines
/// are skipped when the header has more than one column (with one column a blank line is a
/// missing value). A UTF-8 byte-order mark before the header is ignored. Fields of the
/// current record are read with `string(_:)` and `number(_:)`; they stay valid until the next
/// call of `next()`.
///
/// Not thread-safe. Memory: one read buffer (grown only for a record longer than it) and one
/// record's fields.
public final class CSVReader {
    /// Column names, unquoted.
    public private(set) var header: [String] = []
    /// The position of the next record (what to store to resume after the current one).
    public private(set) var position: CSVPosition
    /// The position of the current record (valid after `next()` returned true).
    public private(set) var recordPosition: CSVPosition

    private let descriptor: Int32?
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var bufferOffset = 0
    private var endOfFile = false
    private let path: String

    private var fields: [UInt8] = []
    private var fieldEnds: [Int] = []

    /// Opens a file and reads its header.
    ///
    /// - Parameter position: resume at this record (a `position` saved earlier from a reader
    ///   of the same file); nil starts at the first data row.
    /// - Throws: `FeatureError` `io` (cannot open or read) or `csv` (malformed header, or a
    ///   position before the end of the header).
    public init(
        path: String, from position: CSVPosition? = nil, bufferSize: Int = 1 << 20
    )
        throws
    {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw FeatureError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        self.descriptor = fd
        self.path = path
        self.buffer = [UInt8](repeating: 0, count: max(bufferSize, 4096))
        self.position = CSVPosition(byteOffset: 0, row: 0, line: 1)
        self.recordPosition = self.position
        do {
            self.header = try readHeader()
            if let position { try seek(to: position) }
        } catch {
            close(fd)
            throw error
        }
    }

    /// Reads CSV text held in memory (tests, small inputs).
    public init(bytes: [UInt8], from position: CSVPosition? = nil) throws {
        self.descriptor = nil
        self.path = "input"
        self.buffer = bytes
        self.end = bytes.count
        self.endOfFile = true
        self.position = CSVPosition(byteOffset: 0, row: 0, line: 1)
        self.recordPosition = self.position
        self.header = try readHeader()
        if let position { try seek(to: position) }
    }

    /// Reads CSV text held in memory.
    public convenience init(text: String, from position: CSVPosition? = nil) throws {
        try self.init(bytes: Array(text.utf8), from: position)
    }

    deinit {
        if let descriptor { close(descriptor) }
    }

    /// The index of the first column with this name.
    public func column(named name: String) -> Int? { header.firstIndex(of: name) }

    /// Number of fields of the current record (always `header.count` for data records).
    public var fieldCount: Int { fieldEnds.count }

    /// Advances to the next record.
    ///
    /// - Returns: false at the end of the file.
    /// - Throws: `FeatureError` `csv` with the line of a malformed record (wrong field count,
    ///   unterminated quote, stray quote), or `io`.
    public func next() throws -> Bool {
        guard try readRecord() else { return false }
        guard fieldEnds.count == header.count else {
            throw FeatureError(
                .csv,
                "expected \(header.count) fields as in the header, found "
                    + "\(fieldEnds.count); quote fields that contain commas",
                line: recordPosition.line)
        }
        return true
    }

    /// The text of field `index` of the current record, unquoted.
    public func string(_ index: Int) -> String {
        withField(index) { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether field `index` is missing: blank, `NA` or `NaN` (any case).
    public func isMissing(_ index: Int) -> Bool {
        withField(index) { isMissingText($0) }
    }

    /// Field `index` as a number; NaN when missing.
    ///
    /// - Throws: `FeatureError` `csv` naming the line and column when the field is neither
    ///   missing nor a finite decimal number.
    public func number(_ index: Int) throws -> Double {
        let parsed: Double? = withField(index) { bytes in
            if let value = parseDecimal(bytes) { return value }
            return isMissingText(bytes) ? .nan : nil
        }
        guard let parsed else {
            throw FeatureError(
                .csv,
                "column '\(header[index])': '\(string(index))' is not a number "
                    + "(use a blank cell or NA for a missing value)",
                line: recordPosition.line, column: index + 1)
        }
        return parsed
    }

    private func withField<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let from = index == 0 ? 0 : fieldEnds[index - 1]
        return fields.withUnsafeBufferPointer {
            body(UnsafeBufferPointer(rebasing: $0[from..<fieldEnds[index]]))
        }
    }

    // MARK: - Header and seeking

    private func readHeader() throws -> [String] {
        try fill(minimum: 3)
        if end - start >= 3, buffer[start] == 0xEF, buffer[start + 1] == 0xBB,
            buffer[start + 2] == 0xBF
        {
            start += 3
            position.byteOffset = 3
        }
        guard try readRecord(skipBlank: true) else {
            throw FeatureError(.csv, "\(path) is empty; a header row is required", line: 1)
        }
        let names = (0..<fieldEnds.count).map(string)
        position.row = 0
        return names
    }

    private func seek(to target: CSVPosition) throws {
        guard target.byteOffset >= position.byteOffset, target.row >= 0, target.line >= 1
        else {
            throw FeatureError(
                .spec, "resume position \(target.byteOffset) is inside the header of \(path)")
        }
        if let descriptor {
            guard lseek(descriptor, off_t(target.byteOffset), SEEK_SET) >= 0 else {
                throw FeatureError(
                    .io, "cannot seek in \(path): \(String(cString: strerror(errno)))")
            }
            start = 0
            end = 0
            bufferOffset = target.byteOffset
            endOfFile = false
        } else {
            guard target.byteOffset <= buffer.count else {
                throw FeatureError(.spec, "resume position is past the end of the input")
            }
            start = target.byteOffset
        }
        position = target
    }

    // MARK: - Record scanner

    private enum Scan {
        case record
        case needMore
        case endOfInput
    }

    /// Reads one record into `fields`/`fieldEnds`, refilling the buffer as needed.
    private func readRecord(skipBlank: Bool = false) throws -> Bool {
        while true {
            switch try scanRecord(skipBlank: skipBlank || header.count > 1) {
            case .record: return true
            case .endOfInput: return false
            case .needMore: try fill(minimum: end - start + 1)
            }
        }
    }

    /// Scans the buffer from `start`; on success consumes the record and updates positions.
    /// Returns `.needMore` when the record may continue past the buffered bytes.
    private func scanRecord(skipBlank: Bool) throws -> Scan {
        fields.removeAll(keepingCapacity: true)
        fieldEnds.removeAll(keepingCapacity: true)
        var i = start
        var lines = 0
        var startLine = position.line
        var startOffset = position.byteOffset

        return try buffer.withUnsafeBufferPointer { bytes in
            // Blank lines between records.
            while skipBlank, i < end, bytes[i] == 0x0A || bytes[i] == 0x0D {
                if bytes[i] == 0x0D, i + 1 >= end, !endOfFile { return .needMore }
                if bytes[i] == 0x0D, i + 1 < end, bytes[i + 1] == 0x0A { i += 1 }
                i += 1
                startLine += 1
                startOffset = bufferOffset + i
            }
            if i >= end {
                if !endOfFile { return .needMore }
                commit(i, recordOffset: startOffset, recordLine: startLine, nextLine: startLine)
                return .endOfInput
            }
            while true {
                // One field.
                if bytes[i] == UInt8(ascii: "\"") {
                    let quoteLine = startLine + lines
                    i += 1
                    while true {
                        guard i < end else {
                            if !endOfFile { return .needMore }
                            throw FeatureError(
                                .csv, "unterminated quoted field (the quote opens here)",
                                line: quoteLine)
                        }
                        let byte = bytes[i]
                        if byte == UInt8(ascii: "\"") {
                            if i + 1 >= end && !endOfFile { return .needMore }
                            if i + 1 < end && bytes[i + 1] == UInt8(ascii: "\"") {
                                fields.append(byte)
                                i += 2
                                continue
                            }
                            i += 1
                            break
                        }
                        if byte == 0x0A { lines += 1 }
                        fields.append(byte)
                        i += 1
                    }
                    if i < end, bytes[i] != UInt8(ascii: ","), bytes[i] != 0x0A, bytes[i] != 0x0D {
                        throw FeatureError(
                            .csv, "unexpected text after a closing quote",
                            line: startLine + lines, column: fieldEnds.count + 1)
                    }
                } else {
                    while i < end {
                        let byte = bytes[i]
                        if byte == UInt8(ascii: ",") || byte == 0x0A || byte == 0x0D { break }
                        if byte == UInt8(ascii: "\"") {
                            throw FeatureError(
                                .csv,
                                "a quote inside an unquoted field; quote the whole field "
                                    + "and double the quote", line: startLine + lines,
                                column: fieldEnds.count + 1)
                        }
                        fields.append(byte)
                        i += 1
                    }
                }
                fieldEnds.append(fields.count)

                // The delimiter after it.
                guard i < end else {
                    if !endOfFile { return .needMore }
                    commit(
                        i, recordOffset: startOffset, recordLine: startLine,
                        nextLine: startLine + lines)
                    return .record
                }
                let byte = bytes[i]
                if byte == UInt8(ascii: ",") {
                    i += 1
                    if i >= end && !endOfFile { return .needMore }
                    if i >= end {
                        fieldEnds.append(fields.count)
                        commit(
                            i, recordOffset: startOffset, recordLine: startLine,
                            nextLine: startLine + lines)
                        return .record
                    }
                    continue
                }
                if byte == 0x0D {
                    if i + 1 >= end && !endOfFile { return .needMore }
                    if i + 1 < end && bytes[i + 1] == 0x0A { i += 1 }
                }
                i += 1
                commit(
                    i, recordOffset: startOffset, recordLine: startLine,
                    nextLine: startLine + lines + 1)
                return .record
            }
        }
    }

    /// Consumes the scanned bytes up to `index`.
    private func commit(_ index: Int, recordOffset: Int, recordLine: Int, nextLine: Int) {
        recordPosition = CSVPosition(byteOffset: recordOffset, row: position.row, line: recordLine)
        if !fieldEnds.isEmpty { position.row += 1 }
        position.line = nextLine
        position.byteOffset = bufferOffset + index
        start = index
    }

    // MARK: - Buffer

    /// Makes at least `minimum` unread bytes available (fewer at end of file).
    private func fill(minimum: Int) throws {
        guard let descriptor, !endOfFile else { return }
        if start > 0 {
            let unread = end - start
            if unread > 0 {
                buffer.withUnsafeMutableBufferPointer { bytes in
                    _ = memmove(bytes.baseAddress!, bytes.baseAddress! + start, unread)
                }
            }
            bufferOffset += start
            end = unread
            start = 0
        }
        if minimum > buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
        while end - start < minimum && !endOfFile {
            let count = buffer.withUnsafeMutableBufferPointer { bytes in
                read(descriptor, bytes.baseAddress! + end, bytes.count - end)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw FeatureError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { endOfFile = true } else { end += count }
            if end == buffer.count { break }
        }
    }
}

private func isMissingText(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var text: [UInt8] = []
    for byte in bytes where byte != 0x20 && byte != 0x09 {
        guard text.count < 3 else { return false }
        text.append(byte | 0x20)
    }
    return text.isEmpty || text == [0x6E, 0x61] || text == [0x6E, 0x61, 0x6E]
}
