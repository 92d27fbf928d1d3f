// engram-store-crasher DIR ACKS SEED: the child of EngramStoreTests' crash test. Several
// threads append labelled batches to bank `crash` until the process is killed; after each
// append returns, one line "first count writer seed batch" goes to ACKS with one write(2).
// Labels are "w<writer>-s<seed>-b<batch>-<row>/<count>"; each run gets a new seed.
// Values are a function of the label, so the parent can check every stored pattern bit for
// bit. Writer 0 also records job progress in the same transaction as its batches.
//
// engram-store-crasher DIR --hold-reader: opens DIR's environment directly, begins a read
// transaction, prints "ready" and sleeps, so the test can kill it and see the stale reader
// slot cleared.

import CLMDB
import EngramStore
import Foundation

Crasher.main(CommandLine.arguments)

enum Crasher {
    static let dimension = 16
    static let writers = 4

    /// The pattern stored under `label`: FNV-1a of the label seeds SplitMix64. The test
    /// target holds the same function.
    static func values(label: String) -> [Float] {
        var state: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in label.utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return (0..<dimension).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(Int64(z >> 40) - (1 << 23)) / Float(1 << 20)
        }
    }

    static func fail(_ message: String) -> Never {
        let line = "engram-store-crasher: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        exit(1)
    }

    static func main(_ arguments: [String]) {
        if arguments.count == 3 && arguments[2] == "--hold-reader" { holdReader(arguments[1]) }
        guard arguments.count == 4, let seed = UInt64(arguments[3]) else {
            fail("usage: engram-store-crasher DIR ACKS SEED")
        }
        let options = StoreOptions(
            initialMapSize: 1 << 20, mapCap: 1 << 30, maxGrowthStep: 1 << 20)
        let store: Store
        do {
            store = try Store(directory: arguments[1], options: options)
            if (try? store.bankInfo("crash")) == nil {
                try store.createBank(BankSpec(name: "crash", dimension: dimension))
            }
        } catch {
            fail("open: \(error)")
        }
        let acks = open(arguments[2], O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard acks >= 0 else { fail("cannot open \(arguments[2])") }
        let rows = (try? store.job(id: "job-w0").rowsDone) ?? 0
        for writer in 0..<writers {
            Thread { run(writer, store, acks, seed, rowsDone: rows) }.start()
        }
        while true { sleep(60) }
    }

    static func holdReader(_ directory: String) -> Never {
        var env: OpaquePointer?
        var txn: OpaquePointer?
        guard mdb_env_create(&env) == 0, mdb_env_set_maxdbs(env, 16) == 0,
            mdb_env_open(env, directory, UInt32(MDB_NOTLS | MDB_RDONLY), 0) == 0,
            mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn) == 0
        else { fail("cannot hold a reader on \(directory)") }
        _ = "ready\n".withCString { write(1, $0, 6) }
        while true { sleep(60) }
    }

    static func run(
        _ writer: Int, _ store: Store, _ acks: Int32, _ seed: UInt64,
        rowsDone initialRows: UInt64
    ) {
        var state = seed &+ UInt64(writer) &* 7919
        var rowsDone = initialRows
        var batch = 0
        while true {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let count = 1 + Int((state >> 33) % 20)
            let labels = (0..<count).map { "w\(writer)-s\(seed)-b\(batch)-\($0)/\(count)" }
            let flat = labels.flatMap { values(label: $0) }
            var progress: JobProgress?
            if writer == 0 {
                rowsDone += UInt64(count)
                progress = JobProgress(
                    id: "job-w0", bank: "crash", source: "crasher",
                    position: UInt64(batch + 1), rowsDone: rowsDone)
            }
            do {
                let range = try store.append(
                    bank: "crash", flat: flat, labels: labels, progress: progress)
                let line = "\(range.lowerBound) \(count) \(writer) \(seed) \(batch)\n"
                _ = line.withCString { write(acks, $0, strlen($0)) }
            } catch {
                fail("append: \(error)")
            }
            batch += 1
        }
    }
}
