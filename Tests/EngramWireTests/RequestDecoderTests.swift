import Testing

@testable import EngramWire

/// A small deterministic generator, so random chunkings are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Feeds `bytes` in chunks of the given sizes (cycled) and collects every request.
func decodeAll(
    _ bytes: [UInt8], chunks: [Int]? = nil, limits: WireLimits = .default
) throws(WireError) -> [Arguments] {
    var decoder = RequestDecoder(limits: limits)
    var out: [Arguments] = []
    var offset = 0
    let sizes = chunks ?? [max(bytes.count, 1)]
    var index = 0
    while offset < bytes.count {
        let size = max(1, min(sizes[index % sizes.count], bytes.count - offset))
        decoder.feed(bytes[offset..<(offset + size)])
        offset += size
        index += 1
        while let request = try decoder.next() { out.append(request) }
    }
    return out
}

func args(_ words: String...) -> Arguments { words.map { Array($0.utf8) } }

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A RESP array of the given arguments, as redis-cli sends it.
func resp(_ arguments: Arguments) -> [UInt8] { RequestEncoder.encode(arguments) }

func expectError(
    _ code: WireError.Code, closes: Bool? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(WireError) -> Void
) {
    do {
        try body()
        Issue.record("expected a \(code) error", sourceLocation: sourceLocation)
    } catch {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let closes {
            #expect(error.closesConnection == closes, sourceLocation: sourceLocation)
        }
    }
}

@Suite struct RequestDecoderTests {
    // MARK: - Inline

    @Test func mixedLineEndingsInOnePipeline() throws {
        let input = bytes("PING\r\nBANK.LIST\n  GET  b\t7 \r\nPING\n")
        let requests = try decodeAll(input)
        #expect(
            requests == [args("PING"), args("BANK.LIST"), args("GET", "b", "7"), args("PING")])
    }

    @Test func threeRequestsInOneFeedComeOutInOrder() throws {
        var decoder = RequestDecoder()
        decoder.feed(bytes("PING a\nPING b\r\n") + resp(args("PING", "c")))
        #expect(try decoder.next() == args("PING", "a"))
        #expect(try decoder.next() == args("PING", "b"))
        #expect(try decoder.next() == args("PING", "c"))
        #expect(try decoder.next() == nil)
        #expect(decoder.isAtBoundary)
    }

    @Test func emptyAndBlankLinesAreSkipped() throws {
        let requests = try decodeAll(bytes("\n\r\n   \t \r\nPING\n\n"))
        #expect(requests == [args("PING")])
    }

    @Test func partialLineWaitsForItsEnd() throws {
        var decoder = RequestDecoder()
        decoder.feed(bytes("PI"))
        #expect(try decoder.next() == nil)
        decoder.feed(bytes("NG\r"))
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 5)
        decoder.feed(bytes("\n"))
        #expect(try decoder.next() == args("PING"))
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func bareCarriageReturnInsideAnInlineLineIsAFramingError() {
        expectError(.proto, closes: true) { () throws(WireError) in
            _ = try decodeAll(bytes("STORE b 1,2\rGET b 1\n"))
        }
    }

    @Test(arguments: [0x00, 0x01, 0x1B, 0x7F] as [UInt8])
    func controlBytesInInlineLinesAreRejected(byte: UInt8) {
        expectError(.proto, closes: true) { () throws(WireError) in
            _ = try decodeAll(bytes("PING a") + [byte] + bytes("b\n"))
        }
    }

    @Test func utf8InInlineTokensIsKept() throws {
        let requests = try decodeAll(bytes("STORE b 1 LABEL café\n"))
        #expect(requests == [args("STORE", "b", "1", "LABEL", "café")])
    }

    @Test func finishTakesALastLineWithoutNewline() throws {
        var decoder = RequestDecoder()
        decoder.feed(bytes("PING\nPING x"))
        #expect(try decoder.next() == args("PING"))
        #expect(try decoder.next() == nil)
        #expect(try decoder.finish() == args("PING", "x"))
        #expect(try decoder.finish() == nil)
    }

    @Test func finishInsideARespArrayIsAFramingError() {
        var decoder = RequestDecoder()
        decoder.feed(bytes("*2\r\n$4\r\nPING\r\n"))
        expectError(.proto) { () throws(WireError) in
            #expect(try decoder.next() == nil)
            _ = try decoder.finish()
        }
    }

    // MARK: - RESP

    @Test func crAndLfInsideABulkArgumentAreData() throws {
        let label: [UInt8] = bytes("two\r\nlines\rand\n")
        let input = resp([bytes("STORE"), bytes("b"), bytes("1,2"), bytes("LABEL"), label])
        let requests = try decodeAll(input)
        #expect(requests == [[bytes("STORE"), bytes("b"), bytes("1,2"), bytes("LABEL"), label]])
    }

    @Test func binaryBulkWithEveryByteValue() throws {
        let blob = (0...255).map { UInt8($0) } + [0x0D, 0x0A, 0x0D]
        let requests = try decodeAll(resp([bytes("STORE"), bytes("b"), bytes("BIN"), blob]))
        #expect(requests.first?[3] == blob)
    }

    @Test func emptyBulkAndEmptyArray() throws {
        let input = bytes("*0\r\n*2\r\n$4\r\nPING\r\n$0\r\n\r\n")
        #expect(try decodeAll(input) == [[bytes("PING"), []]])
    }

    @Test(arguments: [
        "*x\r\n",  // non-numeric count
        "*-1\r\n",  // negative count
        "*\r\n",  // empty count
        "*1\n$4\r\nPING\r\n",  // LF alone after a header
        "*1\r\n$-1\r\n",  // nil bulk in a request
        "*1\r\n$4x\r\nPING\r\n",  // junk after the length
        "*1\r\n:4\r\nPING\r\n",  // not a bulk
        "*1\r\n$4\r\nPINGX\r\n",  // bulk longer than announced
        "*1\r\n$4\r\nPING\nX",  // missing CR after the bulk
        "*2\r\n$4\r\nPING\r\nPING\r\n",  // inline inside an array
        "*1\r\n$+4\r\nPING\r\n",  // a sign
        "*99999999999999999999\r\n",  // too long a header
    ])
    func malformedRespHeadersAreFramingErrors(input: String) {
        expectError(.proto, closes: true) { () throws(WireError) in
            _ = try decodeAll(bytes(input))
        }
    }

    @Test func aHeaderWithoutEndIsRejectedEarly() {
        var decoder = RequestDecoder()
        decoder.feed(bytes("*1") + [UInt8](repeating: UInt8(ascii: "1"), count: 100))
        expectError(.proto) { () throws(WireError) in _ = try decoder.next() }
    }

    @Test func errorsAreTerminalAndInputIsDropped() {
        var decoder = RequestDecoder()
        decoder.feed(bytes("*z\r\n"))
        expectError(.proto) { () throws(WireError) in _ = try decoder.next() }
        decoder.feed(bytes("PING\n"))
        #expect(decoder.bufferedByteCount == 0)
        expectError(.proto) { () throws(WireError) in _ = try decoder.next() }
        #expect(decoder.error?.code == .proto)
    }

    // MARK: - Limits

    @Test func garbageLineIsRejectedEarlyWithABoundedBuffer() {
        let limits = WireLimits()  // 1 MiB lines
        var decoder = RequestDecoder(limits: limits)
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
        var fed = 0
        var largestBuffer = 0
        var failure: WireError?
        while fed < 50 << 20 {
            decoder.feed(chunk)
            fed += chunk.count
            largestBuffer = max(largestBuffer, decoder.bufferedByteCount)
            do {
                _ = try decoder.next()
            } catch {
                failure = error
                break
            }
        }
        #expect(failure?.code == .tooBig)
        #expect(failure?.closesConnection == true)
        #expect(fed <= limits.maxInlineLength + 2 * chunk.count)
        #expect(largestBuffer <= limits.maxInlineLength + chunk.count)
    }

    @Test func lineAtTheLimitPassesAndOneMoreByteFails() throws {
        let limits = WireLimits(maxInlineLength: 16)
        let line = bytes("PING ") + [UInt8](repeating: UInt8(ascii: "a"), count: 11)
        #expect(try decodeAll(line + bytes("\r\n"), limits: limits).count == 1)
        expectError(.tooBig) { () throws(WireError) in
            _ = try decodeAll(line + bytes("a\n"), limits: limits)
        }
    }

    @Test func bulkOverTheLimitIsRejectedFromItsHeader() {
        let limits = WireLimits(maxBulkLength: 1000)
        var decoder = RequestDecoder(limits: limits)
        decoder.feed(bytes("*2\r\n$5\r\nSTORE\r\n$1001\r\n"))
        expectError(.tooBig, closes: true) { () throws(WireError) in _ = try decoder.next() }
    }

    @Test func tooManyArgumentsInRespAndInline() throws {
        let limits = WireLimits(maxArguments: 3)
        expectError(.tooBig) { () throws(WireError) in
            _ = try decodeAll(bytes("*4\r\n"), limits: limits)
        }
        expectError(.tooBig) { () throws(WireError) in
            _ = try decodeAll(bytes("a b c d\n"), limits: limits)
        }
        #expect(try decodeAll(bytes("a b c\n"), limits: limits).count == 1)
    }

    @Test func requestBytesAreCappedAcrossArguments() {
        let limits = WireLimits(maxBulkLength: 10, maxRequestBytes: 15)
        let request = resp([bytes("0123456789"), bytes("0123456789")])
        expectError(.tooBig) { () throws(WireError) in
            _ = try decodeAll(request, limits: limits)
        }
    }

    /// The message states the size truly: exact once the last argument's header is read,
    /// a lower bound when more arguments are still to come.
    @Test func requestBytesErrorSaysTheSizeItKnows() {
        let limits = WireLimits(maxBulkLength: 10, maxRequestBytes: 15)
        let ten = bytes("0123456789")
        var last = RequestDecoder(limits: limits)
        last.feed(resp([ten, ten]))
        #expect(throws: WireError.self) { try last.next() }
        #expect(last.error?.message == "request with 20 bytes of arguments; the limit is 15")
        var middle = RequestDecoder(limits: limits)
        middle.feed(resp([ten, ten, ten]))
        #expect(throws: WireError.self) { try middle.next() }
        #expect(
            middle.error?.message == "request with at least 20 bytes of arguments; the limit is 15")
    }

    @Test func inlineRequestBytesAreCappedAsInResp() throws {
        let limits = WireLimits(maxRequestBytes: 8)
        #expect(try decodeAll(bytes("PING 1234\n"), limits: limits) == [args("PING", "1234")])
        var decoder = RequestDecoder(limits: limits)
        decoder.feed(bytes("PING 0123456789abcdef\nPING\n"))
        expectError(.tooBig, closes: true) { () throws(WireError) in _ = try decoder.next() }
        #expect(decoder.error?.message == "request with 20 bytes of arguments; the limit is 8")
        #expect(decoder.bufferedByteCount == 0)
        expectError(.tooBig) { () throws(WireError) in _ = try decoder.next() }
        // Quoted tokens count their decoded bytes, as the RESP form would carry them.
        #expect(try decodeAll(bytes("\"\\x41\\x42\" 123456\n"), limits: limits).count == 1)
    }

    /// The limit is on the line without its terminator: byte 101 of a 100-byte limit is
    /// refused at once unless it is a CR, which may start the CRLF.
    @Test func inlineLimitIsExactAtEveryChunking() throws {
        let limits = WireLimits(maxInlineLength: 100)
        let line = bytes("PING ") + [UInt8](repeating: UInt8(ascii: "a"), count: 95)
        for chunk in [1, 7, 200] {
            #expect(try decodeAll(line + bytes("\r\n"), chunks: [chunk], limits: limits).count == 1)
            #expect(try decodeAll(line + bytes("\n"), chunks: [chunk], limits: limits).count == 1)
        }

        var over = RequestDecoder(limits: limits)
        over.feed(line + bytes("a"))
        expectError(.tooBig, closes: true) { () throws(WireError) in _ = try over.next() }

        var carriageReturn = RequestDecoder(limits: limits)
        carriageReturn.feed(line + bytes("\r"))
        #expect(try carriageReturn.next() == nil)
        carriageReturn.feed(bytes("\n"))
        #expect(try carriageReturn.next()?.count == 2)

        var notCRLF = RequestDecoder(limits: limits)
        notCRLF.feed(line + bytes("\r"))
        #expect(try notCRLF.next() == nil)
        notCRLF.feed(bytes("x"))
        expectError(.tooBig) { () throws(WireError) in _ = try notCRLF.next() }
    }

    // MARK: - Chunking (differential)

    static let pipeline: [UInt8] =
        bytes("PING\r\nSTORE b 1,2,3 LABEL x\n\n")
        + resp([bytes("STORE"), bytes("b"), bytes("BIN"), [0x0D, 0x0A, 0, 0x2A, 0x0A, 0x0D, 9, 9]])
        + bytes("  COMPLETE b ?,1,? TOP 2\r\n")
        + resp([bytes("PING"), []])
        + bytes("*0\r\nQUIT\n")

    @Test func splitAtEveryBytePositionGivesTheSameRequests() throws {
        let whole = try decodeAll(Self.pipeline)
        #expect(whole.count == 6)
        for split in 1..<Self.pipeline.count {
            let parts = try decodeAll(Self.pipeline, chunks: [split, Self.pipeline.count])
            #expect(parts == whole, "split at \(split)")
        }
    }

    @Test func randomChunkingsGiveTheSameRequests() throws {
        var input: [UInt8] = []
        for _ in 0..<20 { input += Self.pipeline }
        let whole = try decodeAll(input)
        var generator = SplitMix64(seed: 42)
        for _ in 0..<200 {
            let sizes = (0..<16).map { _ in Int.random(in: 1...40, using: &generator) }
            #expect(try decodeAll(input, chunks: sizes) == whole)
        }
        #expect(try decodeAll(input, chunks: [1]) == whole)
    }

    @Test func largeBulkArrivingInSmallReadsIsAssembled() throws {
        var generator = SplitMix64(seed: 7)
        let blob = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let requests = try decodeAll(
            resp([bytes("STORE"), bytes("b"), bytes("BIN"), blob]), chunks: [4096, 1500, 65536])
        #expect(requests.count == 1)
        #expect(requests[0][3] == blob)
    }

    @Test func manyPipelinedPingsDecodeInLinearTime() throws {
        let count = 200_000
        let input =
            [UInt8](repeating: 0, count: 0)
            + Array(repeating: bytes("PING\r\n"), count: count)
            .joined()
        let clock = ContinuousClock()
        var decoded = 0
        let elapsed = try clock.measure {
            var decoder = RequestDecoder()
            var offset = 0
            while offset < input.count {
                let end = min(offset + 16384, input.count)
                decoder.feed(input[offset..<end])
                offset = end
                while try decoder.next() != nil { decoded += 1 }
            }
        }
        #expect(decoded == count)
        // Generous even for a debug build; a quadratic rescan would take minutes.
        #expect(elapsed < .seconds(20))
    }
}

@Suite struct InlineQuotingTests {
    @Test func quotedTokensKeepSpacesAndEscapes() throws {
        let line = bytes(#"STORE b 1,2 LABEL "two words\n\x41\"" 'it\'s' "" x"y"#) + [0x0A]
        let requests = try decodeAll(line)
        #expect(
            requests == [
                [
                    bytes("STORE"), bytes("b"), bytes("1,2"), bytes("LABEL"),
                    bytes("two words\nA\""), bytes("it's"), [], bytes("x\"y"),
                ]
            ])
    }

    @Test(arguments: [#"PING "open"#, #"PING 'open"#, #"PING "a"b"#, "PING \"a\rb\""])
    func unbalancedOrRunOnQuotesAreFramingErrors(line: String) {
        expectError(.proto, closes: true) { () throws(WireError) in
            _ = try decodeAll(bytes(line + "\n"))
        }
    }
}

@Suite struct DecoderCostTests {
    @Test func aLongLineFedInSmallReadsIsSearchedOnce() throws {
        let line =
            bytes("STORE b ") + Array(repeating: bytes("0.125,"), count: 80_000).joined()
            + bytes("1\r\n")
        var decoder = RequestDecoder()
        var requests = 0
        var offset = 0
        while offset < line.count {
            let end = min(offset + 100, line.count)
            decoder.feed(line[offset..<end])
            offset = end
            while try decoder.next() != nil { requests += 1 }
        }
        #expect(requests == 1)
        #expect(decoder.bytesScanned == line.count)
    }

    @Test func aLargeRespArrayInTinyReadsIsNotRescanned() throws {
        let arguments: Arguments =
            [bytes("MSTORE"), bytes("b"), bytes("5000")]
            + Array(repeating: bytes("1,2,3"), count: 5000)
        let encoded = resp(arguments)
        let clock = ContinuousClock()
        var decoded: [Arguments] = []
        let elapsed = try clock.measure { decoded = try decodeAll(encoded, chunks: [3]) }
        #expect(decoded == [arguments])
        #expect(elapsed < .seconds(10))
    }
}
