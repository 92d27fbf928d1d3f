// The one error type of EngramStore: a stable code, the LMDB or errno code where one caused it,
// and a message that says what to do.

import CLMDB

#if canImport(Glibc)
    import Glibc
#endif

/// Every failure of the store. `code` is stable (tests and the server map it to protocol
/// errors); `message` is for people and ends with a remedy; `systemCode` is the LMDB return
/// code or errno when one caused the failure.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable error codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// A bank name is not 1…64 bytes of letters, digits, `.`, `_`, `-`.
        case badName
        /// A bank with that name already exists.
        case exists
        /// No bank with that name.
        case noBank
        /// A vector's length differs from the bank's dimension, or a dimension is out of range.
        case dimension
        /// A component is NaN or infinite.
        case nonFinite
        /// No pattern with that sequence number, or no job with that id.
        case notFound
        /// The map reached its configured cap.
        case full
        /// An append's `ifRowsDone` precondition failed: the job's committed progress differs
        /// (another run of the job got there first).
        case conflict
        /// The directory holds something that is not an Engram store.
        case notAStore
        /// The store's content is inconsistent (a missing database, a malformed record).
        case corrupt
        /// A parameter is out of range (β, α, label or metadata too long, bad job record).
        case invalid
        /// The bank table is full (`StoreOptions.maxBanks`).
        case tooManyBanks
        /// The directory is already open in this process.
        case inUse
        /// The store was closed.
        case closed
        /// A file-system failure (permissions, missing directory, disk full).
        case io
        /// Any other LMDB failure; `systemCode` holds LMDB's code.
        case lmdb
    }

    public let code: Code
    public let message: String
    /// The LMDB return code or errno behind the error, if any.
    public let systemCode: Int32?

    public init(_ code: Code, _ message: String, systemCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.systemCode = systemCode
    }

    public var description: String {
        if let systemCode {
            return "\(code.rawValue): \(message) [\(describeSystemCode(systemCode))]"
        }
        return "\(code.rawValue): \(message)"
    }
}

/// LMDB's text for its own codes and errno values alike (`mdb_strerror` covers both).
func describeSystemCode(_ rc: Int32) -> String {
    guard let text = mdb_strerror(rc) else { return "code \(rc)" }
    return "\(String(cString: text)) (\(rc))"
}

extension StoreError {
    /// Maps an LMDB return code to a store error, naming the operation that failed.
    static func lmdb(_ rc: Int32, _ operation: String) -> StoreError {
        switch rc {
        case MDB_MAP_FULL:
            return StoreError(
                .full, "\(operation): the map is full; raise the map cap", systemCode: rc)
        case MDB_INVALID, MDB_VERSION_MISMATCH:
            return StoreError(
                .notAStore,
                "\(operation): the file is not an LMDB environment of this version; "
                    + "point the store at an Engram state directory or an empty one",
                systemCode: rc)
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND:
            return StoreError(
                .corrupt, "\(operation): the database is damaged; restore from a backup",
                systemCode: rc)
        case MDB_PANIC:
            return StoreError(
                .lmdb, "\(operation): LMDB panicked; restart the process", systemCode: rc)
        case MDB_READERS_FULL:
            return StoreError(
                .lmdb,
                "\(operation): all reader slots are taken; close idle readers or "
                    + "raise maxReaders", systemCode: rc)
        case MDB_DBS_FULL:
            return StoreError(
                .tooManyBanks, "\(operation): too many databases; raise maxBanks",
                systemCode: rc)
        case MDB_TXN_FULL:
            return StoreError(
                .invalid, "\(operation): the transaction is too large; append smaller batches",
                systemCode: rc)
        case EACCES, EPERM, EROFS:
            return StoreError(
                .io, "\(operation): permission denied; check the directory's owner and mode",
                systemCode: rc)
        case ENOSPC:
            return StoreError(
                .io, "\(operation): no space left on the device; free disk space",
                systemCode: rc)
        case _ where rc > 0:
            return StoreError(
                .io, "\(operation) failed; check the file system", systemCode: rc)
        default:
            return StoreError(
                .lmdb, "\(operation) failed; see the LMDB code", systemCode: rc)
        }
    }

    static let closedError = StoreError(
        .closed, "the store is closed; open it again to use it")
}
