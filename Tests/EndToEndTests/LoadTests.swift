import Foundation
import Glibc
import Synchronization
import Testing

/// Many clients at once, clients that vanish, and a daemon that is killed.
@Suite struct LoadTests {
    @Test func twoHundredClientsStoreAndCompleteAtOnce() throws {
        // A generous budget: this test is about concurrency, on a debug build and a busy box.
        let daemon = try DaemonProcess(arguments: ["--query-timeout-ms", "120000"])
        #expect(try daemon.client().call("BANK.CREATE", "load", "DIM", "8") == .status("OK"))
        let clients = 200
        let storesEach = 10
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for index in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let client = try daemon.client()
                    for step in 0..<storesEach {
                        var vector = [String](repeating: "0", count: 8)
                        vector[(index + step) % 8] = "1"
                        let stored = try client.call(
                            "STORE", "load", vector.joined(separator: ","), "LABEL",
                            "c\(index)-\(step)")
                        guard stored.integer != nil else {
                            throw HarnessError(description: "\(stored)")
                        }
                        let completion = try client.call(
                            "COMPLETE", "load", vector.joined(separator: ","))
                        guard completion["pattern"] != nil else {
                            throw HarnessError(description: "\(completion)")
                        }
                    }
                } catch {
                    failures.withLock { $0.append("client \(index): \(error)") }
                }
            }
        }
        #expect(group.wait(timeout: .now() + 90) == .success)
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")
        let info = try daemon.client().call("BANK.INFO", "load")
        #expect(info["count"] == .integer(clients * storesEach))
        #expect(daemon.stop() == 0)
    }

    @Test func concurrentQueriesGetTheSameAnswerAsAQueryAlone() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        let dimension = 16
        #expect(
            try client.call("BANK.CREATE", "same", "DIM", "\(dimension)", "BETA", "4")
                == .status("OK"))
        var generator = SplitMix(seed: 7)
        func vector() -> String {
            (0..<dimension).map { _ in String(Float(generator.unit() * 2 - 1)) }
                .joined(separator: ",")
        }
        let rows = (0..<300).map { _ in vector() }
        #expect(try client.call(["MSTORE", "same", "300"] + rows).errorCode == nil)
        let queries = (0..<8).map { _ in vector() }
        let alone = try queries.map { try client.call("COMPLETE", "same", $0) }
        let mismatches = Mutex<[String]>([])
        let group = DispatchGroup()
        for thread in 0..<24 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let client = try? daemon.client() else { return }
                for round in 0..<20 {
                    let index = (thread + round) % queries.count
                    let reply = try? client.call("COMPLETE", "same", queries[index])
                    if reply != alone[index] {
                        mismatches.withLock {
                            $0.append("query \(index): \(String(describing: reply))")
                        }
                    }
                }
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(mismatches.withLock { $0 }.isEmpty, "\(mismatches.withLock { $0.prefix(2) })")
        #expect(daemon.stop() == 0)
    }

    @Test func clientsThatLeaveInTheMiddleOfALargeReply() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        let dimension = 256
        #expect(try client.call("BANK.CREATE", "big", "DIM", "\(dimension)") == .status("OK"))
        let row = (0..<dimension).map { "0.\($0 % 10)123" }.joined(separator: ",")
        let queries = 400
        #expect(
            try client.call("MSTORE", "big", "2", row, row) == .array([.integer(1), .integer(2)]))
        let request = RawClient.resp(
            ["MCOMPLETE", "big", "\(queries)"] + [String](repeating: row, count: queries))
        for _ in 0..<5 {
            let leaver = try daemon.client()
            leaver.send(request)
            var few = [UInt8](repeating: 0, count: 100)
            _ = read(leaver.fd, &few, few.count)
            leaver.close()
        }
        // A client that sends and never reads: its connection stalls (backpressure: the
        // daemon stops reading it), the rest of the daemon does not.
        let sleeper = try daemon.client()
        sleeper.send(request)
        #expect(try client.inline("PING") == .status("PONG"))
        let whole = try client.call("MCOMPLETE", "big", "2", row, row)
        guard case .array(let answers?) = whole else {
            Issue.record("\(whole)")
            return
        }
        #expect(answers.count == 2)
        sleeper.close()
        #expect(daemon.stop() == 0)
    }

    @Test func everyAcknowledgedPatternSurvivesSIGKILL() throws {
        let directory = makeTemporaryDirectory()
        let first = try DaemonProcess(directory: directory)
        first.removesDirectory = false
        #expect(try first.client().call("BANK.CREATE", "d", "DIM", "4") == .status("OK"))
        let acknowledged = Mutex<[(seq: Int, label: String)]>([])
        let running = Atomic<Bool>(true)
        let group = DispatchGroup()
        let socket = first.socketPath
        for writer in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let client = try? RawClient(path: socket) else { return }
                var step = 0
                while running.load(ordering: .relaxed) {
                    let label = "w\(writer)-\(step)"
                    guard
                        let reply = try? client.call(
                            "STORE", "d", "\(writer),\(step),1,0", "LABEL", label),
                        let seq = reply.integer
                    else { return }
                    acknowledged.withLock { $0.append((seq, label)) }
                    step += 1
                }
            }
        }
        usleep(1_500_000)
        first.stop(signal: SIGKILL)
        running.store(false, ordering: .relaxed)
        #expect(group.wait(timeout: .now() + 30) == .success)
        let stored = acknowledged.withLock { $0 }
        #expect(stored.count > 20, "too few writes to test anything: \(stored.count)")

        let second = try DaemonProcess(directory: directory)
        let client = try second.client()
        var missing: [String] = []
        for (seq, label) in stored {
            let pattern = try client.call("GET", "d", "\(seq)")
            if pattern["label"]?.text != label { missing.append("\(seq) \(label): \(pattern)") }
        }
        #expect(
            missing.isEmpty, "\(missing.count) acknowledged patterns lost: \(missing.prefix(3))")
        let count = try client.call("BANK.INFO", "d")["count"]?.integer ?? 0
        #expect(count >= stored.count)
        #expect(second.stop() == 0)
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
