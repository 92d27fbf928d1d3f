import Testing

@testable import EngramWire

@Suite struct FloatTextTests {
    @Test(arguments: [
        (Float(1), "1"), (0, "0"), (-0.0, "-0"), (16, "16"), (0.5, "0.5"), (-2.25, "-2.25"),
        (0.1, "0.1"), (1e-5, "1e-05"), (1e8, "1e+08"),
        (Float.greatestFiniteMagnitude, "3.4028235e+38"),
        (Float.leastNonzeroMagnitude, "1e-45"),
    ])
    func formatsShortestAndWithoutTrailingPointZero(value: Float, expected: String) {
        #expect(FloatText.format(value) == expected)
    }

    @Test func everyFormattedFloatReadsBackBitForBit() {
        var generator = SplitMix64(seed: 11)
        var samples: [Float] = [
            0, -0.0, 1, -1, .leastNonzeroMagnitude, .leastNormalMagnitude,
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 16_777_215, 0.1, 1e-7,
        ]
        for _ in 0..<20_000 {
            let bits = UInt32.random(in: 0...UInt32.max, using: &generator)
            let value = Float(bitPattern: bits)
            if value.isFinite { samples.append(value) }
        }
        for value in samples {
            let parsed = FloatText.parseFloat(Array(FloatText.format(value).utf8))
            #expect(parsed?.bitPattern == value.bitPattern, "\(value)")
            var appended: [UInt8] = [UInt8(ascii: ",")]
            FloatText.append(value, to: &appended)
            #expect(appended == [UInt8(ascii: ",")] + Array(FloatText.format(value).utf8))
        }
    }

    @Test func doublesReadBackExactly() {
        for value in [0.1, 1.0 / 3.0, 1e-300, 123456789.125, -2.5e100, 1] {
            #expect(FloatText.parseDouble(Array(FloatText.format(value).utf8)) == value)
        }
        #expect(FloatText.format(1.0) == "1")
    }

    @Test(arguments: ["1", "-1", "+1", "1.5", ".5", "5.", "1e3", "1E-3", "-1.5e+7", "007"])
    func acceptsDecimals(token: String) {
        #expect(FloatText.parseFloat(bytes(token)) != nil)
    }

    @Test(arguments: [
        "", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "0x1p3", "0X10", "1e50", "-1e39",
        " 1", "1 ", "1,5", "1_000", "1e", "e5", ".", "-", "+", "1.2.3", "--1", "1e+", "١",
    ])
    func rejectsEverythingElse(token: String) {
        #expect(FloatText.parseFloat(bytes(token)) == nil)
    }

    /// The fast path against `strtof` on decimals of every shape it takes: each token where
    /// it answers must give strtof's bits; where it declines, parseFloat still must.
    @Test func fastPathAgreesWithStrtofBitForBit() {
        var generator = SplitMix64(seed: 29)
        var fast = 0
        var tokens = [
            "0", "-0", "0.0", "000.000", "1", "0.1", "16777217", "16777219", "0.30000001",
            "3.4028235e38", "3.4028236e38", "1.17549435e-38", "1.1754942e-38", "9007199254740993",
            "123456789012345", "1234567890123456", "-7.000000476837158203125",
            // Float32 midpoints reached by a multiplication or a division by a power of ten.
            "1677721.7e1", "1.6777217e7", "33554434", "3355443.4e1", "0.33554434e8",
        ]
        for _ in 0..<60_000 {
            let length = Int.random(in: 1...17, using: &generator)
            var digits = (0..<length).map { _ in
                String(Int.random(in: 0...9, using: &generator))
            }.joined()
            if Bool.random(using: &generator) {
                let point = Int.random(in: 0...length, using: &generator)
                digits.insert(".", at: digits.index(digits.startIndex, offsetBy: point))
                if digits == "." { digits = "0." }
            }
            if Int.random(in: 0..<3, using: &generator) == 0 {
                digits += "e\(Int.random(in: -30...30, using: &generator))"
            }
            tokens.append(Bool.random(using: &generator) ? "-" + digits : digits)
        }
        for _ in 0..<20_000 {
            let value = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator))
            if value.isFinite { tokens.append(FloatText.format(value)) }
        }
        for token in tokens {
            let reference = Float(token).flatMap { $0.isFinite ? $0 : nil }
            #expect(
                FloatText.parseFloat(bytes(token))?.bitPattern == reference?.bitPattern, "\(token)")
            if let quick = FloatText.fastFloat(bytes(token)) {
                fast += 1
                #expect(quick.bitPattern == reference?.bitPattern, "fast path: \(token)")
            }
        }
        #expect(fast > tokens.count / 2, "the fast path took \(fast) of \(tokens.count)")
    }

    @Test func underflowRoundsToZero() {
        #expect(FloatText.parseFloat(bytes("1e-60")) == 0)
    }
}

@Suite struct VectorTextTests {
    @Test func decodesAndEncodes() throws {
        let values = try VectorText.decode(bytes("0.5,1,-2.25,1e-3"))
        #expect(values == [0.5, 1, -2.25, 0.001])
        #expect(text(VectorText.encode(values)) == "0.5,1,-2.25,0.001")
    }

    @Test func singleComponent() throws {
        #expect(try VectorText.decode(bytes("3")) == [3])
    }

    @Test func queryMarksUnknownComponents() throws {
        let (values, known) = try VectorText.decodeQuery(bytes("?,1.5,?"))
        #expect(values == [0, 1.5, 0])
        #expect(known == [false, true, false])
        #expect(text(VectorText.encode(values, known: known)) == "?,1.5,?")
        let (_, allKnown) = try VectorText.decodeQuery(bytes("1,2"))
        #expect(allKnown == nil)
    }

    @Test func unknownIsRejectedOutsideQueries() {
        expectError(.badFloat) { () throws(WireError) in _ = try VectorText.decode(bytes("1,?")) }
    }

    @Test(arguments: [
        ("", "empty vector"),
        ("1,,2", "component 2 is empty"),
        ("1,2,", "component 3 is empty"),
        (",1", "component 1 is empty"),
        ("1,nan", "component 2 'nan' is not finite"),
        ("1,2,-inf", "component 3 '-inf' is not finite"),
        ("0x1p3", "component 1 '0x1p3' is a hex float"),
        ("1,1e39", "component 2 '1e39' overflows to infinity"),
        ("1, 2", "component 2 ' 2' is not a decimal number"),
        ("1,??", "component 2 '??' is not a decimal number"),
        ("1;2", "component 1 '1;2' is not a decimal number"),
    ])
    func errorsNameTheComponentAndQuoteTheToken(input: String, message: String) {
        do {
            _ = try VectorText.decodeQuery(bytes(input))
            Issue.record("accepted \(input)")
        } catch {
            #expect(error.code == .badFloat)
            #expect(error.message.hasPrefix(message), "\(error.message)")
        }
    }

    @Test func longBadTokensAreCutShort() {
        let token = String(repeating: "z", count: 500)
        do {
            _ = try VectorText.decode(bytes("1," + token))
        } catch {
            #expect(error.message.contains("'" + String(repeating: "z", count: 32) + "…'"))
            #expect(error.message.count < 120)
        }
    }
}

@Suite struct VectorBinaryTests {
    @Test func littleEndianFloat32() throws {
        let encoded = VectorBinary.encode([1, -2])
        #expect(encoded == [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
        #expect(try VectorBinary.decode(encoded) == [1, -2])
    }

    @Test(arguments: [0, 1, 3, 5, 7])
    func lengthMustBeAPositiveMultipleOfFour(count: Int) {
        expectError(.badFloat) { () throws(WireError) in
            _ = try VectorBinary.decode([UInt8](repeating: 0, count: count))
        }
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity, .signalingNaN])
    func nonFiniteComponentsAreRejected(value: Float) {
        do {
            _ = try VectorBinary.decode(VectorBinary.encode([1, 2, value]))
            Issue.record("accepted \(value)")
        } catch {
            #expect(error.code == .badFloat)
            #expect(error.message.hasPrefix("component 3 "))
        }
    }

    @Test func batchesSplitIntoRows() throws {
        let rows: [[Float]] = [[1, 2, 3], [4, 5, 6]]
        #expect(try VectorBinary.decode(VectorBinary.encode(rows: rows), rows: 2) == rows)
        expectError(.badFloat) { () throws(WireError) in
            _ = try VectorBinary.decode(VectorBinary.encode(rows: rows), rows: 4)
        }
        do {
            _ = try VectorBinary.decode(VectorBinary.encode(rows: [[1, 2], [3, .nan]]), rows: 2)
        } catch {
            #expect(error.message.hasPrefix("component 2 of vector 2"))
        }
    }

    /// One vector is spoken of as one vector; a batch names its count.
    @Test func lengthErrorsSayVectorOrBatch() {
        let floats = "(little-endian float32 components)"
        let message = "binary vector of 3 bytes is not a whole number of 4-byte floats \(floats)"
        do {
            _ = try VectorBinary.decode(bytes("abc"))
            Issue.record("accepted 3 bytes")
        } catch {
            #expect(error.message == message)
        }
        do {
            _ = try VectorBinary.decode(bytes("abc"), rows: 1)
            Issue.record("accepted 3 bytes as 1 row")
        } catch {
            #expect(error.message == message)
        }
        do {
            _ = try VectorBinary.decode([UInt8](repeating: 0, count: 12), rows: 2)
            Issue.record("accepted 12 bytes as 2 rows")
        } catch {
            #expect(error.message.hasPrefix("binary batch of 12 bytes for 2 vectors is not 2 "))
        }
        do {
            _ = try VectorBinary.decode(VectorBinary.encode([1, .infinity]), rows: 1)
            Issue.record("accepted inf")
        } catch {
            #expect(error.message.hasPrefix("component 2 of the binary vector is inf"))
        }
    }

    /// Unknown components of a masked query may hold anything (numpy fills them with NaN);
    /// they come back as 0, and a known component must still be finite.
    @Test func maskedComponentsMayHoldAnyValue() throws {
        let known = [true, false, false]
        let rows: [[Float]] = [[1, .nan, .infinity], [2, -.infinity, .signalingNaN]]
        let decoded = try VectorBinary.decode(
            VectorBinary.encode(rows: rows), rows: 2, known: known)
        #expect(decoded == [[1, 0, 0], [2, 0, 0]])
        do {
            let bad: [[Float]] = [[1, .nan, 0], [.nan, 0, 0]]
            _ = try VectorBinary.decode(VectorBinary.encode(rows: bad), rows: 2, known: known)
            Issue.record("accepted NaN at a known component")
        } catch {
            #expect(error.code == .badFloat)
            #expect(error.message.hasPrefix("component 1 of vector 2 is nan"))
        }
        expectError(.dim) { () throws(WireError) in
            _ = try VectorBinary.decode(VectorBinary.encode([1, 2]), rows: 1, known: known)
        }
    }
}
