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
    @exclusivity(unchecked) public private(set) var position: CSVPosition
    /// The position of the current record (valid after `next()` returned true).
    @exclusivity(unchecked) public private(set) var recordPosition: CSVPosition

    private let descriptor: Int32?
    private let path: String
    // The reader is single-threaded by contract and never reenters itself, so the dynamic
    // exclusivity checks on its hot properties (about 15% of parse time) are turned off.

    /// Read buffer: bytes [start, end) are unread; `bufferOffset` is the file offset of
    /// byte 0. Fields of the current record point into it until the next refill.
    @exclusivity(unchecked) private var storage: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private var start = 0
    @exclusivity(unchecked) private var end = 0
    @exclusivity(unchecked) private var bufferOffset = 0
    @exclusivity(unchecked) private var endOfFile = false

    /// Field i is bytes [fieldStart[i], fieldEnd[i]) of `storage`, or of `unquoted` when
    /// `isQuoted[i]` (quoted fields are copied out with their doubled quotes undone).
    @exclusivity(unchecked) private var fieldStart: [Int] = []
    @exclusivity(unchecked) private var fieldEnd: [Int] = []
    @exclusivity(unchecked) private var isQuoted: [Bool] = []
    @exclusivity(unchecked) private var unquoted: [UInt8] = []

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
        self.capacity = max(bufferSize, 16)
        self.storage = .allocate(capacity: capacity)
        self.position = CSVPosition(byteOffset: 0, row: 0, line: 1)
        self.recordPosition = self.position
        self.header = try readHeader()
        if let position { try seek(to: position) }
    }

    /// Reads CSV text held in memory (tests, small inputs).
    public init(bytes: [UInt8], from position: CSVPosition? = nil) throws {
        self.descriptor = nil
        self.path = "input"
        self.capacity = max(bytes.count, 1)
        self.storage = .allocate(capacity: capacity)
        self.storage.initialize(from: bytes, count: bytes.count)
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
        storage.deallocate()
    }

    /// The index of the first column with this name.
    public func column(named name: String) -> Int? { header.firstIndex(of: name) }

    /// Number of fields of the current record (always `header.count` for data records).
    public var fieldCount: Int { fieldEnd.count }

    /// Advances to the next record.
    ///
    /// - Returns: false at the end of the file.
    /// - Throws: `FeatureError` `csv` with the line of a malformed record (wrong field count,
    ///   unterminated quote, stray quote), or `io`.
    public func next() throws -> Bool {
        guard try readRecord() else { return false }
        guard fieldEnd.count == header.count else {
            throw FeatureError(
                .csv,
                "expected \(header.count) fields as in the header, found "
                    + "\(fieldEnd.count); quote fields that contain commas",
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
        let parsed: Double?
        if isQuoted[index] {
            parsed = withField(index) { parseDecimal($0) ?? (isMissingText($0) ? .nan : nil) }
        } else {
            let bytes = UnsafeBufferPointer(
                start: storage + fieldStart[index], count: fieldEnd[index] - fieldStart[index])
            parsed = parseDecimal(bytes) ?? (isMissingText(bytes) ? .nan : nil)
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
        let from = fieldStart[index]
        let to = fieldEnd[index]
        if isQuoted[index] {
            return unquoted.withUnsafeBufferPointer {
                body(UnsafeBufferPointer(rebasing: $0[from..<to]))
            }
        }
        return body(UnsafeBufferPointer(start: storage + from, count: to - from))
    }

    // MARK: - Header and seeking

    /// Reads the header record. (On a throw from `init` the object is fully initialized,
    /// so `deinit` closes the file and frees the buffer.)
    private func readHeader() throws -> [String] {
        try fill(minimum: 3)
        if end - start >= 3, storage[start] == 0xEF, storage[start + 1] == 0xBB,
            storage[start + 2] == 0xBF
        {
            start += 3
            position.byteOffset = 3
        }
        guard try readRecord(skipBlank: true) else {
            throw FeatureError(.csv, "\(path) is empty; a header row is required", line: 1)
        }
        position.row = 0
        return (0..<fieldEnd.count).map(string)
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
            guard target.byteOffset <= end else {
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

    /// Reads one record into the field arrays, refilling the buffer as needed.
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
        fieldStart.removeAll(keepingCapacity: true)
        fieldEnd.removeAll(keepingCapacity: true)
        isQuoted.removeAll(keepingCapacity: true)
        unquoted.removeAll(keepingCapacity: true)
        let bytes = storage
        let end = self.end
        var i = start
        var lines = 0
        var recordLine = position.line
        var recordOffset = position.byteOffset

        // Blank lines between records.
        while skipBlank, i < end, bytes[i] == 0x0A || bytes[i] == 0x0D {
            if bytes[i] == 0x0D {
                if i + 1 >= end && !endOfFile { return .needMore }
                if i + 1 < end && bytes[i + 1] == 0x0A { i += 1 }
            }
            i += 1
            recordLine += 1
            recordOffset = bufferOffset + i
        }
        if i >= end {
            if !endOfFile { return .needMore }
            commit(i, recordOffset: recordOffset, recordLine: recordLine, nextLine: recordLine)
            return .endOfInput
        }
        while true {
            if bytes[i] == UInt8(ascii: "\"") {
                guard let after = try scanQuoted(from: i, line: recordLine + lines, &lines)
                else { return .needMore }
                i = after
            } else {
                let from = i
                while i < end {
                    let byte = bytes[i]
                    if byte == 0x2C || byte == 0x0A || byte == 0x0D { break }
                    if byte == 0x22 {
                        throw FeatureError(
                            .csv,
                            "a quote inside an unquoted field; quote the whole field and double "
                                + "the quote", line: recordLine + lines,
                            column: fieldEnd.count + 1)
                    }
                    i += 1
                }
                fieldStart.append(from)
                fieldEnd.append(i)
                isQuoted.append(false)
            }

            // The delimiter after the field.
            guard i < end else {
                if !endOfFile { return .needMore }
                commit(
                    i, recordOffset: recordOffset, recordLine: recordLine,
                    nextLine: recordLine + lines)
                return .record
            }
            let byte = bytes[i]
            if byte == 0x2C {
                i += 1
                if i < end { continue }
                if !endOfFile { return .needMore }
                fieldStart.append(i)
                fieldEnd.append(i)
                isQuoted.append(false)
                commit(
                    i, recordOffset: recordOffset, recordLine: recordLine,
                    nextLine: recordLine + lines)
                return .record
            }
            if byte == 0x0D {
                if i + 1 >= end && !endOfFile { return .needMore }
                if i + 1 < end && bytes[i + 1] == 0x0A { i += 1 }
            }
            commit(
                i + 1, recordOffset: recordOffset, recordLine: recordLine,
                nextLine: recordLine + lines + 1)
            return .record
        }
    }

    /// Scans a quoted field starting at the opening quote; returns the index after the
    /// closing quote, or nil when the buffer ends first (and more input may follow).
    private func scanQuoted(from opening: Int, line: Int, _ lines: inout Int) throws -> Int? {
        let bytes = storage
        var i = opening + 1
        let from = unquoted.count
        while true {
            guard i < end else {
                if !endOfFile { return nil }
                throw FeatureError(
                    .csv, "unterminated quoted field (the quote opens here)", line: line)
            }
            let byte = bytes[i]
            if byte == 0x22 {
                if i + 1 >= end && !endOfFile { return nil }
                if i + 1 < end && bytes[i + 1] == 0x22 {
                    unquoted.append(byte)
                    i += 2
                    continue
                }
                i += 1
                break
            }
            if byte == 0x0A { lines += 1 }
            unquoted.append(byte)
            i += 1
        }
        if i < end, bytes[i] != 0x2C, bytes[i] != 0x0A, bytes[i] != 0x0D {
            throw FeatureError(
                .csv, "unexpected text after a closing quote", line: line + lines,
                column: fieldEnd.count + 1)
        }
        fieldStart.append(from)
        fieldEnd.append(unquoted.count)
        isQuoted.append(true)
        return i
    }

    /// Consumes the scanned bytes up to `index`.
    private func commit(_ index: Int, recordOffset: Int, recordLine: Int, nextLine: Int) {
        recordPosition = CSVPosition(byteOffset: recordOffset, row: position.row, line: recordLine)
        if !fieldEnd.isEmpty { position.row += 1 }
        position.line = nextLine
        position.byteOffset = bufferOffset + index
        start = index
    }

    // MARK: - Buffer

    /// Makes at least `minimum` unread bytes available (fewer at end of file). Moves the
    /// unread bytes to the front, so field offsets are invalid afterwards.
    private func fill(minimum: Int) throws {
        guard let descriptor, !endOfFile else { return }
        if start > 0 {
            let unread = end - start
            if unread > 0 { memmove(storage, storage + start, unread) }
            bufferOffset += start
            end = unread
            start = 0
        }
        if minimum > capacity {
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            grown.update(from: storage, count: end)
            storage.deallocate()
            storage = grown
            capacity *= 2
        }
        while end - start < minimum && !endOfFile && end < capacity {
            let count = read(descriptor, storage + end, capacity - end)
            if count < 0 {
                if errno == EINTR { continue }
                throw FeatureError(
                    .io, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { endOfFile = true } else { end += count }
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
