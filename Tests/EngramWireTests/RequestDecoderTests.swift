import Testing

@testable import EngramWire

/// Feeds `bytes` in the given chunk sizes and collects every request.
func decodeAll(
    _ bytes: [UInt8], chunks: [Int]? = nil, limits: WireLimits = .default
)
    throws(WireError) -> [Arguments]
{
    var decoder = RequestDecoder(limits: limits)
    var out: [Arguments] = []
    var offset = 0
    let sizes = chunks ?? [bytes.count]
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

@Suite struct RequestDecoderTests {
    @Test func mixedLineEndingsInOnePipeline() throws {
        let input = Array("PING\r\nBANK.LIST\n  GET  b\t7 \r\n".utf8)
        let requests = try decodeAll(input)
        #expect(requests == [args("PING"), args("BANK.LIST"), args("GET", "b", "7")])
    }

    @Test func respArrayIsBinarySafe() throws {
        let input = Array("*3\r\n$5\r\nSTORE\r\n$1\r\nb\r\n$5\r\na\r\nb\n\r\n".utf8)
        let requests = try decodeAll(input)
        #expect(requests == [[Array("STORE".utf8), Array("b".utf8), Array("a\r\nb\n".utf8)]])
    }
}
