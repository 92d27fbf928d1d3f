import Testing

@testable import EngramWire

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Decodes every reply in `bytes`, fed in chunks of the given sizes (cycled).
func decodeReplies(
    _ bytes: [UInt8], chunks: [Int]? = nil, limits: WireLimits = .default
) throws(WireError) -> [Reply] {
    var decoder = ReplyDecoder(limits: limits)
    var out: [Reply] = []
    var offset = 0
    let sizes = chunks ?? [max(bytes.count, 1)]
    var index = 0
    while offset < bytes.count {
        let size = max(1, min(sizes[index % sizes.count], bytes.count - offset))
        decoder.feed(bytes[offset..<(offset + size)])
        offset += size
        index += 1
        while let reply = try decoder.next() { out.append(reply) }
    }
    return out
}

@Suite struct ReplyEncodingTests {
    @Test(arguments: [
        (Reply.ok, "+OK\r\n"),
        (.status("PONG"), "+PONG\r\n"),
        (.error(code: "NOBANK", message: "no bank 'x'"), "-NOBANK no bank 'x'\r\n"),
        (.error(code: "ERR", message: ""), "-ERR\r\n"),
        (.integer(0), ":0\r\n"),
        (.integer(7), ":7\r\n"),
        (.integer(-42), ":-42\r\n"),
        (.integer(Int.max), ":9223372036854775807\r\n"),
        (.integer(Int.min), ":-9223372036854775808\r\n"),
        (.bulk(Array("a\r\nb".utf8)), "$4\r\na\r\nb\r\n"),
        (.bulk([]), "$0\r\n\r\n"),
        (.null, "$-1\r\n"),
        (.array(nil), "*-1\r\n"),
        (.array([]), "*0\r\n"),
        (
            .array([.integer(1), .array([.null, .text("x")])]),
            "*2\r\n:1\r\n*2\r\n$-1\r\n$1\r\nx\r\n"
        ),
    ])
    func encodesExactBytes(reply: Reply, expected: String) {
        #expect(text(reply.encoded) == expected)
    }

    @Test func statusAndErrorTextCannotBreakTheFraming() {
        let injected = Reply.error(code: "ARGS", message: "bad\r\n+OK\r\n")
        let encoded = injected.encoded
        #expect(encoded.filter { $0 == 0x0A }.count == 1)
        #expect(text(encoded) == "-ARGS bad  +OK  \r\n")
        #expect(Reply.status("a\nb\u{7F}").encoded == Array("+a b \r\n".utf8))
    }

    @Test func encodeAppendsToTheBuffer() {
        var buffer = Array("x".utf8)
        Reply.integer(5).encode(into: &buffer)
        Reply.ok.encode(into: &buffer)
        #expect(text(buffer) == "x:5\r\n+OK\r\n")
    }

    @Test func objectIsAFlatKeyValueArray() {
        let object = Reply.object([("a", .integer(1)), ("b", .null)])
        #expect(object == .array([.text("a"), .integer(1), .text("b"), .null]))
    }
}

@Suite struct ReplyDecoderTests {
    static let samples: [Reply] = [
        .ok, .status("PONG with spaces"), .error(code: "DIM", message: "vector has 3"),
        .error(code: "ERR", message: ""), .integer(-1), .integer(1 << 40), .null, .bulk([]),
        .bulk(Array("x\r\ny".utf8)), .array(nil), .array([]),
        .array([.array([.array([.integer(3), .null]), .array(nil)]), .text("deep"), .ok]),
        .object([("pattern", .text("1,2")), ("support", .array([.array([.integer(1)])]))]),
    ]

    @Test func roundTripsEveryShape() throws {
        for sample in Self.samples {
            #expect(try decodeReplies(sample.encoded) == [sample])
        }
    }

    @Test func roundTripsWhateverTheChunking() throws {
        let stream = Self.samples.flatMap(\.encoded)
        for size in [1, 2, 3, 5, 7, 64] {
            #expect(try decodeReplies(stream, chunks: [size]) == Self.samples)
        }
        var generator = SplitMix64(seed: 3)
        for _ in 0..<100 {
            let sizes = (0..<8).map { _ in Int.random(in: 1...20, using: &generator) }
            #expect(try decodeReplies(stream, chunks: sizes) == Self.samples)
        }
    }

    @Test func largeArrayInSmallReads() throws {
        let reply = Reply.array((0..<20_000).map { .bulk(Array(String($0).utf8)) })
        #expect(try decodeReplies(reply.encoded, chunks: [1000]) == [reply])
    }

    @Test(arguments: [
        "?what\r\n", ":12x\r\n", "$-2\r\n", "$3\r\nabcd\r\n", "*-5\r\n", "+OK\n", "$x\r\n",
    ])
    func malformedRepliesAreTypedErrors(input: String) {
        expectError(.proto) { () throws(WireError) in
            _ = try decodeReplies(bytes(input))
        }
    }

    @Test func nestingIsBounded() {
        let deep = [UInt8](String(repeating: "*1\r\n", count: ReplyDecoder.maxDepth + 1).utf8)
        expectError(.proto) { () throws(WireError) in _ = try decodeReplies(deep) }
    }

    @Test func replySizeIsBounded() throws {
        let limits = WireLimits(maxReplyBytes: 100)
        expectError(.tooBig) { () throws(WireError) in
            _ = try decodeReplies(
                Reply.bulk(Array(repeating: 1, count: 200)).encoded, limits: limits)
        }
        let many = Reply.array(Array(repeating: .integer(1), count: 40))
        expectError(.tooBig) { () throws(WireError) in
            _ = try decodeReplies(many.encoded, limits: limits)
        }
        #expect(
            try decodeReplies(Reply.bulk(Array(repeating: 1, count: 80)).encoded, limits: limits)
                .count == 1)
    }

    @Test func incompleteReplyWaits() throws {
        var decoder = ReplyDecoder()
        decoder.feed(bytes("*2\r\n:1\r\n$3\r\nab"))
        #expect(try decoder.next() == nil)
        #expect(!decoder.isAtBoundary)
        decoder.feed(bytes("c\r\n"))
        #expect(try decoder.next() == .array([.integer(1), .text("abc")]))
        #expect(decoder.isAtBoundary)
    }
}

@Suite struct RequestEncoderTests {
    @Test func encodesAsRedisCliDoes() {
        let encoded = RequestEncoder.encode(args("PING", "hello world"))
        #expect(text(encoded) == "*2\r\n$4\r\nPING\r\n$11\r\nhello world\r\n")
    }

    @Test func requestDecoderReadsWhatTheEncoderWrites() throws {
        let arguments: Arguments = [bytes("STORE"), [], [0, 0x0D, 0x0A], bytes("é")]
        #expect(try decodeAll(RequestEncoder.encode(arguments)) == [arguments])
    }
}

@Suite struct ReplyDialectTests {
    @Test func resp3SendsNullsAsUnderscoreAndNothingElseChanges() {
        let reply = Reply.array([.null, .array(nil), .integer(1), .text("x"), .ok])
        #expect(text(reply.encoded) == "*5\r\n$-1\r\n*-1\r\n:1\r\n$1\r\nx\r\n+OK\r\n")
        var resp3: [UInt8] = []
        reply.encode(into: &resp3, dialect: .resp3)
        #expect(text(resp3) == "*5\r\n_\r\n_\r\n:1\r\n$1\r\nx\r\n+OK\r\n")
    }

    @Test func decoderReadsResp3Null() throws {
        #expect(try decodeReplies(bytes("*2\r\n_\r\n:1\r\n")) == [.array([.null, .integer(1)])])
    }

    /// What a Redis server sends after `HELLO 3`, read as its RESP2 form, whole and one byte
    /// at a time.
    @Test func decoderReadsResp3TypesAsTheirResp2Forms() throws {
        let stream = bytes(
            "%2\r\n+server\r\n$5\r\nredis\r\n+proto\r\n:3\r\n"  // HELLO 3's map
                + ",3.25\r\n,-inf\r\n(12345678901234567890\r\n#t\r\n#f\r\n"
                + "=15\r\ntxt:Some string\r\n!21\r\nSYNTAX invalid syntax\r\n"
                + "~2\r\n:1\r\n:2\r\n>2\r\n+message\r\n$2\r\nhi\r\n%0\r\n"
                + "|1\r\n+ttl\r\n:3600\r\n*2\r\n|1\r\n+a\r\n:1\r\n:7\r\n:8\r\n|0\r\n+OK\r\n")
        let expected: [Reply] = [
            .array([.status("server"), .text("redis"), .status("proto"), .integer(3)]),
            .text("3.25"), .text("-inf"), .text("12345678901234567890"), .integer(1), .integer(0),
            .text("Some string"), .error(code: "SYNTAX", message: "invalid syntax"),
            .array([.integer(1), .integer(2)]), .array([.status("message"), .text("hi")]),
            .array([]), .array([.integer(7), .integer(8)]), .ok,
        ]
        #expect(try decodeReplies(stream) == expected)
        #expect(try decodeReplies(stream, chunks: [1]) == expected)
        expectError(.proto) { () throws(WireError) in
            _ = try decodeReplies(bytes("#x\r\n"))
        }
    }
}
