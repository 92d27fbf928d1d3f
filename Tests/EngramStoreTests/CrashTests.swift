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
    let seed: Int
    let batch: Int
}

/// Complete ack lines only: the line being written when the child died is ignored.
func readAcks(_ path: String) -> [Ack] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    lines.removeLast()
    return lines.compactMap { line in
        let fields = line.split(separator: " ").compactMap { Int($0) }
        guard fields.count == 5 else { return nil }
        return Ack(
            first: UInt64(fields[0]), count: fields[1], writer: fields[2], seed: fields[3],
            batch: fields[4])
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
        var verified = Verified()
        for trial in 0..<24 {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: crasher)
            child.arguments = [store, ackPath, String(seed &+ UInt64(trial))]
            let acksBefore = readAcks(ackPath).count
            let bytesBefore = fileSize(ackPath)
            try child.run()
            // One trial in four kills at any moment from the start (opening, creating the
            // bank); the others first wait for the child's first acknowledgement, so that
            // every such trial kills a child in the middle of its appends even on a slow
            // machine.
            if trial % 4 != 0 { waitForGrowth(ackPath, beyond: bytesBefore, child) }
            usleep(UInt32.random(in: 0...100_000, using: &generator))
            if child.isRunning {
                kill(child.processIdentifier, SIGKILL)
                kills += 1
            }
            child.waitUntilExit()
            #expect(
                child.terminationReason == .uncaughtSignal,
                "trial \(trial) (seed \(seed)): the child exited by itself")
            // Rows of earlier trials were checked already; the last trial checks everything.
            let acks = Array(readAcks(ackPath)[(trial == 23 ? 0 : acksBefore)...])
            let from = trial == 23 ? Verified() : verified
            verified = try verify(
                store, acks: acks, from: from, context: "trial \(trial), seed \(seed)")
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

    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// Polls until the file at `path` is larger than `size`, the child died, or 20 s passed.
    private func waitForGrowth(_ path: String, beyond size: Int, _ child: Process) {
        for _ in 0..<4000 where child.isRunning && fileSize(path) <= size {
            usleep(5000)
        }
    }

    /// What earlier trials established: rows 1…count are correct, writer 0 owns `writer0`.
    struct Verified {
        var count = 0
        var writer0: UInt64 = 0
    }

    /// Reopens the store (the child is dead, so this process may open it) and checks the rows
    /// past `from.count`, the acknowledgements and the job. Problems are collected and
    /// expected once: an expectation per row would dominate the test's time.
    private func verify(
        _ path: String, acks: [Ack], from: Verified, context: String
    ) throws -> Verified {
        let store = try Store(directory: path, options: smallOptions())
        defer { store.close() }
        guard let info = try? store.bankInfo("crash") else {
            #expect(acks.isEmpty && from.count == 0, "\(context): acknowledged rows but no bank")
            return from
        }
        let first = UInt64(from.count + 1)
        let patterns = try store.patterns(bank: "crash", range: first..<UInt64(info.count + 1))
        var problems: [String] = []
        let ordered = patterns.enumerated().allSatisfy {
            $0.element.seq == first + UInt64($0.offset)
        }
        if info.count < from.count || patterns.count != info.count - from.count || !ordered {
            problems.append("sequence numbers have gaps or went back")
        }
        var batches: [String: (first: UInt64, last: UInt64, rows: Int)] = [:]
        var writer0 = from.writer0
        for pattern in patterns {
            guard let label = pattern.label, let dash = label.lastIndex(of: "-"),
                let slash = label.lastIndex(of: "/")
            else {
                problems.append("pattern \(pattern.seq) has no valid label")
                continue
            }
            if pattern.values.map(\.bitPattern) != crashValues(label: label).map(\.bitPattern) {
                problems.append("pattern \(pattern.seq) (\(label)) differs")
            }
            let key = String(label[..<dash]) + String(label[slash...])
            let seen = batches[key]
            batches[key] = (seen?.first ?? pattern.seq, pattern.seq, (seen?.rows ?? 0) + 1)
            if label.hasPrefix("w0-") { writer0 += 1 }
        }
        for (key, batch) in batches {
            let expected = Int(key[key.index(after: key.lastIndex(of: "/")!)...])!
            if batch.rows != expected || batch.last - batch.first != UInt64(expected - 1) {
                problems.append("batch \(key) is partial or split: \(batch)")
            }
        }
        for ack in acks {
            let key = "w\(ack.writer)-s\(ack.seed)-b\(ack.batch)/\(ack.count)"
            if batches[key]?.first != ack.first {
                problems.append("acknowledged batch \(key) at \(ack.first) is missing")
            }
        }
        if writer0 > 0, try store.job(id: "job-w0").rowsDone != writer0 {
            problems.append("job progress disagrees with the \(writer0) rows of writer 0")
        }
        let snapshot = try store.snapshot(bank: "crash")
        if snapshot.rows != info.count
            || (snapshot.rows > 0 && Array(snapshot.row(snapshot.rows - 1)) != patterns.last?.values
                && !patterns.isEmpty)
        {
            problems.append("the in-memory matrix disagrees with LMDB")
        }
        let problemCount = problems.count
        #expect(problemCount == 0, "\(context): \(problems.prefix(5))")
        return Verified(count: info.count, writer0: writer0)
    }
}
