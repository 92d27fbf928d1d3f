// Thin wrappers over the LMDB C API: the environment handle, the remap lock, transactions,
// keys and values. Everything that touches `MDB_txn` stays inside one synchronous function.

import CLMDB
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

#if !_endian(little)
    #error("EngramStore writes Float32 little-endian by memcpy: port the codec first")
#endif

/// Throws a `StoreError` for a non-zero LMDB return code.
@inline(__always)
func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws {
    if rc != 0 { throw StoreError.lmdb(rc, operation()) }
}

// MARK: - Environment

/// The LMDB environment. LMDB's env is thread-safe; transactions are confined as LMDB
/// requires: write transactions begin and commit in one function on the writer thread (or on
/// the opening thread before the writer starts); read transactions use `MDB_NOTLS` and live
/// inside one `withRead` call.
final class Environment: @unchecked Sendable {
    let raw: OpaquePointer
    /// Readers hold it shared for the life of a read transaction; the writer takes it
    /// exclusively to call `mdb_env_set_mapsize`, which unmaps and remaps the file.
    let remap = RemapLock()
    /// Set (under the exclusive remap lock) just before `mdb_env_close`.
    let isClosed = Atomic<Bool>(false)

    init(raw: OpaquePointer) {
        self.raw = raw
    }

    var info: MDB_envinfo {
        var info = MDB_envinfo()
        mdb_env_info(raw, &info)
        return info
    }

    var pageSize: Int {
        var stat = MDB_stat()
        mdb_env_stat(raw, &stat)
        return Int(stat.ms_psize)
    }

    /// Runs `body` in a read transaction under the shared remap lock. Handles a map grown by
    /// another process (`MDB_MAP_RESIZED`) and a full reader table (one stale-reader sweep).
    func withRead<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        var retried = false
        while true {
            remap.lockShared()
            if isClosed.load(ordering: .acquiring) {
                remap.unlock()
                throw StoreError.closedError
            }
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(raw, nil, UInt32(MDB_RDONLY), &txn)
            if rc == 0, let txn {
                defer {
                    mdb_txn_abort(txn)
                    remap.unlock()
                }
                return try body(txn)
            }
            remap.unlock()
            guard !retried, rc == MDB_MAP_RESIZED || rc == MDB_READERS_FULL else {
                throw StoreError.lmdb(rc, "begin read transaction")
            }
            retried = true
            if rc == MDB_MAP_RESIZED {
                adoptForeignMapSize()
            } else {
                var dead: Int32 = 0
                mdb_reader_check(raw, &dead)
            }
        }
    }

    /// Runs `body` while the environment is open and cannot be remapped or closed (the
    /// shared remap lock), without a read transaction of ours.
    func withOpen<T>(_ body: () throws -> T) throws -> T {
        remap.lockShared()
        defer { remap.unlock() }
        guard !isClosed.load(ordering: .acquiring) else { throw StoreError.closedError }
        return try body()
    }

    /// Another process grew the map: adopt its size (needs no transaction of ours open).
    // TODO(#4): untested: no test makes a second process grow the map while this one runs.
    func adoptForeignMapSize() {
        remap.lockExclusive()
        mdb_env_set_mapsize(raw, 0)
        remap.unlock()
    }
}

// MARK: - Remap lock

/// A writer-preferring pthread read-write lock, so a waiting map growth is not starved by a
/// stream of readers. Readers never nest it (one read transaction per call).
final class RemapLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(
            &attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func lockShared() { pthread_rwlock_rdlock(lock) }
    func lockExclusive() { pthread_rwlock_wrlock(lock) }
    func unlock() { pthread_rwlock_unlock(lock) }
}

// MARK: - Keys and values

/// Sequence-number keys: big-endian u64, so memcmp order is numeric order and MDB_APPEND
/// works past 255.
@inline(__always)
func withSeqKey<T>(_ seq: UInt64, _ body: (inout MDB_val) throws -> T) rethrows -> T {
    var bigEndian = seq.bigEndian
    return try withUnsafeMutableBytes(of: &bigEndian) { bytes in
        var key = MDB_val(mv_size: 8, mv_data: bytes.baseAddress)
        return try body(&key)
    }
}

/// Decodes a sequence-number key; nil if it is not 8 bytes.
@inline(__always)
func seqKey(_ key: MDB_val) -> UInt64? {
    guard key.mv_size == 8, let data = key.mv_data else { return nil }
    return UInt64(bigEndian: data.loadUnaligned(as: UInt64.self))
}

/// Runs `body` with an `MDB_val` over the UTF-8 bytes of `text`.
func withTextVal<T>(_ text: String, _ body: (inout MDB_val) throws -> T) rethrows -> T {
    var text = text
    return try text.withUTF8 { utf8 in
        var val = MDB_val(
            mv_size: utf8.count, mv_data: UnsafeMutableRawPointer(mutating: utf8.baseAddress))
        return try body(&val)
    }
}

/// Runs `body` with an `MDB_val` over `bytes`.
func withBytesVal<T>(_ bytes: [UInt8], _ body: (inout MDB_val) throws -> T) rethrows -> T {
    try bytes.withUnsafeBytes { raw in
        var val = MDB_val(
            mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
        return try body(&val)
    }
}

/// Copies a value out of the map (values are only 2-byte aligned and die with the txn).
func bytes(of val: MDB_val) -> [UInt8] {
    guard val.mv_size > 0, let data = val.mv_data else { return [] }
    return Array(UnsafeRawBufferPointer(start: data, count: val.mv_size))
}

func text(of val: MDB_val) -> String {
    guard val.mv_size > 0, let data = val.mv_data else { return "" }
    let buffer = UnsafeRawBufferPointer(start: data, count: val.mv_size)
    return String(decoding: buffer, as: UTF8.self)
}

/// Looks a key up; nil for `MDB_NOTFOUND`.
func get(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: inout MDB_val) throws -> MDB_val? {
    var val = MDB_val()
    let rc = mdb_get(txn, dbi, &key, &val)
    if rc == MDB_NOTFOUND { return nil }
    try check(rc, "read")
    return val
}

/// A read or write cursor, closed when `body` returns.
func withCursor<T>(
    _ txn: OpaquePointer, _ dbi: MDB_dbi, _ body: (OpaquePointer) throws -> T
) throws -> T {
    var cursor: OpaquePointer?
    try check(mdb_cursor_open(txn, dbi, &cursor), "open cursor")
    defer { mdb_cursor_close(cursor) }
    return try body(cursor!)
}

/// Positions a cursor; returns false for `MDB_NOTFOUND`.
func cursorGet(
    _ cursor: OpaquePointer, _ key: inout MDB_val, _ val: inout MDB_val, _ op: MDB_cursor_op
) throws -> Bool {
    let rc = mdb_cursor_get(cursor, &key, &val, op)
    if rc == MDB_NOTFOUND { return false }
    try check(rc, "read cursor")
    return true
}

/// Microseconds since the Unix epoch.
func nowMicros() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}
