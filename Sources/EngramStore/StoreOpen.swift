// Opening a store: the state directory check, the environment, the format marker, the
// database handles and the in-memory matrices.

import CLMDB
import EngramRetrieval
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Real paths of the directories open in this process: LMDB must never open one twice
/// (closing the second handle would drop the first one's POSIX locks).
let openDirectories = Mutex<Set<String>>([])

// MARK: - Directory

/// Creates the directory if needed and refuses one that holds something else than a store.
func prepareDirectory(_ path: String) throws -> String {
    var status = stat()
    if stat(path, &status) != 0 {
        guard errno == ENOENT else { throw ioError("cannot inspect '\(path)'", errno) }
        try makeDirectories(path)
    } else if status.st_mode & S_IFMT != S_IFDIR {
        throw StoreError(
            .notAStore, "'\(path)' is not a directory; give the store a directory path")
    }
    guard let resolved = realpath(path, nil) else {
        throw ioError("cannot resolve '\(path)'", errno)
    }
    defer { free(resolved) }
    let real = String(cString: resolved)
    try checkContents(real)
    return real
}

private func makeDirectories(_ path: String) throws {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        prefix += part + "/"
        if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
            throw ioError("cannot create directory '\(prefix)'", errno)
        }
    }
}

/// A directory without `data.mdb` must be empty (a stray `lock.mdb` aside), so a store is
/// never created inside someone's unrelated files.
private func checkContents(_ directory: String) throws {
    var status = stat()
    if stat(directory + "/data.mdb", &status) == 0 {
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw StoreError(
                .notAStore, "'\(directory)/data.mdb' is not a file; this is not an Engram store")
        }
        return
    }
    guard let dir = opendir(directory) else {
        throw ioError("cannot list '\(directory)'", errno)
    }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        guard name == "." || name == ".." || name == "lock.mdb" || name == lockFileName else {
            throw StoreError(
                .notAStore,
                "'\(directory)' holds files but no Engram store (found '\(quoted(name))'); "
                    + "use an empty or new directory")
        }
    }
}

func ioError(_ what: String, _ code: Int32) -> StoreError {
    StoreError(
        .io, "\(what): \(String(cString: strerror(code))); check the path and permissions",
        systemCode: code)
}

func fileSize(_ path: String) -> Int {
    var status = stat()
    return stat(path, &status) == 0 ? Int(status.st_size) : 0
}

// MARK: - Process lock

/// The file beside `data.mdb` whose `flock` marks the store open by one process.
let lockFileName = "engram.lock"

/// Takes an exclusive, non-blocking `flock` on `directory/engram.lock` and records this
/// process's pid in it; returns the descriptor, which holds the lock until it is closed (the
/// kernel drops it when the process dies, so a crash leaves no stale lock). LMDB's own locks
/// let two processes open one environment, which breaks the single-writer design (the
/// second process's matrices and sequence numbers go stale), so a second process is refused.
func lockDirectory(_ directory: String) throws -> Int32 {
    let path = directory + "/" + lockFileName
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ioError("cannot open '\(path)'", errno) }
    if flock(fd, LOCK_EX | LOCK_NB) != 0 {
        let code = errno
        let holder = readPid(fd)
        close(fd)
        guard code == EWOULDBLOCK else { throw ioError("cannot lock '\(path)'", code) }
        let who = holder.map { "another process (pid \($0))" } ?? "another process"
        throw StoreError(
            .inUse,
            "\(who) has the store '\(directory)' open; stop it or use another state directory")
    }
    let line = Array("\(getpid())\n".utf8)
    _ = ftruncate(fd, 0)
    _ = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    return fd
}

private func readPid(_ fd: Int32) -> Int? {
    var buffer = [UInt8](repeating: 0, count: 32)
    let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard got > 0 else { return nil }
    return Int(String(decoding: buffer[0..<got].prefix { $0 != 0x0A }, as: UTF8.self))
}

// MARK: - Environment

/// Creates and opens the environment with `MDB_NOTLS`, marks `data.mdb` close-on-exec and
/// clears stale readers.
func openEnvironment(
    _ directory: String, _ options: StoreOptions
) throws -> (
    Environment, mapCap: Int
) {
    var raw: OpaquePointer?
    try check(mdb_env_create(&raw), "create environment")
    let existing = fileSize(directory + "/data.mdb")
    let mapCap = max(options.mapCap, existing)
    let mapSize = max(options.initialMapSize, min(mapCap, existing * 2))
    var flags = UInt32(MDB_NOTLS)
    switch options.sync {
    case .full: break
    case .noMetaSync: flags |= UInt32(MDB_NOMETASYNC)
    case .none: flags |= UInt32(MDB_NOSYNC)
    }
    do {
        try check(mdb_env_set_maxdbs(raw, MDB_dbi(3 + 2 * options.maxBanks)), "set max dbs")
        try check(mdb_env_set_maxreaders(raw, UInt32(options.maxReaders)), "set max readers")
        try check(mdb_env_set_mapsize(raw, mapSize), "set map size")
        try check(mdb_env_open(raw, directory, flags, 0o600), "open '\(directory)'")
    } catch {
        mdb_env_close(raw)
        throw error
    }
    // data.mdb's descriptor is not close-on-exec; a spawned helper must not inherit it.
    var fd: Int32 = -1
    if mdb_env_get_fd(raw, &fd) == 0 && fd >= 0 {
        _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
    }
    var dead: Int32 = 0
    mdb_reader_check(raw, &dead)
    return (Environment(raw: raw!), mapCap)
}

// MARK: - Databases

struct OpenedDatabases {
    var meta: MDB_dbi
    var banks: MDB_dbi
    var jobs: MDB_dbi
    var bankStates: [(BankRecord, BankSpec, MDB_dbi, MDB_dbi)]
}

/// Opens every database in one write transaction on the opening thread (the writer thread
/// does not exist yet). A fresh environment gets the format marker; an environment with
/// other content and no marker is refused.
func openDatabases(_ env: Environment) throws -> OpenedDatabases {
    var txn: OpaquePointer?
    try check(mdb_txn_begin(env.raw, nil, 0, &txn), "begin open transaction")
    do {
        let opened = try openDatabases(txn!)
        try check(mdb_txn_commit(txn), "commit open transaction")
        return opened
    } catch {
        mdb_txn_abort(txn)
        throw error
    }
}

private func openDatabases(_ txn: OpaquePointer) throws -> OpenedDatabases {
    var main: MDB_dbi = 0
    try check(mdb_dbi_open(txn, nil, 0, &main), "open main database")
    var mainStat = MDB_stat()
    try check(mdb_stat(txn, main, &mainStat), "inspect main database")
    let fresh = mainStat.ms_entries == 0
    if !fresh {
        var dbi: MDB_dbi = 0
        let rc = mdb_dbi_open(txn, DatabaseName.meta, 0, &dbi)
        guard rc == 0 else { throw notEngram("it has no '\(DatabaseName.meta)' database") }
    }
    let meta = try openDatabase(txn, DatabaseName.meta, create: true)
    try checkMarker(txn, meta, fresh: fresh)
    let banks = try openDatabase(txn, DatabaseName.banks, create: true)
    let jobs = try openDatabase(txn, DatabaseName.jobs, create: true)
    var states: [(BankRecord, BankSpec, MDB_dbi, MDB_dbi)] = []
    try withCursor(txn, banks) { cursor in
        var key = MDB_val()
        var val = MDB_val()
        var more = try cursorGet(cursor, &key, &val, MDB_FIRST)
        while more {
            let record = try BankRecord.decode(bytes(of: val))
            let spec = try record.spec()
            let patterns = try openDatabase(txn, DatabaseName.patterns(record.name))
            let labels = try openDatabase(txn, DatabaseName.labels(record.name))
            states.append((record, spec, patterns, labels))
            more = try cursorGet(cursor, &key, &val, MDB_NEXT)
        }
    }
    return OpenedDatabases(meta: meta, banks: banks, jobs: jobs, bankStates: states)
}

private func checkMarker(_ txn: OpaquePointer, _ meta: MDB_dbi, fresh: Bool) throws {
    try withTextVal("format") { key in
        if fresh {
            try withTextVal(formatMarker) { val in
                try check(mdb_put(txn, meta, &key, &val, 0), "write format marker")
            }
            return
        }
        guard let val = try get(txn, meta, &key) else {
            throw notEngram("it has no format marker")
        }
        let found = text(of: val)
        guard found == formatMarker else {
            throw StoreError(
                .notAStore,
                "the store's format is '\(quoted(found))', this build reads '\(formatMarker)'; "
                    + "use a matching engramd or restore a backup")
        }
    }
}

private func notEngram(_ why: String) -> StoreError {
    StoreError(
        .notAStore,
        "the LMDB environment is not an Engram store (\(why)); point the store at an "
            + "Engram state directory or an empty one")
}

// MARK: - Loading matrices

/// Copies a bank's patterns into a new matrix (normalizing `l2` banks) and its labels. A
/// large bank is copied by two threads, each in its own read transaction (`MDB_NOTLS`), so
/// page faults and copies of the two halves overlap.
func loadMatrix(
    _ env: Environment, _ txn: OpaquePointer, spec: BankSpec, patterns: MDB_dbi,
    labels: MDB_dbi, parallelLoadValues: Int
) throws -> MatrixPublication {
    var stat = MDB_stat()
    try check(mdb_stat(txn, patterns, &stat), "inspect bank \(spec.name)")
    let count = Int(stat.ms_entries)
    // Twice the count: appends after open do not copy the matrix at once, and capacity that
    // is never written costs address space only.
    let rows = RowBuffer(capacity: max(count * 2, 64), dimension: spec.dimension)
    let split = count * spec.dimension >= parallelLoadValues ? count / 2 : count
    let slot = ErrorSlot()
    let helper =
        split < count
        ? try startThread { [rows] in
            do {
                try env.withRead { second in
                    slot.largestSquaredNorm = try loadRows(
                        second, spec: spec, patterns: patterns, into: rows, split..<count)
                }
            } catch {
                slot.error = error
            }
        } : nil
    let own = Result { try loadRows(txn, spec: spec, patterns: patterns, into: rows, 0..<split) }
    if let helper { pthread_join(helper, nil) }
    let largest = max(try own.get(), slot.largestSquaredNorm)
    if let error = slot.error { throw error }
    let labelBuffer = try loadLabels(txn, labels, count: count, capacity: rows.capacity, spec.name)
    return MatrixPublication(
        rows: rows, labels: labelBuffer, count: count, largestSquaredNorm: largest)
}

/// A helper thread's error or result, written before the thread ends, read after `pthread_join`.
private final class ErrorSlot: @unchecked Sendable {
    var error: (any Error)?
    var largestSquaredNorm = 0.0
}

/// Copies the rows `range` (0-based; sequence numbers `range + 1`) into `rows`; returns the
/// largest squared norm among them, taken while each row is in cache.
private func loadRows(
    _ txn: OpaquePointer, spec: BankSpec, patterns: MDB_dbi, into rows: RowBuffer,
    _ range: Range<Int>
) throws -> Double {
    guard !range.isEmpty else { return 0 }
    let dimension = spec.dimension
    var largest = 0.0
    try withCursor(txn, patterns) { cursor in
        var val = MDB_val()
        var key = MDB_val()
        var more = try withSeqKey(UInt64(range.lowerBound + 1)) { start in
            key = start
            return try cursorGet(cursor, &key, &val, MDB_SET_KEY)
        }
        var index = range.lowerBound
        while more && index < range.upperBound {
            guard seqKey(key) == UInt64(index + 1),
                val.mv_size == PatternValue.size(dimension: dimension)
            else { throw damaged(spec.name, "pattern \(index + 1)") }
            let target = rows.row(index)
            UnsafeMutableRawPointer(target).copyMemory(from: val.mv_data!, byteCount: dimension * 4)
            if spec.normalization == .l2 {
                l2Normalize(UnsafeMutableBufferPointer(start: target, count: dimension))
            }
            largest = max(largest, PatternMatrix.squaredNorm(ofRow: target, dimension: dimension))
            index += 1
            more = try cursorGet(cursor, &key, &val, MDB_NEXT)
        }
        guard index == range.upperBound else { throw damaged(spec.name, "the pattern count") }
    }
    return largest
}

private func loadLabels(
    _ txn: OpaquePointer, _ dbi: MDB_dbi, count: Int, capacity: Int, _ bank: String
) throws -> LabelBuffer? {
    var buffer: LabelBuffer?
    try withCursor(txn, dbi) { cursor in
        var key = MDB_val()
        var val = MDB_val()
        var more = try cursorGet(cursor, &key, &val, MDB_FIRST)
        while more {
            guard let seq = seqKey(key), seq >= 1, seq <= UInt64(count) else {
                throw damaged(bank, "a label key")
            }
            let labels = buffer ?? LabelBuffer(capacity: capacity)
            buffer = labels
            while labels.initialized < Int(seq) - 1 { labels.set(labels.initialized, nil) }
            labels.set(Int(seq) - 1, text(of: val))
            more = try cursorGet(cursor, &key, &val, MDB_NEXT)
        }
    }
    if let buffer {
        while buffer.initialized < count { buffer.set(buffer.initialized, nil) }
    }
    return buffer
}

private func damaged(_ bank: String, _ what: String) -> StoreError {
    StoreError(.corrupt, "bank '\(bank)' is damaged at \(what); restore from a backup")
}

/// The address range of this process's mapping of `path`, from /proc/self/maps.
/// (`mdb_env_info` reports a map address only for `MDB_FIXEDMAP`.)
func mappedRange(of path: String) -> (start: UnsafeMutableRawPointer, length: Int)? {
    let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var content: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
        if got <= 0 { break }
        content += chunk[0..<got]
    }
    for line in content.split(separator: 0x0A) {
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasSuffix(" " + path) else { continue }
        let bounds = text.prefix { $0 != " " }.split(separator: "-")
        guard bounds.count == 2, let start = UInt(bounds[0], radix: 16),
            let end = UInt(bounds[1], radix: 16), end > start,
            let address = UnsafeMutableRawPointer(bitPattern: start)
        else { continue }
        return (address, Int(end - start))
    }
    return nil
}

/// Advice for the pages of `data.mdb` that are backed by the file.
func adviseMap(_ directory: String, _ advice: Int32) {
    let path = directory + "/data.mdb"
    guard let region = mappedRange(of: path) else { return }
    let length = min(region.length, fileSize(path) & ~4095)
    guard length > 0 else { return }
    _ = madvise(region.start, length, advice)
}

/// MADV_POPULATE_READ (Linux 5.14): maps the file's cached pages in one call instead of one
/// fault per page while the matrices load. Older kernels ignore it (EINVAL).
let populateRead: Int32 = 22

/// After loading, drops the process's page mappings of the map, so the pages read once to
/// fill the matrices are not counted twice in the resident set. The file is mapped read-only
/// (no `MDB_WRITEMAP`), so this discards nothing; later reads fault pages back in.
func releaseMapPages(_ directory: String) {
    adviseMap(directory, MADV_DONTNEED)
}
