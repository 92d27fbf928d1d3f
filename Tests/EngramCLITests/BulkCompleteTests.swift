import EngramWire
import Foundation
import Testing

@testable import EngramCLI

/// `complete --csv` against a daemon that times out on batches of more than two queries.
@Suite struct BulkCompleteTests {
    static func completion(for query: QueryVector) -> Reply {
        // The "completion" is the query itself with unknowns filled by 9, so each answer
        // names the row it came from.
        let pattern = zip(query.values, query.known ?? query.values.map { _ in true }).map {
            $1 ? $0 : 9
        }
        return CompletionObject(
            pattern: pattern, support: [.init(seq: Int(pattern[0]), label: "x", weight: 1)],
            energy: -1, steps: 1, converged: true, exact: true, asOf: 10
        ).toReply(format: .text)
    }

    @Test func timedOutBatchesAreAnsweredInHalvesInOrder() throws {
        let daemon = try FakeDaemon { command in
            switch command {
            case .bankInfo:
                return BankObject(
                    name: "b", dimension: 2, mode: .sparsemax, beta: 1, normalize: .none,
                    created: 0, count: 10, meta: ""
                ).toReply()
            case .mcomplete(let request) where request.queries.count > 2:
                return .error(code: "TIMEOUT", message: "the query ran over its budget")
            case .mcomplete(let request):
                return .array(request.queries.map(Self.completion))
            default:
                return .error(code: "UNKNOWN", message: "not scripted")
            }
        }
        defer { daemon.stop() }
        let rows = (1...9).map { "\($0),?" }.joined(separator: "\n") + "\n"
        let file = NSTemporaryDirectory() + "engram-bulk-\(UUID().uuidString).csv"
        try rows.write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }

        let console = MemoryConsole()
        let code = EngramCLI.run(
            ["--socket", daemon.path, "complete", "b", "--csv", file, "--batch", "4", "--json"],
            environment: [:], console: console)
        #expect(code == 0, "\(console.stderr)")
        let firsts = console.stdout.split(separator: "\n").map { line -> Int? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (object?["pattern"] as? [Double])?.first.map { Int($0) }
        }
        #expect(firsts == (1...9).map { $0 }, "every row once, in order")

        let sizes = daemon.requests.compactMap { command -> Int? in
            if case .mcomplete(let request) = command { return request.queries.count }
            return nil
        }
        #expect(sizes.contains { $0 > 2 }, "the first batches were too big: \(sizes)")
        #expect(sizes.last.map { $0 <= 2 } == true, "later batches were smaller: \(sizes)")
    }

    @Test func aSingleQueryOverBudgetIsAnError() throws {
        let daemon = try FakeDaemon { command in
            switch command {
            case .bankInfo:
                return BankObject(
                    name: "b", dimension: 2, mode: .sparsemax, beta: 1, normalize: .none,
                    created: 0, count: 10, meta: ""
                ).toReply()
            default:
                return .error(code: "TIMEOUT", message: "the query ran over its budget")
            }
        }
        defer { daemon.stop() }
        let file = NSTemporaryDirectory() + "engram-bulk-\(UUID().uuidString).csv"
        try "1,?\n2,?\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        let console = MemoryConsole()
        let code = EngramCLI.run(
            ["--socket", daemon.path, "complete", "b", "--csv", file], environment: [:],
            console: console)
        #expect(code == 1)
        #expect(console.stderr.hasPrefix("engram: error: TIMEOUT: "))
    }
}
