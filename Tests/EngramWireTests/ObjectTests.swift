import Testing

@testable import EngramWire

/// Encodes a reply to bytes and decodes it again, as it would cross the socket.
func overTheWire(_ reply: Reply) throws -> Reply {
    let replies = try decodeReplies(reply.encoded, chunks: [7])
    try #require(replies.count == 1)
    return replies[0]
}

@Suite struct ObjectTests {
    @Test func bankObjectRoundTrip() throws {
        for mode in [RetrievalMode.sparsemax, .softmax, .entmax(alpha: 1.5)] {
            let bank = BankObject(
                name: "digits", dimension: 64, mode: mode, beta: 0.125, normalize: .l2,
                created: 1_764_000_000_000, count: 1797, meta: "from data/digits")
            #expect(try BankObject(reply: try overTheWire(bank.toReply())) == bank)
        }
    }

    @Test func bankObjectHasTheDocumentedKeys() throws {
        let bank = BankObject(
            name: "b", dimension: 2, mode: .softmax, beta: 1, normalize: .none, created: 0,
            count: 0, meta: "")
        let object = try ReplyObject(bank.toReply(), kind: "bank")
        #expect(
            object.keys == [
                "name", "dim", "mode", "alpha", "beta", "normalize", "created", "count", "meta",
            ])
        #expect(object["alpha"] == .text("1"))
    }

    @Test(arguments: [VectorFormat.text, .bin])
    func completionObjectRoundTrip(format: VectorFormat) throws {
        let completion = CompletionObject(
            pattern: [0.25, -1, 3.5e-8],
            support: [
                .init(seq: 12, label: "seven", weight: 0.75),
                .init(seq: 3, label: nil, weight: 0.25),
            ], energy: -1.0625, steps: 3, converged: true, exact: false, asOf: 1797)
        let decoded = try CompletionObject(
            reply: try overTheWire(completion.toReply(format: format)), format: format)
        #expect(decoded == completion)
    }

    @Test func completionSupportEntriesAreTriples() throws {
        let completion = CompletionObject(
            pattern: [1], support: [.init(seq: 5, label: nil, weight: 1)], energy: 0, steps: 1,
            converged: true, exact: true, asOf: 5)
        let object = try ReplyObject(completion.toReply(format: .text), kind: "completion")
        #expect(object["support"] == .array([.array([.integer(5), .null, .text("1")])]))
        #expect(object["exact"] == .integer(1))
        #expect(object["pattern"] == .text("1"))
        #expect(
            object.keys == ["pattern", "support", "energy", "steps", "converged", "exact", "as_of"])
        #expect(object["energy"] == .text("0") && object["steps"] == .integer(1))
        #expect(object["converged"] == .integer(1) && object["as_of"] == .integer(5))
    }

    @Test func patternObjectRoundTrip() throws {
        for label in [nil, "a label"] as [String?] {
            let pattern = PatternObject(seq: 9, pattern: [1, 2, 3], label: label, time: 1234)
            for format in VectorFormat.allCases {
                let reply = try overTheWire(pattern.toReply(format: format))
                #expect(try PatternObject(reply: reply, format: format) == pattern)
            }
        }
    }

    @Test func jobObjectRoundTrip() throws {
        for total in [nil, 5000] as [Int?] {
            let job = JobObject(
                id: "ingest-1", bank: "weather", source: "/data/weather.csv", position: 1200,
                rows: 1100, total: total, skipped: 100, state: .running, message: "",
                updated: 99)
            #expect(try JobObject(reply: try overTheWire(job.toReply())) == job)
        }
    }

    @Test func infoAndStatsRoundTrip() throws {
        let info = InfoObject(
            version: "0.1.0", pid: 4242, uptimeSeconds: 60, banks: 2, connections: 1,
            stateDirectory: "/var/lib/engramd", mapSize: 1 << 26, mapCap: 1 << 36, sync: "full")
        #expect(try InfoObject(reply: try overTheWire(info.toReply())) == info)

        let stats = StatsObject(
            uptimeSeconds: 60, connections: 2, connectionsTotal: 10, requests: 1000, errors: 3,
            commands: [
                .init(
                    name: "PING", calls: 900, errors: 0, p50Micros: 8, p99Micros: 30, maxMicros: 90)
            ],
            banks: [.init(name: "digits", count: 1797)], storeBytes: 1 << 20, mapSize: 1 << 26)
        #expect(try StatsObject(reply: try overTheWire(stats.toReply())) == stats)
    }

    @Test func readersFailClearlyOnTheWrongShape() {
        expectError(.proto) { () throws(WireError) in _ = try BankObject(reply: .integer(3)) }
        expectError(.proto) { () throws(WireError) in
            _ = try BankObject(reply: .object([("name", .text("b"))]))
        }
        expectError(.proto) { () throws(WireError) in
            _ = try JobObject(reply: .array([.text("id")]))
        }
        // An error reply in place of an object surfaces as that error.
        expectError(.noBank) { () throws(WireError) in
            _ = try BankObject(reply: .error(code: "NOBANK", message: "no bank 'x'"))
        }
    }

    @Test func unknownFieldsAreIgnored() throws {
        let job = JobObject(
            id: "j", bank: "b", source: "", position: 0, rows: 0, total: nil, skipped: 0,
            state: .done, message: "ok", updated: 1)
        guard case .array(var elements?) = job.toReply() else {
            Issue.record("not an array")
            return
        }
        elements += [.text("future_field"), .integer(7)]
        #expect(try JobObject(reply: .array(elements)) == job)
    }
}

@Suite struct WireErrorTests {
    @Test func quoteEscapesControlBytesAndCutsLongValues() {
        #expect(WireError.quote(bytes("abc")) == "'abc'")
        #expect(WireError.quote(bytes("a\r\nb\tc\u{1B}")) == "'a\\r\\nb\\tc\\x1B'")
        #expect(WireError.quote([0x61, 0xFF, 0x62]) == "'a\\xFFb'")
        // A truncated sequence, a lone continuation byte, an overlong form and a surrogate
        // each show their bytes; what follows them still decodes.
        #expect(WireError.quote([0xC3, 0x41]) == "'\\xC3A'")
        #expect(WireError.quote([0x80, 0xC3, 0xA9]) == "'\\x80é'")
        #expect(WireError.quote([0xC0, 0xAF]) == "'\\xC0\\xAF'")
        #expect(WireError.quote([0xED, 0xA0, 0x80]) == "'\\xED\\xA0\\x80'")
        #expect(WireError.quote([0xF0, 0x9F, 0x98, 0x80]) == "'😀'")
        let long = String(repeating: "é", count: 40)
        #expect(WireError.quote(long) == "'" + String(repeating: "é", count: 32) + "…'")
        #expect(
            WireError.quote(String(repeating: "x", count: 32)) == "'"
                + String(repeating: "x", count: 32) + "'")
    }

    @Test func messagesNeverCarryControlCharacters() {
        let error = WireError(.args, "bad\r\nvalue\u{2028}")
        #expect(error.message == "bad  value ")
        #expect(!error.toReply().encoded.dropLast(2).contains(0x0A))
    }

    @Test func offendingValuesAreNeverEchoedRaw() {
        let evil = bytes("x\r\n+OK\r\n") + [UInt8](repeating: 0x41, count: 1000)
        let failures: [WireError] = [
            catchError { () throws(WireError) in _ = try Command.parse([evil]) },
            catchError { () throws(WireError) in _ = try Command.parse([bytes("BANK.INFO"), evil])
            },
            catchError { () throws(WireError) in
                _ = try Command.parse([bytes("STORE"), bytes("b"), evil])
            },
            catchError { () throws(WireError) in
                _ = try Command.parse([bytes("GET"), bytes("b"), bytes("1"), evil])
            },
        ].compactMap { $0 }
        #expect(failures.count == 4)
        for failure in failures {
            let encoded = failure.toReply().encoded
            #expect(encoded.filter { $0 == 0x0A || $0 == 0x0D }.count == 2, "\(failure)")
            #expect(encoded.count < 400, "\(failure)")
            #expect(failure.message.contains("\\r\\n+OK"))
        }
    }

    @Test func closingCodes() {
        for code in WireError.Code.all {
            let closes = [WireError.Code.proto, .tooBig, .busy, .shutdown].contains(code)
            #expect(WireError(code, "m").closesConnection == closes, "\(code)")
            #expect(code.rawValue == code.rawValue.uppercased())
        }
        #expect(Set(WireError.Code.all).count == WireError.Code.all.count)
    }

    @Test func clientsKeepUnknownCodes() {
        let error = WireError(code: "ERR", message: "unknown command")
        #expect(error.code.rawValue == "ERR")
        #expect(error.toReply() == .error(code: "ERR", message: "unknown command"))
    }
}

func catchError(_ body: () throws(WireError) -> Void) -> WireError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

@Suite struct WireErrorBuilderTests {
    @Test func buildersUseTheirCodesAndQuoteNames() {
        #expect(WireError.noBank("x\ny").code == .noBank)
        #expect(WireError.noBank("x\ny").message.hasPrefix("no bank 'x\\ny'"))
        #expect(WireError.bankExists("b").code == .exists)
        #expect(
            WireError.dimension(got: 3, expected: 4, bank: "demo").message
                == "the vector has 3 components; bank 'demo' has dimension 4")
        #expect(
            WireError.dimension(got: 3, expected: 4, bank: "d", vector: 2).message.hasPrefix(
                "vector 2 has 3"))
        #expect(WireError.noPattern(seq: 0, bank: "b", count: 0).message.contains("it is empty"))
        #expect(WireError.noPattern(seq: 9, bank: "b", count: 3).message.contains("1 to 3"))
        #expect(
            WireError.permission(.bankDrop, role: "read").message.contains("needs the admin role"))
        #expect(WireError.permission(.bankDrop, role: "read").code == .perm)
        #expect(!WireError.replyTooBig(10, limit: 5).closesConnection)
        #expect(WireError.busy(limit: 1).closesConnection)
        #expect(WireError.shuttingDown.closesConnection)
        #expect(WireError.timeout(milliseconds: 5).code == .timeout)
        #expect(WireError.storeFull(cap: 1).code == .full)
        #expect(WireError.noJob("j").code == .notFound)
        #expect(WireError.emptyBank("b", asOf: 0).message.contains("as of 0"))
        #expect(WireError.asOfPastEnd(9, bank: "b", count: 3).code == .badValue)
        #expect(WireError.internalError("disk").code == .internal)
    }
}
