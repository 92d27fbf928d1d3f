import EngramWire
import Foundation
import Testing

@testable import EngramCLI

/// `store --csv` when the daemon goes away mid-run: what the user is told was stored.
@Suite struct StoreFailureTests {
    /// Counts the MSTORE requests the fake has seen, across its serving thread.
    final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()

        func next() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }

    static func bank(dimension: Int) -> Reply {
        BankObject(
            name: "d", dimension: dimension, mode: .sparsemax, beta: 1, normalize: .none,
            created: 0, count: 0, meta: ""
        ).toReply()
    }

    static func csv(rows: Int, dimension: Int) throws -> String {
        let line = (0..<dimension).map { String($0 % 7) }.joined(separator: ",")
        let file = NSTemporaryDirectory() + "engram-store-\(UUID().uuidString).csv"
        try String(repeating: line + "\n", count: rows).write(
            toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The daemon takes batch 2 and closes without replying (it may have committed it): the
    /// acknowledged count is only a lower bound, and the user is told to check the count.
    @Test func lostRepliesMakeTheCountALowerBound() throws {
        let counter = Counter()
        let daemon = try FakeDaemon { command in
            switch command {
            case .bankInfo: return .init(replies: [Self.bank(dimension: 2)])
            case .mstore:
                let batch = counter.next()
                if batch == 1 { return .init(replies: [.array([.integer(1), .integer(2)])]) }
                return .init(replies: [], hangUp: true)
            default: return .init(replies: [.error(code: "UNKNOWN", message: "not scripted")])
            }
        }
        defer { daemon.stop() }
        let file = try Self.csv(rows: 10, dimension: 2)
        defer { unlink(file) }

        let console = MemoryConsole()
        let code = EngramCLI.run(
            ["--socket", daemon.path, "store", "d", "--csv", file, "--batch", "2"],
            environment: [:], console: console)
        #expect(code == ExitCode.unavailable.rawValue, "\(console.stderr)")
        #expect(
            console.stderr.contains("at least 2 rows were stored (seq 1..2)"), "\(console.stderr)")
        #expect(console.stderr.contains("may also have been committed"), "\(console.stderr)")
        #expect(console.stderr.contains("'engram bank info d' (count)"), "\(console.stderr)")
    }

    /// The daemon answers batch 1, says `-SHUTDOWN` and closes while the client is still
    /// sending batch 2 (too big for the socket buffer): the error shown is the daemon's.
    @Test func shutdownIsReportedRatherThanABrokenPipe() throws {
        let daemon = try FakeDaemon { command in
            switch command {
            case .bankInfo: return .init(replies: [Self.bank(dimension: 64)])
            case .mstore:
                return .init(
                    replies: [
                        .array([.integer(1), .integer(1000)]),
                        .error(code: "SHUTDOWN", message: "engramd is stopping"),
                    ], hangUp: true)
            default: return .init(replies: [.error(code: "UNKNOWN", message: "not scripted")])
            }
        }
        defer { daemon.stop() }
        let file = try Self.csv(rows: 4000, dimension: 64)
        defer { unlink(file) }

        let console = MemoryConsole()
        let code = EngramCLI.run(
            ["--socket", daemon.path, "store", "d", "--csv", file, "--batch", "1000"],
            environment: [:], console: console)
        #expect(code == ExitCode.requestFailed.rawValue, "\(console.stderr)")
        #expect(console.stderr.hasPrefix("engram: error: SHUTDOWN"), "\(console.stderr)")
        #expect(!console.stderr.contains("broken pipe"), "\(console.stderr)")
        #expect(console.stderr.contains("1000 rows"), "\(console.stderr)")
        #expect(console.stderr.contains("'engram bank info d' (count)"), "\(console.stderr)")
    }

    @Test func hintWording() {
        #expect(
            StoreCommand.partialHint(bank: "b", stored: 0, seq: nil, inFlight: 0) == nil)
        #expect(
            StoreCommand.partialHint(bank: "b", stored: 1, seq: (5, 5), inFlight: 0)
                == "1 row was stored before the failure (seq 5..5); check 'engram bank info b' "
                + "(count) before re-sending any rows")
        #expect(
            StoreCommand.partialHint(bank: "b", stored: 0, seq: nil, inFlight: 3)
                == "no rows were acknowledged as stored; up to 3 rows more were in flight and "
                + "may also have been committed; check 'engram bank info b' (count) before "
                + "re-sending any rows")
    }
}
