import Foundation
import Glibc
import Testing

/// Every command through the real daemon: replies, and the errors that need the store.
@Suite struct CommandTests {
    @Test func banksPatternsJobsInfoAndStats() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        #expect(
            try client.call(
                "BANK.CREATE", "k", "DIM", "3", "MODE", "softmax", "BETA", "2",
                "META", "about k") == .status("OK"))
        let bank = try client.call("BANK.INFO", "k")
        #expect(bank["mode"]?.text == "softmax" && bank["beta"]?.text == "2")
        #expect(bank["meta"]?.text == "about k" && bank["count"] == .integer(0))
        guard case .array(let banks?) = try client.call("BANK.LIST") else {
            Issue.record("BANK.LIST is not an array")
            return
        }
        #expect(banks.count == 1)

        let stored = try client.call(
            "MSTORE", "k", "2", "1,0,0", "0,1,0", "LABELS", "a", "b", "JOB", "j1", "POS", "7",
            "ROWS", "2", "TOTAL", "10")
        #expect(stored == .array([.integer(1), .integer(2)]))
        let job = try client.call("JOB.GET", "j1")
        #expect(job["bank"]?.text == "k" && job["pos"] == .integer(7) && job["rows"] == .integer(2))
        #expect(job["state"]?.text == "running")
        #expect(try client.call("JOB.SET", "j1", "done", "MESSAGE", "finished") == .status("OK"))
        #expect(try client.call("JOB.GET", "j1")["state"]?.text == "done")
        #expect(try client.call("JOB.GET", "nojob") == .bulk(nil))
        guard case .array(let jobs?) = try client.call("JOBS") else {
            Issue.record("JOBS is not an array")
            return
        }
        #expect(jobs.count == 1)

        let binary = try client.call("GET", "k", "2", "FORMAT", "bin")
        let bytes = [Float(0), 1, 0].withUnsafeBytes { Array($0) }
        #expect(binary["pattern"] == .bulk(bytes) && binary["label"]?.text == "b")
        #expect(try client.call("GET", "k", "3").errorCode == "NOTFOUND")
        #expect(try client.call("GET", "k", "0").errorCode == "NOTFOUND")

        let batch = try client.call("MCOMPLETE", "k", "2", "1,0,?", "0,1,?", "TOP", "1")
        guard case .array(let answers?) = batch, answers.count == 2 else {
            Issue.record("\(batch)")
            return
        }
        guard case .array(let support?) = answers[0]["support"], support.count == 1,
            case .array(let entry?) = support[0]
        else {
            Issue.record("\(answers[0])")
            return
        }
        #expect(entry[0] == .integer(1) && entry[1].text == "a")
        #expect(try client.call("COMPLETE", "k", "1,0,0", "ASOF", "1")["as_of"] == .integer(1))
        #expect(try client.call("COMPLETE", "k", "1,0,0", "ASOF", "9").errorCode == "BADVALUE")
        #expect(try client.call("COMPLETE", "k", "1,0,0", "ASOF", "0").errorCode == "NOTFOUND")

        let info = try client.call("INFO")
        #expect(info["banks"] == .integer(1) && info["sync"]?.text == "full")
        #expect(info["pid"] == .integer(Int(daemon.pid)))
        let stats = try client.call("STATS")
        guard case .array(let commands?) = stats["commands"] else {
            Issue.record("\(stats)")
            return
        }
        let names = commands.compactMap { $0["name"]?.text }
        #expect(names.contains("MSTORE") && names.contains("GET") && names.contains("BANK.INFO"))
        let get = commands.first { $0["name"]?.text == "GET" }
        #expect(get?["calls"] == .integer(3) && get?["errors"] == .integer(2))
        #expect((get?["p99_us"]?.integer ?? -1) >= (get?["p50_us"]?.integer ?? 0))

        #expect(try client.call("BANK.DROP", "k").errorCode == "ARGS")
        #expect(try client.call("BANK.DROP", "k", "CONFIRM") == .integer(2))
        #expect(try client.call("BANK.INFO", "k").errorCode == "NOBANK")
        #expect(daemon.stop() == 0)
    }

    @Test func backupGoesUnderTheStateDirectoryAndOpensAsAStore() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        #expect(try client.call("BANK.CREATE", "b", "DIM", "2") == .status("OK"))
        #expect(try client.call("STORE", "b", "1,2", "LABEL", "x") == .integer(1))
        let reply = try client.call("BACKUP", "backups/one")
        let target = daemon.directory + "/state/backups/one"
        #expect(reply.text == "OK \(absolutePath(target))", "\(reply)")
        #expect(FileManager.default.fileExists(atPath: target + "/data.mdb"))
        #expect(try client.call("BACKUP", "backups/one").errorCode == "BADVALUE")
        #expect(daemon.stop() == 0)

        // The copy serves as the environment of a new daemon.
        let restored = makeTemporaryDirectory()
        try FileManager.default.createDirectory(
            atPath: restored + "/state", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: target, toPath: restored + "/state/db")
        let second = try DaemonProcess(directory: restored)
        #expect(try second.client().call("GET", "b", "1")["label"]?.text == "x")
        #expect(second.stop() == 0)
    }

    @Test func aQueryOverItsBudgetGetsTimeout() throws {
        let daemon = try DaemonProcess(arguments: ["--query-timeout-ms", "1"])
        let client = try daemon.client()
        let dimension = 64
        #expect(try client.call("BANK.CREATE", "t", "DIM", "\(dimension)") == .status("OK"))
        var generator = SplitMix(seed: 3)
        let rows = 2000
        var values: [Float] = []
        for _ in 0..<(rows * dimension) { values.append(Float(generator.unit())) }
        let bytes = values.withUnsafeBytes { Array($0) }
        var request = Array("*5\r\n$6\r\nMSTORE\r\n$1\r\nt\r\n$4\r\n\(rows)\r\n$3\r\nBIN\r\n".utf8)
        request += Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
        client.send(request)
        #expect(try client.reply() == .array([.integer(1), .integer(rows)]))
        let query = (0..<dimension).map { _ in "0.5" }.joined(separator: ",")
        let many = try client.call(["MCOMPLETE", "t", "600"] + Array(repeating: query, count: 600))
        #expect(many.errorCode == "TIMEOUT", "\(many.errorCode ?? "an answer")")
        #expect(try client.inline("PING") == .status("PONG"))
        #expect(daemon.stop() == 0)
    }

    @Test func connectionsOverTheLimitGetBusy() throws {
        let daemon = try DaemonProcess(arguments: ["--max-connections", "2"])
        // The harness's readiness probe may still be counted: wait until only ours are.
        func waitForConnections(_ count: Int, asking client: RawClient) throws {
            for _ in 0..<200 {
                if try client.call("INFO")["connections"] == .integer(count) { return }
                usleep(20_000)
            }
            Issue.record("the daemon never counted \(count) connections")
        }
        let first = try daemon.client()
        try waitForConnections(1, asking: first)
        let second = try daemon.client()
        try waitForConnections(2, asking: second)
        let third = try daemon.client()
        #expect(try third.reply().errorCode == "BUSY")
        #expect(third.isClosedByPeer())
        first.close()
        try waitForConnections(1, asking: second)
        #expect(try daemon.client().inline("PING") == .status("PONG"))
        #expect(daemon.stop() == 0)
    }

    @Test func helloAnswersRedisClientLibraries() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        client.send(RawClient.resp(["HELLO", "3"]))
        var header = [UInt8](repeating: 0, count: 4)
        #expect(read(client.fd, &header, 4) == 4)
        #expect(String(decoding: header, as: UTF8.self) == "%7\r\n")
        let two = try daemon.client().call("HELLO", "2")
        #expect(two["proto"] == .integer(2) && two["server"]?.text == "engramd")
        #expect(try daemon.client().call("HELLO", "4").errorCode == "NOPROTO")

        // What redis-py sends on every connection; not counted as errors.
        let library = try daemon.client()
        #expect(try library.call("CLIENT", "SETINFO", "LIB-NAME", "redis-py") == .status("OK"))
        #expect(try library.call("client", "setinfo", "LIB-VER", "8.1.0") == .status("OK"))
        #expect(try library.call("CLIENT", "SETNAME", "worker-1") == .status("OK"))
        #expect(try library.call("CLIENT", "KILL", "x").errorCode != nil)
        let stats = try library.call("STATS")
        #expect(stats["errors"] == .integer(1), "\(stats)")
    }

    /// Two runs of one job that both believe the job has 2 rows committed: the first batch
    /// commits, the second gets CONFLICT and stores nothing, and a batch that follows the
    /// first commits again.
    @Test func mstoreIfRowsRefusesABatchThatDoesNotFollowTheJob() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        #expect(try client.call("BANK.CREATE", "c", "DIM", "2") == .status("OK"))
        func batch(_ vectors: [String], pos: Int, rows: Int, after: Int) throws -> RESP {
            try client.call(
                ["MSTORE", "c", "\(vectors.count)"] + vectors
                    + ["JOB", "j", "POS", "\(pos)", "ROWS", "\(rows)", "IFROWS", "\(after)"])
        }
        #expect(try batch(["1,0"], pos: 1, rows: 1, after: 1).errorCode == "CONFLICT")
        #expect(try client.call("JOB.GET", "j") == .bulk(nil))
        #expect(
            try batch(["1,0", "0,1"], pos: 2, rows: 2, after: 0)
                == .array([1, 2].map(RESP.integer)))

        #expect(
            try batch(["1,1", "2,2"], pos: 4, rows: 4, after: 2)
                == .array([3, 4].map(RESP.integer)))
        let second = try batch(["1,1", "2,2"], pos: 4, rows: 4, after: 2)
        #expect(second.errorCode == "CONFLICT", "\(second)")
        #expect(second.text == nil)
        #expect(try client.call("BANK.INFO", "c")["count"] == .integer(4))
        let job = try client.call("JOB.GET", "j")
        #expect(job["rows"] == .integer(4) && job["pos"] == .integer(4))
        #expect(try client.call("GET", "c", "5").errorCode == "NOTFOUND")

        #expect(try batch(["3,3"], pos: 5, rows: 5, after: 4) == .array([5, 5].map(RESP.integer)))
        #expect(try client.call("BANK.INFO", "c")["count"] == .integer(5))
    }

    /// After `HELLO 3` every nil is the RESP3 `_`, on the event loop (`GET`, `JOB.GET`) and on
    /// the query pool (`COMPLETE`), until `HELLO 2`; a bare `HELLO` keeps the dialect.
    @Test func helloThreeSendsNilAsTheResp3NullUntilHelloTwo() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        #expect(try client.call("BANK.CREATE", "n", "DIM", "2") == .status("OK"))
        #expect(try client.call("STORE", "n", "1,0") == .integer(1))
        #expect(try client.call("JOB.GET", "nojob") == .bulk(nil))

        #expect(try client.call("HELLO", "3")["proto"] == .integer(3))
        #expect(try client.call("JOB.GET", "nojob") == .null3)
        #expect(try client.call("GET", "n", "1")["label"] == .null3)
        let support = try client.call("COMPLETE", "n", "1,?")["support"]
        #expect(support == .array([.array([.integer(1), .null3, .bulk(Array("1".utf8))])]))
        #expect(try client.call("HELLO", "4").errorCode == "NOPROTO")
        #expect(try client.call("JOB.GET", "nojob") == .null3)

        #expect(try client.call("HELLO")["proto"] == .integer(3))
        #expect(try client.call("JOB.GET", "nojob") == .null3)
        #expect(try client.call("HELLO", "2")["proto"] == .integer(2))
        #expect(try client.call("JOB.GET", "nojob") == .bulk(nil))
        #expect(try client.call("GET", "n", "1")["label"] == .bulk(nil))
        #expect(try daemon.client().call("JOB.GET", "nojob") == .bulk(nil))
    }

    /// numpy users fill the unknowns of a binary query with NaN: values at components the
    /// `MASK` marks unknown are ignored whatever they are, for `COMPLETE` and `MCOMPLETE`,
    /// and a non-finite known component is still `BADFLOAT`.
    @Test func binaryQueriesIgnoreNonFiniteValuesAtMaskedComponents() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        #expect(try client.call("BANK.CREATE", "m", "DIM", "4") == .status("OK"))
        let stored = try client.call("MSTORE", "m", "3", "1,0,1,0", "0,1,0,1", "1,1,0,0")
        #expect(stored == .array([.integer(1), .integer(3)]))
        let mask = Array("1010".utf8)
        func complete(_ rows: [[Float]]) throws -> RESP {
            let bytes = rows.flatMap { $0 }.withUnsafeBytes { Array($0) }
            let head = rows.count == 1 ? ["COMPLETE", "m"] : ["MCOMPLETE", "m", "\(rows.count)"]
            let words = (head + ["BIN"]).map { Array($0.utf8) } + [bytes, Array("MASK".utf8), mask]
            client.send(binaryRequest(words))
            return try client.reply()
        }

        let zeros = try complete([[1, 0, 0.5, 0]])
        #expect(zeros["pattern"] != nil, "\(zeros)")
        #expect(try complete([[1, .nan, 0.5, .nan]]) == zeros)
        #expect(try complete([[1, .infinity, 0.5, -.infinity]]) == zeros)
        let batchZeros = try complete([[1, 0, 0.5, 0], [0, 0, 1, 0]])
        guard case .array(let answers?) = batchZeros, answers.count == 2 else {
            Issue.record("\(batchZeros)")
            return
        }
        #expect(try complete([[1, .nan, 0.5, .infinity], [0, .nan, 1, .nan]]) == batchZeros)

        let known = try complete([[1, .nan, .nan, 0]])
        #expect(known.errorCode == "BADFLOAT", "\(known)")
        #expect("\(known)".contains("component 3 of the binary vector is nan"))
        #expect(try complete([[1, 0, 0.5, 0], [.infinity, 0, 1, 0]]).errorCode == "BADFLOAT")
        #expect(try client.call("PING") == .status("PONG"))
        #expect(daemon.stop() == 0)
    }
}

func absolutePath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}
