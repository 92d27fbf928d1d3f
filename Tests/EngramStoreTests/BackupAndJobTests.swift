// Hot backup and ingestion progress.

import Foundation
import Synchronization
import Testing

@testable import EngramStore

@Suite struct BackupTests {
    @Test func backupWhileAppendingOpensAsAValidStore() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.child("live"), options: smallOptions())
        try store.createBank(BankSpec(name: "a", dimension: 16, metadata: "meta"))
        try store.createBank(BankSpec(name: "b", dimension: 2, normalization: .l2))
        for batch in 0..<20 {
            try store.append(
                bank: "a", vectors: (0..<50).map { vector(16, seed: 11, index: batch * 50 + $0) },
                labels: (0..<50).map { "r\(batch * 50 + $0)" })
        }
        try store.append(bank: "b", vectors: [[3, 4]])
        try store.putJob(JobProgress(id: "ingest-1", bank: "a", position: 7, rowsDone: 1000))
        let stop = Atomic<Bool>(false)
        let writer = Thread {
            var index = 0
            while !stop.load(ordering: .relaxed) {
                _ = try? store.append(bank: "a", vectors: [vector(16, seed: 12, index: index)])
                index += 1
            }
        }
        writer.start()
        try store.backup(to: dir.child("copy"))
        stop.store(true, ordering: .relaxed)
        let copy = try Store(directory: dir.child("copy"), options: smallOptions())
        let count = try copy.bankInfo("a").count
        #expect(count >= 1000)
        #expect(try copy.bankInfo("a").spec.metadata == "meta")
        let original = try store.patterns(bank: "a", range: 1..<UInt64(count + 1))
        #expect(try copy.patterns(bank: "a", range: 1..<UInt64(count + 1)) == original)
        #expect(Array(try copy.snapshot(bank: "b").row(0)) == [0.6, 0.8])
        #expect(try copy.job(id: "ingest-1").position == 7)
        try copy.append(bank: "a", vectors: [vector(16, seed: 13, index: 0)])
        #expect(try copy.bankInfo("a").count == count + 1)
    }

    @Test func backupRefusesANonEmptyTarget() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.child("live"), options: smallOptions())
        try store.backup(to: dir.child("first"))
        let again = #expect(throws: StoreError.self) { try store.backup(to: dir.child("first")) }
        #expect(again?.code == .invalid)
        try "x".write(toFile: dir.child("file"), atomically: false, encoding: .utf8)
        let file = #expect(throws: StoreError.self) { try store.backup(to: dir.child("file")) }
        #expect(file?.code == .invalid)
        let nowhere = #expect(throws: StoreError.self) {
            try store.backup(to: dir.child("no/such/parent"))
        }
        #expect(nowhere?.code == .io)
    }

    @Test func backupFilesAreOwnerOnlyLikeTheStore() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.child("live"), options: smallOptions())
        try store.createBank(BankSpec(name: "a", dimension: 2))
        try store.append(bank: "a", vectors: [[1, 2]])
        // An existing, world-readable target directory and the usual umask.
        let target = dir.child("copy")
        #expect(mkdir(target, 0o755) == 0)
        try store.backup(to: target)
        let mode =
            try FileManager.default.attributesOfItem(atPath: target + "/data.mdb")[
                .posixPermissions] as? Int
        #expect(mode == 0o600)
        let copy = try Store(directory: target, options: smallOptions())
        #expect(try copy.bankInfo("a").count == 1)
    }
}

@Suite struct JobTests {
    @Test func progressCommitsWithItsPatterns() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(directory: dir.path, options: smallOptions())
            try store.createBank(BankSpec(name: "ts", dimension: 3))
            var job = JobProgress(
                id: "csv:prices", bank: "ts", source: "prices.csv", total: 6, skipped: 0)
            for batch in 0..<3 {
                job.position = UInt64(batch * 2 + 3)
                job.rowsDone = UInt64(batch * 2 + 2)
                try store.append(
                    bank: "ts", vectors: [[1, 2, 3], [4, 5, 6]], progress: job)
                let stored = try store.job(id: "csv:prices")
                #expect(stored.rowsDone == UInt64(try store.bankInfo("ts").count))
                #expect(stored.updatedMicros > 0)
            }
            // A rejected batch writes no progress.
            job.rowsDone = 99
            #expect(throws: StoreError.self) {
                try store.append(bank: "ts", vectors: [[1, .nan, 3]], progress: job)
            }
            #expect(try store.job(id: "csv:prices").rowsDone == 6)
            let wrongBank = #expect(throws: StoreError.self) {
                var other = job
                other.bank = "elsewhere"
                try store.append(bank: "ts", vectors: [[1, 2, 3]], progress: other)
            }
            #expect(wrongBank?.code == .invalid)
            let done = try store.setJobState(id: "csv:prices", .done, message: "6 rows")
            #expect(done.state == .done)
            #expect(done.rowsDone == 6)
        }
        let store = try Store(directory: dir.path, options: smallOptions())
        let job = try store.job(id: "csv:prices")
        #expect(job.state == .done)
        #expect(job.message == "6 rows")
        #expect(job.source == "prices.csv")
        #expect(job.position == 7)
        #expect(job.total == 6)
        #expect(try store.jobs().map(\.id) == ["csv:prices"])
        let missing = #expect(throws: StoreError.self) {
            try store.setJobState(id: "nope", .failed)
        }
        #expect(missing?.code == .notFound)
        try store.deleteJob(id: "csv:prices")
        #expect(try store.jobs().isEmpty)
        let bad = #expect(throws: StoreError.self) {
            try store.putJob(JobProgress(id: "", bank: "ts"))
        }
        #expect(bad?.code == .invalid)
    }

    @Test func ifRowsDoneIsACompareAndSet() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "b", dimension: 1))
        var job = JobProgress(id: "j", bank: "b", rowsDone: 2)
        try store.append(bank: "b", vectors: [[1], [2]], progress: job, ifRowsDone: 0)
        job.rowsDone = 4
        try store.append(bank: "b", vectors: [[3], [4]], progress: job, ifRowsDone: 2)
        // A second run that still believes 2 rows are done must not append them again.
        let stale = #expect(throws: StoreError.self) {
            try store.append(bank: "b", vectors: [[3], [4]], progress: job, ifRowsDone: 2)
        }
        #expect(stale?.code == .conflict)
        #expect(stale?.message.contains("has 4 rows committed") == true)
        #expect(try store.bankInfo("b").count == 4)
        #expect(try store.job(id: "j").rowsDone == 4)
        let bare = #expect(throws: StoreError.self) {
            try store.append(bank: "b", vectors: [[5]], ifRowsDone: 4)
        }
        #expect(bare?.code == .invalid)
    }

    @Test func concurrentRunsOfOneJobAppendEachRowOnce() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "b", dimension: 1))
        // Eight racing runs each try to append rows 0..<40 in batches of 4, resuming from the
        // committed progress after a conflict; every row must land exactly once.
        onThreads(8) { _ in
            while true {
                let done = (try? store.job(id: "j").rowsDone) ?? 0
                guard done < 40 else { return }
                let vectors = (done..<done + 4).map { [Float($0)] }
                let job = JobProgress(id: "j", bank: "b", rowsDone: done + 4)
                _ = try? store.append(bank: "b", vectors: vectors, progress: job, ifRowsDone: done)
            }
        }
        let values = try store.patterns(bank: "b", range: 1..<100).map { $0.values[0] }
        #expect(values == (0..<40).map(Float.init))
    }

    @Test(arguments: SyncPolicy.allCases)
    func everySyncPolicyKeepsCommittedData(_ policy: SyncPolicy) throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.sync = policy
        do {
            let store = try Store(directory: dir.path, options: options)
            try store.createBank(BankSpec(name: "p", dimension: 3))
            try store.append(bank: "p", vectors: [[1, 2, 3], [4, 5, 6]])
            try store.sync()
            #expect(try store.statistics().sync == policy)
        }
        let store = try Store(directory: dir.path, options: options)
        #expect(try store.pattern(bank: "p", seq: 2).values == [4, 5, 6])
    }

    @Test func statisticsDescribeTheStore() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "s", dimension: 10))
        try store.append(bank: "s", vectors: (0..<30).map { vector(10, seed: 14, index: $0) })
        let stats = try store.statistics()
        #expect(stats.banks == 1)
        #expect(stats.patterns == 30)
        #expect(stats.matrixBytes == 1200)
        #expect(stats.fileBytes > 0)
        #expect(stats.mapSize >= 1 << 20)
        #expect(stats.mapCap == 1 << 30)
        #expect(stats.commits >= 2)
        #expect(stats.appendBatches == 1)
        #expect(stats.sync == .full)
        #expect(stats.pageSize == 4096)
    }

    @Test func errorsCarryCodesAndRemedies() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        let error = #expect(throws: StoreError.self) { try store.bankInfo("ghost") }
        #expect(error?.code == .noBank)
        #expect(error?.description.hasPrefix("noBank: no bank named 'ghost'") == true)
        let full = StoreError.lmdb(-30792, "append")
        #expect(full.code == .full)
        #expect(full.description.contains("MDB_MAP_FULL"))
    }
}
