// Hot backup and statistics.

import CLMDB

#if canImport(Glibc)
    import Glibc
#endif

extension Store {
    /// Copies the live store into `directory` (created if missing; must be empty) with a
    /// compacting copy, falling back to a plain copy if compaction fails. Appends continue
    /// meanwhile; the copy holds what was committed when it began. Map growth waits until
    /// the copy is done. The copy opens as a store (`Store(directory:)`).
    /// - Throws: `invalid` for a non-empty target, `io`, `closed`.
    public func backup(to directory: String) throws {
        let target = try prepareBackupDirectory(directory)
        // TODO(#4): the copy holds the remap lock shared for its whole duration, so a map
        // growth (and the appends waiting on it) waits for a long backup to finish.
        try engine.env.withOpen {
            // The copy is written through our own descriptor, created 0600 like the store's
            // data.mdb (mdb_env_copy2 would create it 0666 minus the umask).
            let path = target + "/data.mdb"
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw ioError("cannot create '\(path)'", errno) }
            defer { Glibc.close(fd) }
            _ = fchmod(fd, 0o600)
            var rc = mdb_env_copyfd2(engine.env.raw, fd, UInt32(MDB_CP_COMPACT))
            if rc != 0 {
                _ = ftruncate(fd, 0)
                _ = lseek(fd, 0, SEEK_SET)
                rc = mdb_env_copyfd2(engine.env.raw, fd, 0)
            }
            if rc == 0 && fsync(fd) != 0 { rc = errno }
            if rc != 0 {
                unlink(path)
                throw StoreError.lmdb(rc, "backup to '\(target)'")
            }
        }
    }

    private func prepareBackupDirectory(_ directory: String) throws -> String {
        var status = stat()
        if stat(directory, &status) != 0 {
            guard errno == ENOENT, mkdir(directory, 0o700) == 0 else {
                throw ioError("cannot create backup directory '\(directory)'", errno)
            }
            return directory
        }
        guard status.st_mode & S_IFMT == S_IFDIR, let dir = opendir(directory) else {
            throw StoreError(
                .invalid, "backup target '\(directory)' is not a directory; name a new one")
        }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard name == "." || name == ".." else {
                throw StoreError(
                    .invalid, "backup target '\(directory)' is not empty; name a new directory")
            }
        }
        return directory
    }

    /// Figures about the store and its writer since open.
    public func statistics() throws -> StoreStatistics {
        let (info, pageSize) = try engine.env.withOpen { (engine.env.info, engine.env.pageSize) }
        let banks = listBanks()
        let counters = engine.counters
        return StoreStatistics(
            fileBytes: fileSize(engine.directory + "/data.mdb"),
            mapSize: info.me_mapsize,
            mapCap: engine.mapCap,
            mapGrowths: counters.growths.load(ordering: .relaxed),
            commits: counters.commits.load(ordering: .relaxed),
            appendBatches: counters.appendBatches.load(ordering: .relaxed),
            appendRequests: counters.appendRequests.load(ordering: .relaxed),
            appendedPatterns: counters.appendedPatterns.load(ordering: .relaxed),
            largestGroup: counters.largestGroup.load(ordering: .relaxed),
            staleReadersCleared: counters.staleReaders.load(ordering: .relaxed),
            readers: Int(info.me_numreaders),
            pageSize: pageSize,
            banks: banks.count,
            patterns: banks.reduce(0) { $0 + $1.count },
            matrixBytes: banks.reduce(0) { $0 + $1.count * $1.spec.dimension * 4 },
            sync: engine.options.sync)
    }
}
