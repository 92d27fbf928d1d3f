// On-disk records: the format marker, bank records and job records (JSON, so `mdb_dump`
// shows them to people), and the pattern value layout (binary).

import EngramRetrieval

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// MARK: - Format marker

/// The `engram.meta` database holds `format` → this text. A store with another value, or an
/// LMDB environment without the database, is refused.
let formatMarker = "engram-store/1"

// MARK: - Names and limits

enum Limits {
    static let nameBytes = 1...64
    static let dimension = 1...65536
    /// The same as the protocol's `Command.maxLabelBytes`, so a label the wire accepts is
    /// always stored.
    static let labelBytes = 4096
    static let metadataBytes = 1 << 20
    static let jobIDBytes = 1...128
    static let jobTextBytes = 4096
}

/// Checks a bank name: 1…64 bytes of ASCII letters, digits, `.`, `_`, `-`.
func validateBankName(_ name: String) throws {
    let utf8 = name.utf8
    let allowed = utf8.allSatisfy { byte in
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
            || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2E || byte == 0x5F || byte == 0x2D
    }
    guard Limits.nameBytes.contains(utf8.count), allowed else {
        throw StoreError(
            .badName,
            "invalid bank name '\(quoted(name))': use 1 to 64 letters, digits, '.', '_' or '-'")
    }
}

/// Cuts user text to 32 characters and drops control characters for messages.
func quoted(_ text: String) -> String {
    let clean = String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
    return clean.count > 32 ? String(clean.prefix(32)) + "…" : clean
}

func validateSpec(_ spec: BankSpec) throws {
    try validateBankName(spec.name)
    guard Limits.dimension.contains(spec.dimension) else {
        throw StoreError(
            .dimension, "dimension \(spec.dimension) is out of range: use 1 to 65536")
    }
    guard spec.beta.isFinite && spec.beta > 0 else {
        throw StoreError(.invalid, "beta \(spec.beta) is out of range: use a finite value > 0")
    }
    if case .entmax(let alpha) = spec.mode, !(alpha > 1 && alpha <= 2) {
        throw StoreError(.invalid, "alpha \(alpha) is out of range: use 1 < alpha <= 2")
    }
    try validateMetadata(spec.metadata)
}

func validateMetadata(_ metadata: String) throws {
    guard metadata.utf8.count <= Limits.metadataBytes else {
        throw StoreError(.invalid, "metadata of \(metadata.utf8.count) bytes is over 1 MiB")
    }
}

func validateLabel(_ label: String?) throws {
    guard let label else { return }
    guard label.utf8.count <= Limits.labelBytes else {
        throw StoreError(
            .invalid,
            "label '\(quoted(label))' is \(label.utf8.count) bytes: at most \(Limits.labelBytes)")
    }
}

func validateJob(_ job: JobProgress) throws {
    let controls = job.id.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    guard Limits.jobIDBytes.contains(job.id.utf8.count), !controls else {
        throw StoreError(
            .invalid, "job id '\(quoted(job.id))' is invalid: use 1 to 128 printable bytes")
    }
    try validateBankName(job.bank)
    guard job.source.utf8.count <= Limits.jobTextBytes,
        job.message.utf8.count <= Limits.jobTextBytes
    else {
        throw StoreError(.invalid, "job source or message is over 4096 bytes; shorten it")
    }
}

// MARK: - Bank records

/// `engram.banks`: bank name → this record as JSON.
struct BankRecord: Codable {
    var version = 1
    var name: String
    var dimension: Int
    var mode: String
    var alpha: Double
    var beta: Double
    var normalization: String
    var metadata: String
    var created: Int64

    init(_ spec: BankSpec, created: Int64) {
        name = spec.name
        dimension = spec.dimension
        switch spec.mode {
        case .sparsemax: (mode, alpha) = ("sparsemax", 2)
        case .softmax: (mode, alpha) = ("softmax", 1)
        case .entmax(let value): (mode, alpha) = ("entmax", value)
        }
        beta = spec.beta
        normalization = spec.normalization.rawValue
        metadata = spec.metadata
        self.created = created
    }

    func spec() throws -> BankSpec {
        let mode: Normalizer
        switch self.mode {
        case "sparsemax": mode = .sparsemax
        case "softmax": mode = .softmax
        case "entmax": mode = .entmax(alpha: alpha)
        default: throw StoreError(.corrupt, "bank '\(name)' has an unknown mode '\(self.mode)'")
        }
        guard let normalization = Normalization(rawValue: normalization) else {
            throw StoreError(.corrupt, "bank '\(name)' has an unknown normalization")
        }
        return BankSpec(
            name: name, dimension: dimension, mode: mode, beta: beta,
            normalization: normalization, metadata: metadata)
    }

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try! encoder.encode(self))
    }

    static func decode(_ bytes: [UInt8]) throws -> BankRecord {
        do {
            return try JSONDecoder().decode(BankRecord.self, from: Data(bytes))
        } catch {
            throw StoreError(.corrupt, "a bank record is malformed; restore from a backup")
        }
    }
}

// MARK: - Job records

/// `engram.jobs`: job id → this record as JSON.
struct JobRecord: Codable {
    var id: String
    var bank: String
    var source: String
    var position: UInt64
    var rows: UInt64
    var total: UInt64?
    var skipped: UInt64
    var state: String
    var message: String
    var updated: Int64

    init(_ job: JobProgress) {
        id = job.id
        bank = job.bank
        source = job.source
        position = job.position
        rows = job.rowsDone
        total = job.total
        skipped = job.skipped
        state = job.state.rawValue
        message = job.message
        updated = job.updatedMicros
    }

    var job: JobProgress {
        JobProgress(
            id: id, bank: bank, source: source, position: position, rowsDone: rows,
            total: total, skipped: skipped, state: JobState(rawValue: state) ?? .failed,
            message: message, updatedMicros: updated)
    }

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try! encoder.encode(self))
    }

    static func decode(_ bytes: [UInt8]) throws -> JobRecord {
        do {
            return try JSONDecoder().decode(JobRecord.self, from: Data(bytes))
        } catch {
            throw StoreError(.corrupt, "a job record is malformed; restore from a backup")
        }
    }
}

// MARK: - Pattern values

/// `p/<bank>`: big-endian u64 seq → `dimension` little-endian Float32 values, then the
/// append time as a little-endian Int64 of microseconds. Labels live in `l/<bank>`.
// TODO(#4): one row per LMDB node leaves page space unused when a node does not divide 4 KiB
// (dimension 256: three rows per page, data.mdb ≈ 1.34 × raw); packing rows needs a format 2.
enum PatternValue {
    static func size(dimension: Int) -> Int { dimension * 4 + 8 }

    /// Writes a value into reserved map space (only 2-byte aligned: byte copies only).
    static func write(
        _ values: UnsafePointer<Float>, dimension: Int, micros: Int64,
        to target: UnsafeMutableRawPointer
    ) {
        target.copyMemory(from: values, byteCount: dimension * 4)
        target.storeBytes(of: micros.littleEndian, toByteOffset: dimension * 4, as: Int64.self)
    }

    static func micros(_ data: UnsafeRawPointer, dimension: Int) -> Int64 {
        Int64(littleEndian: data.loadUnaligned(fromByteOffset: dimension * 4, as: Int64.self))
    }
}

// MARK: - Database names

enum DatabaseName {
    static let meta = "engram.meta"
    static let banks = "engram.banks"
    static let jobs = "engram.jobs"
    static func patterns(_ bank: String) -> String { "p/" + bank }
    static func labels(_ bank: String) -> String { "l/" + bank }
}
