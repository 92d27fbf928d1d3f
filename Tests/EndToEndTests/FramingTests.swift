import Foundation
import Glibc
import Testing

/// The byte stream as a client might really send it.
@Suite struct FramingTests {
    @Test func mixedTerminatorsSplitWritesAndPipelines() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        client.send("PING\nPING\r\nPING hello\n")
        #expect(try client.reply() == .status("PONG"))
        #expect(try client.reply() == .status("PONG"))
        #expect(try client.reply() == .bulk(Array("hello".utf8)))

        for piece in ["*2\r\n$4\r\nPI", "NG\r\n$2", "\r\nhi", "\r\n"] {
            client.send(piece)
            usleep(30_000)
        }
        #expect(try client.reply() == .bulk(Array("hi".utf8)))
        client.send("PI")
        usleep(30_000)
        client.send("NG\r\n")
        #expect(try client.reply() == .status("PONG"))
    }

    /// Queries answered on the query pool do not read the socket afterwards: whatever came in
    /// a pipeline with them, after them while they ran, or beyond one read's worth of bytes
    /// is still served, in order.
    @Test func requestsAroundQueriesAreServedInOrder() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        #expect(try client.call("BANK.CREATE", "b", "DIM", "3") == .status("OK"))
        #expect(try client.call("STORE", "b", "1,0,0").errorCode == nil)
        let query = RawClient.resp(["COMPLETE", "b", "1,0.1,0"])
        client.send(query + query + Array("PING\n".utf8) + query + Array("PING last\n".utf8))
        for _ in 0..<2 { #expect(try client.reply().errorCode == nil) }
        #expect(try client.reply() == .status("PONG"))
        #expect(try client.reply().errorCode == nil)
        #expect(try client.reply() == .bulk(Array("last".utf8)))

        client.send(query + Array("PI".utf8))
        usleep(30_000)
        client.send("NG\r\n")
        #expect(try client.reply().errorCode == nil)
        #expect(try client.reply() == .status("PONG"))

        // More than one 64 KiB read of pipelined queries, each answered, then a last PING.
        let many = 3_000
        client.send(Array((0..<many).map { _ in query }.joined()) + Array("PING\n".utf8))
        for index in 0..<many {
            let reply = try client.reply()
            guard reply.errorCode == nil else {
                Issue.record("query \(index): \(reply)")
                return
            }
        }
        #expect(try client.reply() == .status("PONG"))
    }

    @Test func badRequestsGetErrorsAndTheConnectionStays() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        #expect(try client.call("BANK.CREATE", "b", "DIM", "3") == .status("OK"))
        let cases: [([String], String)] = [
            (["FROBNICATE", "x"], "UNKNOWN"),
            (["STORE", "b"], "ARGS"),
            (["BANK.INFO"], "ARGS"),
            (["GET", "b", "1", "2", "3"], "ARGS"),
            (["STORE", "b", "1,nan,0"], "BADFLOAT"),
            (["STORE", "b", "1,inf,0"], "BADFLOAT"),
            (["STORE", "b", "-infinity,0,0"], "BADFLOAT"),
            (["COMPLETE", "b", "nan,0,0"], "BADFLOAT"),
            (["STORE", "b", "1,2"], "DIM"),
            (["STORE", "b", "1,2,3,4"], "DIM"),
            (["COMPLETE", "b", "1,2,3,4"], "DIM"),
            (["STORE", "nosuch", "1,2,3"], "NOBANK"),
            (["COMPLETE", "nosuch", "1,2,3"], "NOBANK"),
            (["COMPLETE", "b", "1,2,3"], "NOTFOUND"),
            (["BANK.CREATE", "bad name!", "DIM", "3"], "BADNAME"),
        ]
        for (arguments, code) in cases {
            client.send(RawClient.resp(arguments))
            let reply = try client.reply()
            #expect(reply.errorCode == code, "\(arguments) → \(reply)")
            if case .error(let text) = reply {
                #expect(!text.contains("\r") && !text.contains("\n"))
            }
        }
        #expect(try client.call("STORE", "b", "1,2,3") == .integer(1))
        #expect(try client.call("COMPLETE", "b", "?,?,?").errorCode == "MASKED")
        #expect(try client.call("COMPLETE", "b", "1,2,3", "BETA", "-1").errorCode == "BADVALUE")
        #expect(try client.inline("PING") == .status("PONG"))
        // An over-long echo of bad input is cut short in the message.
        let long = String(repeating: "x", count: 500)
        let reply = try client.call(long)
        #expect(reply.errorCode == "UNKNOWN")
        #expect((reply.text?.count ?? 0) < 300, "\(reply)")
    }

    @Test func lineBreaksInsideArgumentsTravelInRESP() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        #expect(try client.call("BANK.CREATE", "b", "DIM", "2") == .status("OK"))
        let label = "line one\r\nline two\n"
        #expect(try client.call("STORE", "b", "1,2", "LABEL", label) == .integer(1))
        let pattern = try client.call("GET", "b", "1")
        #expect(pattern["label"] == .bulk(Array(label.utf8)))
        #expect(pattern["pattern"]?.text == "1,2")
        // A bare CR inside an inline line is a framing error: reply, then close.
        client.send("PING a\rb\r\n")
        #expect(try client.reply().errorCode == "PROTO")
        #expect(client.isClosedByPeer())
        #expect(try daemon.client().inline("PING") == .status("PONG"))
    }

    @Test func aFiftyMegabyteLineIsRefusedWithoutGrowingTheDaemon() throws {
        let daemon = try DaemonProcess()
        _ = try daemon.client().inline("PING")
        let before = daemon.residentKiB()
        let client = try daemon.client()
        let chunk = [UInt8](repeating: UInt8(ascii: "z"), count: 1 << 20)
        for _ in 0..<50 {
            guard client.send(chunk) else { break }  // the daemon closes after its error
        }
        #expect(try client.reply().errorCode == "TOOBIG")
        #expect(client.isClosedByPeer())
        let after = daemon.residentKiB()
        #expect(after - before < 16 * 1024, "RSS grew from \(before) KiB to \(after) KiB")
        #expect(try daemon.client().inline("PING") == .status("PONG"))
        #expect(daemon.stop() == 0)
    }

    /// Every request limit is a setting: small ones (the minimums) are enforced as
    /// configured, each with its error, and what they refuse costs only the connection that
    /// broke them.
    @Test func configuredRequestLimitsAreEnforced() throws {
        let daemon = try DaemonProcess(arguments: [
            "--max-inline-bytes", "2K", "--max-bulk-bytes", "1K", "--max-arguments", "8",
            "--max-request-bytes", "1K",
        ])
        let inline = try daemon.client()
        inline.send("PING " + String(repeating: "x", count: 2100) + "\r\n")
        #expect(try inline.reply().errorCode == "TOOBIG")
        #expect(inline.isClosedByPeer())

        // The line limit is exact: byte 2049 without an LF is refused without waiting for one.
        let exact = try daemon.client()
        exact.send(String(repeating: "x", count: 2049))
        #expect(try exact.reply().errorCode == "TOOBIG")
        #expect(exact.isClosedByPeer())
        let crlf = try daemon.client()
        // 2048 bytes of line (mostly spaces, to keep within max-request-bytes), then CRLF.
        let spaced =
            "PING" + String(repeating: " ", count: 1044) + String(repeating: "x", count: 1000)
        crlf.send(spaced + "\r")
        usleep(30_000)  // most likely a read of its own: the CR waits for its LF
        crlf.send("\n")
        #expect(try crlf.reply() == .bulk(Array(repeating: UInt8(ascii: "x"), count: 1000)))

        let bulk = try daemon.client()
        #expect(try bulk.call("PING", String(repeating: "y", count: 1100)).errorCode == "TOOBIG")
        #expect(bulk.isClosedByPeer())

        let arguments = try daemon.client()
        #expect(try arguments.call(Array(repeating: "PING", count: 9)).errorCode == "TOOBIG")
        #expect(arguments.isClosedByPeer())

        let half = String(repeating: "z", count: 600)
        let request = try daemon.client()
        #expect(
            try request.call("PING", half, half)
                == .error("TOOBIG request with 1204 bytes of arguments; the limit is 1024"))
        #expect(request.isClosedByPeer())

        // Inline requests count their argument bytes as RESP ones do, and the error is as
        // terminal: the PING after it is not answered.
        let inlineRequest = try daemon.client()
        inlineRequest.send("PING " + String(repeating: "w", count: 1100) + "\nPING\n")
        #expect(
            try inlineRequest.reply()
                == .error("TOOBIG request with 1104 bytes of arguments; the limit is 1024"))
        #expect(inlineRequest.isClosedByPeer())

        #expect(try daemon.client().call("PING", "within") == .bulk(Array("within".utf8)))
        #expect(daemon.stop() == 0)
    }

    /// A reply over max-reply-bytes (at its minimum, 64K) becomes TOOBIG and the connection
    /// stays open.
    @Test func configuredReplyLimitIsEnforced() throws {
        let daemon = try DaemonProcess(arguments: ["--max-reply-bytes", "64K"])
        let client = try daemon.client()
        let dimension = 16_384
        #expect(try client.call("BANK.CREATE", "b", "DIM", "\(dimension)") == .status("OK"))
        let row = (0..<dimension).map { Float(0.1234567) + Float($0) }
        let bytes = row.withUnsafeBytes { Array($0) }
        client.send(
            binaryRequest([Array("STORE".utf8), Array("b".utf8), Array("BIN".utf8), bytes]))
        #expect(try client.reply() == .integer(1))
        #expect(try client.call("GET", "b", "1").errorCode == "TOOBIG")
        #expect(try client.call("PING") == .status("PONG"))
        #expect(daemon.stop() == 0)
    }

    @Test func quitSaysByeAndCloses() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        client.send("PING\r\nQUIT\r\nPING\r\n")
        #expect(try client.reply() == .status("PONG"))
        #expect(try client.reply() == .status("BYE"))
        #expect(client.isClosedByPeer())
    }
}

/// A RESP array of binary-safe bulk strings.
func binaryRequest(_ arguments: [[UInt8]]) -> [UInt8] {
    var out = Array("*\(arguments.count)\r\n".utf8)
    for argument in arguments {
        out += Array("$\(argument.count)\r\n".utf8) + argument + [13, 10]
    }
    return out
}
