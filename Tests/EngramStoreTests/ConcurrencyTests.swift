// Group commit, map growth under concurrent readers, the map cap, and snapshot stability.

import Dispatch
import Foundation
import Synchronization
import Testing

@testable import EngramStore

/// Runs `body(i)` for i in 0..<count on separate OS threads and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            body(index)
            group.leave()
        }.start()
    }
    group.wait()
}

@Suite struct ConcurrencyTests {
    @Test func concurrentAppendsAreGroupedAndKeepTheirRows() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "g", dimension: 8))
        let ranges = Mutex<[(Int, Int, Range<UInt64>)]>([])
        let failures = Atomic<Int>(0)
        onThreads(16) { thread in
            for round in 0..<20 {
                let count = 1 + (thread + round) % 5
                let vectors = (0..<count).map {
                    vector(8, seed: UInt64(thread), index: round * 8 + $0)
                }
                do {
                    let range = try store.append(bank: "g", vectors: vectors)
                    ranges.withLock { $0.append((thread, round, range)) }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        let all = ranges.withLock { $0 }
        let total = all.reduce(0) { $0 + $1.2.count }
        #expect(try store.bankInfo("g").count == total)
        let sorted = all.map(\.2).sorted { $0.lowerBound < $1.lowerBound }
        #expect(sorted.first?.lowerBound == 1)
        for (a, b) in zip(sorted, sorted.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
        let snapshot = try store.snapshot(bank: "g")
        for (thread, round, range) in all {
            for (offset, seq) in range.enumerated() {
                let expected = vector(8, seed: UInt64(thread), index: round * 8 + offset)
                #expect(Array(snapshot.row(Int(seq) - 1)) == expected)
            }
        }
        let stats = try store.statistics()
        #expect(stats.appendRequests == 320)
        #expect(stats.appendedPatterns == total)
        print("group commit: \(stats.appendRequests) requests in \(stats.appendBatches) batches")
        #expect(stats.appendBatches < stats.appendRequests, "no request was grouped")
    }

    @Test func mapGrowsManyTimesUnderConcurrentReaders() throws {
        let dir = TemporaryDirectory()
        let options = StoreOptions(
            initialMapSize: 1 << 20, mapCap: 1 << 30, maxGrowthStep: 64 << 10)
        let store = try Store(directory: dir.path, options: options)
        try store.createBank(BankSpec(name: "grow", dimension: 64))
        let done = Atomic<Bool>(false)
        let readErrors = Atomic<Int>(0)
        let reads = Atomic<Int>(0)
        let writers = DispatchGroup()
        writers.enter()
        Thread {
            defer { writers.leave() }
            for batch in 0..<120 {
                let vectors = (0..<100).map { vector(64, seed: 3, index: batch * 100 + $0) }
                _ = try? store.append(bank: "grow", vectors: vectors)
            }
            done.store(true, ordering: .releasing)
        }.start()
        onThreads(3) { reader in
            var generator = SeededGenerator(seed: UInt64(reader))
            while !done.load(ordering: .acquiring) {
                do {
                    let snapshot = try store.snapshot(bank: "grow")
                    guard snapshot.rows > 0 else { continue }
                    let row = Int.random(in: 0..<snapshot.rows, using: &generator)
                    let stored = try store.pattern(bank: "grow", seq: UInt64(row + 1))
                    if stored.values != Array(snapshot.row(row))
                        || stored.values != vector(64, seed: 3, index: row)
                    {
                        readErrors.add(1, ordering: .relaxed)
                    }
                    reads.add(1, ordering: .relaxed)
                } catch {
                    readErrors.add(1, ordering: .relaxed)
                }
            }
        }
        writers.wait()
        let stats = try store.statistics()
        print("map growth: \(stats.mapGrowths) growths, \(reads.load(ordering: .relaxed)) reads")
        #expect(readErrors.load(ordering: .relaxed) == 0)
        #expect(try store.bankInfo("grow").count == 12_000)
        #expect(stats.mapGrowths >= 24)
        #expect(stats.mapSize > 3 << 20)
    }

    @Test func mapCapGivesFullAndReadsKeepWorking() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions(1 << 20, cap: 2 << 20))
        try store.createBank(BankSpec(name: "cap", dimension: 256, metadata: "x"))
        var stored = 0
        var fullError: StoreError?
        while fullError == nil && stored < 100_000 {
            let vectors = (0..<50).map { vector(256, seed: 4, index: stored + $0) }
            do {
                try store.append(bank: "cap", vectors: vectors)
                stored += 50
            } catch let error as StoreError {
                fullError = error
            }
        }
        let error = try #require(fullError)
        #expect(error.code == .full)
        #expect(error.message.contains("map cap 2097152 bytes reached"))
        #expect(stored > 0)
        #expect(try store.bankInfo("cap").count == stored)
        #expect(try store.pattern(bank: "cap", seq: 1).values == vector(256, seed: 4, index: 0))
        #expect(try store.snapshot(bank: "cap").rows == stored)
        let again = #expect(throws: StoreError.self) {
            try store.append(bank: "cap", vectors: (0..<50).map { vector(256, seed: 5, index: $0) })
        }
        #expect(again?.code == .full)
        #expect(try store.statistics().mapSize == 2 << 20)
        store.close()
        let bigger = try Store(directory: dir.path, options: smallOptions(1 << 20, cap: 8 << 20))
        #expect(
            try bigger.append(bank: "cap", vectors: [vector(256, seed: 6, index: 0)]).count == 1)
    }

    @Test func oneOversizedRequestDoesNotFailItsGroup() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions(1 << 20, cap: 4 << 20))
        try store.createBank(BankSpec(name: "mix", dimension: 256))
        let small = Atomic<Int>(0)
        let bigFailed = Atomic<Bool>(false)
        onThreads(9) { thread in
            if thread == 0 {
                let huge = (0..<6000).map { vector(256, seed: 7, index: $0) }
                do { try store.append(bank: "mix", vectors: huge) } catch let error as StoreError {
                    bigFailed.store(error.code == .full, ordering: .relaxed)
                } catch {}
                return
            }
            for round in 0..<10 {
                if (try? store.append(bank: "mix", vectors: [vector(256, seed: 8, index: round)]))
                    != nil
                {
                    small.add(1, ordering: .relaxed)
                }
            }
        }
        let failedWithFull = bigFailed.load(ordering: .relaxed)
        #expect(failedWithFull)
        #expect(small.load(ordering: .relaxed) == 80)
        #expect(try store.bankInfo("mix").count == 80)
    }

    @Test func dropWhileAppendsAndReadsAreInFlight() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "doomed", dimension: 4))
        try store.createBank(BankSpec(name: "kept", dimension: 4))
        let unexpected = Mutex<[String]>([])
        let keptRows = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let workers = DispatchGroup()
        for worker in 0..<6 {
            workers.enter()
            Thread {
                defer { workers.leave() }
                var round = 0
                while !stop.load(ordering: .relaxed) {
                    round += 1
                    do {
                        switch worker % 3 {
                        case 0:
                            try store.append(bank: "doomed", vectors: [[1, 2, 3, 4]])
                        case 1:
                            _ = try store.patterns(bank: "doomed", range: 1..<50)
                        default:
                            try store.append(bank: "kept", vectors: [[Float(round), 0, 0, 0]])
                            keptRows.add(1, ordering: .relaxed)
                        }
                    } catch let error as StoreError where error.code == .noBank {
                    } catch {
                        unexpected.withLock { $0.append("\(error)") }
                    }
                }
            }.start()
        }
        usleep(100_000)
        let dropped = try store.dropBank("doomed")
        usleep(50_000)
        stop.store(true, ordering: .relaxed)
        workers.wait()
        #expect(unexpected.withLock { $0 } == [])
        #expect(dropped > 0)
        #expect(try store.bankInfo("kept").count == keptRows.load(ordering: .relaxed))
        try store.createBank(BankSpec(name: "doomed", dimension: 2))
        #expect(try store.append(bank: "doomed", vectors: [[1, 2]]) == 1..<2)
    }

    @Test func snapshotsAreStablePrefixes() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "s", dimension: 4))
        try store.append(bank: "s", vectors: (0..<10).map { vector(4, seed: 9, index: $0) })
        let early = try store.snapshot(bank: "s")
        let asOf = try store.snapshot(bank: "s", asOf: 3)
        for batch in 0..<50 {
            try store.append(
                bank: "s", vectors: (0..<40).map { vector(4, seed: 10, index: batch * 40 + $0) })
        }
        #expect(early.rows == 10)
        #expect(asOf.rows == 3)
        #expect(asOf.info.count == 10)
        for row in 0..<10 { #expect(Array(early.row(row)) == vector(4, seed: 9, index: row)) }
        let late = try store.snapshot(bank: "s", asOf: 5)
        #expect(late.base != early.base, "the buffer grew; old snapshots keep the old one")
        #expect(Int(bitPattern: late.base) % 64 == 0)
        #expect(late.matrix.rows == 5)
        #expect(late.seq(ofRow: 4) == 5)
        let past = #expect(throws: StoreError.self) { try store.snapshot(bank: "s", asOf: 2011) }
        #expect(past?.code == .notFound)
        #expect(try store.snapshot(bank: "s", asOf: 2010).rows == 2010)
    }
}
