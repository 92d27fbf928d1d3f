// Crash safety: a real child process (engram-store-crasher) appends from several threads and
// is killed with SIGKILL at random moments; every acknowledged batch must survive bit for
// bit, with no gaps and no partial batch, and job progress must match the bank.

import EngramStore
import Foundation
import Testing

/// The crasher's pattern for `label` (the same function as in engram-store-crasher).
func crashValues(label: String, dimension: Int = 16) -> [Float] {
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

/// The crasher binary beside the test bundle (SwiftPM builds it with the tests).
func crasherPath() -> String? {
    guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    else { return nil }
    let candidate = (exe as NSString).deletingLastPathComponent + "/engram-store-crasher"
    return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
}

struct Ack {
    let first: UInt64
    let count: Int
    let writer: Int
    let batch: Int
}

/// Complete ack lines only: the line being written when the child died is ignored.
func readAcks(_ path: String) -> [Ack] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    lines.removeLast()
    return lines.compactMap { line in
        let fields = line.split(separator: " ").compactMap { Int($0) }
        guard fields.count == 4 else { return nil }
        return Ack(first: UInt64(fields[0]), count: fields[1], writer: fields[2], batch: fields[3])
    }
}

@Suite struct CrashTests {
    @Test func killedWriterLosesNoAcknowledgedBatch() throws {
        let crasher = try #require(crasherPath(), "build engram-store-crasher (swift build)")
        let seed = UInt64.random(in: 1...UInt64(UInt32.max))
        print("crash test seed \(seed)")
        var generator = SeededGenerator(seed: seed)
        let dir = TemporaryDirectory("crash")
        let store = dir.child("state")
        let ackPath = dir.child("acks")
        var kills = 0
        for trial in 0..<24 {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: crasher)
            child.arguments = [store, ackPath, String(seed &+ UInt64(trial))]
            try child.run()
            let delay = UInt32.random(in: 20_000...300_000, using: &generator)
            usleep(delay)
            if child.isRunning {
                kill(child.processIdentifier, SIGKILL)
                kills += 1
            }
            child.waitUntilExit()
            #expect(
                child.terminationReason == .uncaughtSignal,
                "trial \(trial) (seed \(seed)): the child exited by itself")
            try verify(store, acks: readAcks(ackPath), trial: trial, seed: seed)
        }
        #expect(kills == 24)
        let acknowledged = readAcks(ackPath)
        print("crash test: \(kills) kills, \(acknowledged.count) acknowledged batches")
        #expect(acknowledged.count > 24, "the children acknowledged too few batches")
    }

    @Test func readerSlotOfAKilledProcessIsCleared() throws {
        let crasher = try #require(crasherPath(), "build engram-store-crasher (swift build)")
        let dir = TemporaryDirectory("reader")
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "b", dimension: 1))
        let child = Process()
        child.executableURL = URL(fileURLWithPath: crasher)
        child.arguments = [dir.path, "--hold-reader"]
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        let ready = output.fileHandleForReading.readData(ofLength: 6)
        #expect(String(decoding: ready, as: UTF8.self) == "ready\n")
        #expect(try store.statistics().readers >= 1)
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(store.checkReaders() == 1)
        #expect(store.checkReaders() == 0)
        #expect(try store.statistics().staleReadersCleared == 1)
        try store.append(bank: "b", vectors: [[1]])
    }

    /// Reopens the store (the child is dead, so this process may open it) and checks it.
    private func verify(_ path: String, acks: [Ack], trial: Int, seed: UInt64) throws {
        let context = "trial \(trial), seed \(seed)"
        let store = try Store(directory: path, options: smallOptions())
        defer { store.close() }
        guard let info = try? store.bankInfo("crash") else {
            #expect(acks.isEmpty, "\(context): acknowledged batches but no bank")
            return
        }
        let patterns = try store.patterns(bank: "crash", range: 1..<UInt64(info.count + 1))
        #expect(patterns.map(\.seq) == (0..<UInt64(info.count)).map { $0 + 1 })
        var batches: [String: [UInt64]] = [:]
        var writer0Rows: UInt64 = 0
        for pattern in patterns {
            let label = try #require(pattern.label, "\(context): pattern without label")
            let values = crashValues(label: label)
            #expect(
                pattern.values.map(\.bitPattern) == values.map(\.bitPattern),
                "\(context): pattern \(pattern.seq) differs")
            let parts = label.split(separator: "/")
            let batchKey = String(label[..<label.lastIndex(of: "-")!]) + "/" + parts[1]
            batches[batchKey, default: []].append(pattern.seq)
            if label.hasPrefix("w0-") { writer0Rows += 1 }
        }
        for (key, seqs) in batches {
            let expected = Int(key.split(separator: "/").last!)!
            #expect(seqs.count == expected, "\(context): batch \(key) is partial")
            #expect(seqs.last! - seqs.first! == UInt64(seqs.count - 1), "\(context): \(key) split")
        }
        for ack in acks {
            let key = "w\(ack.writer)-b\(ack.batch)/\(ack.count)"
            #expect(
                batches[key]?.first == ack.first,
                "\(context): acknowledged batch \(key) at \(ack.first) is missing")
        }
        if writer0Rows > 0 {
            let job = try store.job(id: "job-w0")
            #expect(job.rowsDone == writer0Rows, "\(context): job progress disagrees")
        }
        let snapshot = try store.snapshot(bank: "crash")
        #expect(snapshot.rows == info.count)
        if let last = patterns.last {
            #expect(Array(snapshot.row(snapshot.rows - 1)) == last.values)
        }
    }
}
