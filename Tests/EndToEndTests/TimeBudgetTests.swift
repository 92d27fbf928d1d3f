// The query time budget stops a retrieval call midway, not only queued or late answers.

import Foundation
import Glibc
import Testing

@Suite struct TimeBudgetTests {
    /// With a 1 ms budget, a `COMPLETE` and an `MCOMPLETE` of 1000 soft steps over 100,000 × 64
    /// patterns (at least one full pass over 25 MB per step) get `-TIMEOUT`, and the connection
    /// keeps serving. The log shows that no call ran to its end: a late answer would have been
    /// logged with every query answered; a call stopped at its deadline answered none.
    @Test func aLongRetrievalStopsAtItsBudget() throws {
        let directory = makeTemporaryDirectory()
        let config = directory + "/engramd.conf"
        try "# the smallest budget\nquery-timeout-ms = 1\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(directory: directory, arguments: ["--config", config])
        let client = try daemon.client()
        let dimension = 64
        #expect(
            try client.call(
                "BANK.CREATE", "big", "DIM", "\(dimension)", "MODE", "softmax", "BETA", "0.05")
                == .status("OK"))
        try storeRandomPatterns(client, bank: "big", rows: 100_000, dimension: dimension)
        let query = (0..<dimension).map { $0 < dimension / 2 ? "0.5" : "?" }
            .joined(separator: ",")
        let long = ["STEPS", "1000", "TOL", "0"]

        let single = try client.call(["COMPLETE", "big", query] + long)
        #expect(single.errorCode == "TIMEOUT", "\(single)")
        #expect(single.description.contains("1 ms budget"), "\(single)")
        #expect(try client.inline("PING") == .status("PONG"))

        let many = try client.call(["MCOMPLETE", "big", "2", query, query] + long)
        #expect(many.errorCode == "TIMEOUT", "\(many)")
        #expect(try client.inline("PING") == .status("PONG"))

        #expect(daemon.stop() == 0)
        let log = daemon.logText()
        #expect(log.contains("query over its time budget answered=0 queries=2"), "\(log)")
        #expect(!log.contains("answered=1 queries=1"), "\(log)")
        #expect(!log.contains("answered=2 queries=2"), "\(log)")
    }
}
