import Testing

@testable import EngramWire

/// Random and mutated input must give requests, replies or typed errors: never a trap.
@Suite struct FuzzTests {
    static let alphabet = Array("*$:+-_?,.01234567 \t\r\nPINGSTOREBIN\"'\\x".utf8)

    static func randomBytes(_ count: Int, _ generator: inout SplitMix64) -> [UInt8] {
        (0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
    }

    @Test func requestDecoderSurvivesRandomInput() {
        var generator = SplitMix64(seed: 99)
        let limits = WireLimits(maxInlineLength: 64, maxBulkLength: 64, maxArguments: 16)
        var outcomes = (requests: 0, errors: 0)
        for _ in 0..<3000 {
            let input = Self.randomBytes(Int.random(in: 1...80, using: &generator), &generator)
            do {
                outcomes.requests += try decodeAll(input, chunks: [3, 1, 7], limits: limits).count
            } catch {
                outcomes.errors += 1
                #expect([WireError.Code.proto, .tooBig].contains(error.code))
            }
        }
        #expect(outcomes.requests > 0 && outcomes.errors > 0)
    }

    @Test func replyDecoderSurvivesRandomInput() {
        var generator = SplitMix64(seed: 5)
        for _ in 0..<3000 {
            let input = Self.randomBytes(Int.random(in: 1...60, using: &generator), &generator)
            do {
                _ = try decodeReplies(input, chunks: [2, 5])
            } catch {
                #expect([WireError.Code.proto, .tooBig].contains(error.code))
            }
        }
    }

    @Test func commandParseSurvivesMutatedRequests() {
        var generator = SplitMix64(seed: 17)
        let words = [
            "PING", "STORE", "MSTORE", "COMPLETE", "MCOMPLETE", "GET", "BANK.CREATE", "JOB.SET",
            "b", "1", "2", "0", "-1", "1,2", "?,1", "BIN", "MASK", "10", "LABELS", "JOB", "POS",
            "ROWS", "DIM", "ALPHA", "MODE", "entmax", "FORMAT", "bin", "", "nan", "CONFIRM",
        ].map { Array($0.utf8) }
        var parsed = 0
        for _ in 0..<20_000 {
            let count = Int.random(in: 1...7, using: &generator)
            let arguments = (0..<count).map { _ in
                words[Int.random(in: 0..<words.count, using: &generator)]
            }
            do {
                let command = try Command.parse(arguments)
                parsed += 1
                #expect(try Command.parse(command.arguments) == command)
            } catch {
                #expect(!error.closesConnection)
            }
        }
        #expect(parsed > 100)
    }
}
