// The query pool under long queries: hung-up clients, batches of slow queries, other banks.

import Foundation
import Glibc
import Testing

@Suite(.serialized) struct QueryPoolTests {
    static let dimension = 64
    static let query = (0..<dimension).map { $0 < dimension / 2 ? "0.5" : "?" }
        .joined(separator: ",")

    /// A daemon with a soft 40,000 × 64 bank, where every step is a full weighted pass (about
    /// 0.1 s in a debug build, 5 ms in a release build).
    private func slowBank(_ arguments: [String] = []) throws -> DaemonProcess {
        let daemon = try DaemonProcess(arguments: arguments)
        let client = try daemon.client()
        #expect(
            try client.call(
                "BANK.CREATE", "big", "DIM", "\(QueryPoolTests.dimension)", "MODE", "softmax",
                "BETA", "0.05") == .status("OK"))
        try storeRandomPatterns(
            client, bank: "big", rows: 40_000, dimension: QueryPoolTests.dimension)
        return daemon
    }

    /// Seconds one `COMPLETE … STEPS steps TOL 0` takes alone on `big`.
    private func timeAlone(_ daemon: DaemonProcess, steps: Int) throws -> Double {
        let client = try daemon.client()
        let started = Date()
        let reply = try client.call(
            ["COMPLETE", "big", QueryPoolTests.query, "STEPS", "\(steps)", "TOL", "0"])
        #expect(reply.errorCode == nil, "\(reply)")
        return Date().timeIntervalSince(started)
    }

    /// Clients that send a long query and hang up at once: the queries still waiting are
    /// dropped unanswered (logged), not computed, and their connections are released.
    @Test func queriesOfClientsThatHungUpAreDropped() throws {
        let daemon = try slowBank(["--log-level", "debug"])
        let clients = 24
        for index in 0..<clients {
            let client = try daemon.client()
            // Distinct β: no two share a batch, so each is its own piece of work.
            client.send(
                RawClient.resp([
                    "COMPLETE", "big", QueryPoolTests.query, "STEPS", "10", "TOL", "0", "BETA",
                    "0.05\(index + 1)",
                ]))
            client.close()
        }
        let observer = try daemon.client()
        var connections = Int.max
        for _ in 0..<300 {
            connections = try observer.call("INFO")["connections"]?.integer ?? Int.max
            if connections == 1 { break }
            usleep(50_000)
        }
        #expect(connections == 1, "connections still open: \(connections)")
        #expect(daemon.stop() == 0)
        let dropped = daemon.logText().components(separatedBy: "query dropped").count - 1
        #expect(dropped >= clients / 2, "dropped \(dropped) of \(clients) abandoned queries")
    }

    /// A batch of identical slow queries hands each answer over when it is done: with a budget
    /// of a few single-query times, the first ones are answered, not all timed out together.
    @Test func aBatchOfSlowQueriesAnswersItsFirstQueriesInTime() throws {
        let probe = try slowBank()
        let alone = try timeAlone(probe, steps: 6)
        #expect(probe.stop() == 0)
        let budget = max(200, Int(alone * 1000 * 3))
        let daemon = try slowBank(["--query-timeout-ms", "\(budget)", "--query-workers", "1"])
        let count = 8
        let clients = try (0..<count).map { _ in try daemon.client() }
        for client in clients {
            client.send(
                RawClient.resp(["COMPLETE", "big", QueryPoolTests.query, "STEPS", "6", "TOL", "0"])
            )
        }
        let replies = try clients.map { try $0.reply() }
        let answered = replies.filter { $0.errorCode == nil }.count
        // Computed one by one, two fit in three single-query times; a batch that answered
        // only at its end would answer none but a query that ran alone.
        #expect(answered >= 2, "\(answered) of \(count) answered within \(budget) ms")
        #expect(
            replies.allSatisfy { $0.errorCode == nil || $0.errorCode == "TIMEOUT" }, "\(replies)")
        #expect(daemon.stop() == 0)
    }

    /// Long queries on one bank keep every base worker busy; a quick query on another bank
    /// gets a worker of its own and is answered before any of them.
    @Test func aQuickQueryDoesNotWaitBehindLongOnesOnAnotherBank() throws {
        let daemon = try slowBank(["--query-workers", "1", "--query-timeout-ms", "60000"])
        let setup = try daemon.client()
        #expect(try setup.call("BANK.CREATE", "small", "DIM", "4") == .status("OK"))
        #expect(try setup.call("STORE", "small", "1,0,0,0") == .integer(1))
        let alone = try timeAlone(daemon, steps: 12)
        let heavy = try (0..<2).map { _ in try daemon.client() }
        for (index, client) in heavy.enumerated() {
            client.send(
                RawClient.resp([
                    "COMPLETE", "big", QueryPoolTests.query, "STEPS", "12", "TOL", "0", "BETA",
                    "0.04\(index + 1)",
                ]))
        }
        usleep(UInt32(min(alone / 4, 0.2) * 1_000_000))
        let quick = try daemon.client()
        let started = Date()
        #expect(try quick.call("COMPLETE", "small", "1,?,0,0")["exact"] == .integer(1))
        let waited = Date().timeIntervalSince(started)
        #expect(waited < alone, "the quick query waited \(waited) s; a long one takes \(alone) s")
        for client in heavy { #expect(try client.reply().errorCode == nil) }
        #expect(daemon.stop() == 0)
    }
}
