import Testing

@testable import EngramWire

/// Parses an inline-style request (tokens split on spaces).
func parse(_ line: String) throws(WireError) -> Command {
    try Command.parse(line.split(separator: " ").map { Array($0.utf8) })
}

func expectParseError(
    _ code: WireError.Code, _ line: String, containing fragment: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let command = try parse(line)
        Issue.record("parsed \(line) as \(command)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.code == code, "\(line): \(error)", sourceLocation: sourceLocation)
        #expect(!error.closesConnection, sourceLocation: sourceLocation)
        if let fragment {
            #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
        }
    }
}

@Suite struct CommandParseTests {
    @Test func keywordsMatchInAnyCaseAndNothingElse() {
        for word in ["BIN", "bin", "Bin", "bIN"] {
            #expect(Command.isKeyword(Array(word.utf8), "BIN"), "\(word)")
        }
        for word in ["BINX", "BI", "", "B1N", "0.5,BIN", "BIN "] {
            #expect(!Command.isKeyword(Array(word.utf8), "BIN"), "\(word)")
        }
        #expect(Command.isKeyword(Array("confirm".utf8), "CONFIRM"))
        // Only ASCII letters fold: the byte 0xC2 is not an upper-case "b".
        #expect(!Command.isKeyword([0xC2, 0x49, 0x4E], "BIN"))
    }

    @Test func verbsAndOptionsAreCaseInsensitive() throws {
        #expect(try parse("ping") == .ping(message: nil))
        #expect(try parse("Bank.List") == .bankList)
        let command = try parse("complete b 1,? beta 2 Top 3 mode ENTMAX")
        let expected = CompleteRequest(
            bank: "b", queries: [QueryVector(values: [1, 0], known: [true, false])],
            options: CompletionOptions(mode: .entmax(alpha: 1.5), beta: 2, top: 3))
        #expect(command == .complete(expected))
    }

    @Test func pingEchoesItsMessage() throws {
        #expect(try parse("PING hi") == .ping(message: bytes("hi")))
        expectParseError(.args, "PING a b", containing: "usage: PING [message]")
    }

    @Test func bankCreateFillsDefaults() throws {
        let command = try parse("BANK.CREATE digits DIM 64")
        #expect(command == .bankCreate(BankCreate(name: "digits", dimension: 64)))
        let full = try parse("BANK.CREATE d DIM 8 MODE entmax ALPHA 1.25 BETA 0.5 NORMALIZE l2")
        #expect(
            full
                == .bankCreate(
                    BankCreate(
                        name: "d", dimension: 8, mode: .entmax(alpha: 1.25), beta: 0.5,
                        normalize: .l2)))
        #expect(try parse("BANK.CREATE d ALPHA 2 DIM 8").bankCreateMode == .entmax(alpha: 2))
    }

    @Test(arguments: [
        ("BANK.CREATE d", WireError.Code.args, "needs DIM"),
        ("BANK.CREATE d DIM 0", .badValue, "DIM must be between 1 and"),
        ("BANK.CREATE d DIM -3", .badValue, "DIM must be"),
        ("BANK.CREATE d DIM 1.5", .badValue, "expects an integer"),
        ("BANK.CREATE d DIM 99999999999999999999", .badValue, "expects an integer"),
        ("BANK.CREATE d DIM 4 DIM 5", .args, "given twice"),
        ("BANK.CREATE d DIM 4 BETA 0", .badValue, "BETA must be > 0"),
        ("BANK.CREATE d DIM 4 BETA -1", .badValue, "BETA must be > 0"),
        ("BANK.CREATE d DIM 4 BETA nan", .badValue, "finite decimal"),
        ("BANK.CREATE d DIM 4 BETA inf", .badValue, "finite decimal"),
        ("BANK.CREATE d DIM 4 BETA 1e999", .badValue, "finite decimal"),
        ("BANK.CREATE d DIM 4 MODE entmax ALPHA 1", .badValue, "outside (1, 2]"),
        ("BANK.CREATE d DIM 4 MODE entmax ALPHA 2.5", .badValue, "outside (1, 2]"),
        ("BANK.CREATE d DIM 4 MODE sparsemax ALPHA 1.5", .badValue, "only to MODE entmax"),
        ("BANK.CREATE d DIM 4 MODE dense", .badValue, "unknown mode 'dense'"),
        ("BANK.CREATE d DIM 4 NORMALIZE l1", .badValue, "use none or l2"),
        ("BANK.CREATE d DIM 4 COLOR red", .args, "unknown option 'COLOR'"),
        ("BANK.CREATE d DIM", .args, "missing its DIM"),
        ("BANK.CREATE bad/name DIM 4", .badName, "'bad/name'"),
        ("BANK.CREATE " + String(repeating: "n", count: 65) + " DIM 4", .badName, "1 to 64"),
        ("BANK.DROP d", .args, "CONFIRM"),
        ("BANK.DROP d YES", .args, "CONFIRM"),
        ("BANK.INFO", .args, "missing its bank name"),
        ("BANK.INFO a b", .args, "unexpected argument 'b'"),
        ("BANK.LIST x", .args, "unexpected argument"),
        ("STORE b", .args, "missing its vector"),
        ("STORE b 1,2 LABEL", .args, "missing its LABEL"),
        ("STORE b 1,nan", .badFloat, "component 2 'nan'"),
        ("STORE b 1,?", .badFloat, "only in queries"),
        ("STORE b BIN", .args, "bytes after BIN"),
        ("STORE b 1,2 3,4", .args, "unknown option '3,4'"),
        ("MSTORE b 2 1,2", .args, "announced 2 vectors"),
        ("MSTORE b 0 1,2", .badValue, "vector count must be ≥ 1"),
        ("MSTORE b 1 1,2 POS 3", .args, "need JOB"),
        ("MSTORE b 1 1,2 JOB j1 ROWS 3", .args, "POS p and ROWS r"),
        ("MSTORE b 1 1,2 JOB bad|id POS 1 ROWS 1", .badName, "job id"),
        ("MSTORE b 2 1,2 3,4 LABELS a", .args, "missing its label"),
        ("MSTORE b 1 1,2 IFROWS 3", .args, "IFROWS need JOB"),
        ("MSTORE b 1 1,2 JOB j POS 1 ROWS 1 IFROWS -1", .badValue, "IFROWS must be ≥ 0"),
        ("MSTORE b 1 1,2 JOB j POS 1 ROWS 1 IFROWS 0 IFROWS 0", .args, "IFROWS"),
        ("GET b", .args, "missing its sequence number"),
        ("GET b -1", .badValue, "must be ≥ 0"),
        ("GET b x", .badValue, "expects an integer"),
        ("GET b 1 FORMAT hex", .badValue, "use text or bin"),
        ("COMPLETE b ?,?", .masked, "no known component"),
        ("MCOMPLETE b 2 1,2 ?,?", .masked, "query 2"),
        ("COMPLETE b 1,2 STEPS 0", .badValue, "STEPS must be between 1 and"),
        ("COMPLETE b 1,2 STEPS 10001", .badValue, "STEPS must be between"),
        ("COMPLETE b 1,2 TOL -0.1", .badValue, "TOL must be ≥ 0"),
        ("COMPLETE b 1,2 TOP 0", .badValue, "TOP must be ≥ 1"),
        ("COMPLETE b 1,2 ASOF -1", .badValue, "ASOF must be ≥ 0"),
        ("COMPLETE b 1,2 BETA 0", .badValue, "BETA must be > 0"),
        ("COMPLETE b 1,2 ALPHA 0.5", .badValue, "outside (1, 2]"),
        ("COMPLETE b 1,2 MASK 10", .args, "MASK applies to BIN"),
        ("COMPLETE b 1,0x2", .badFloat, "hex float"),
        ("COMPLETE b 1,2 TOP", .args, "missing its TOP"),
        ("MCOMPLETE b 3 1,2", .args, "announced 3 vectors"),
        ("JOB.GET", .args, "missing its job id"),
        ("JOB.SET j paused", .badValue, "unknown job state 'paused'"),
        ("JOB.SET j", .args, "missing its state"),
        ("BACKUP", .args, "missing its path"),
        ("QUIT now", .args, "unexpected argument"),
    ])
    func rejectsBadArguments(line: String, code: WireError.Code, fragment: String) {
        expectParseError(code, line, containing: fragment)
    }

    @Test func mstoreIfRowsIsTheCompareAndSetOfItsJob() throws {
        let plain = try parse("MSTORE b 1 1,2 JOB j POS 5 ROWS 4")
        let guarded = try parse("mstore b 1 1,2 job j pos 5 rows 4 ifrows 3")
        guard case .mstore(let without) = plain, case .mstore(let with) = guarded else {
            Issue.record("not MSTORE: \(plain), \(guarded)")
            return
        }
        #expect(without.progress?.ifRows == nil)
        #expect(with.progress?.ifRows == 3)
        #expect(with.progress?.rows == 4 && with.progress?.position == 5)
        let words = Command.mstore(with).arguments.map { String(decoding: $0, as: UTF8.self) }
        #expect(words.suffix(2) == ["IFROWS", "3"])
        #expect(!Command.mstore(without).arguments.contains(Array("IFROWS".utf8)))
    }

    @Test func unknownCommandIsUnknown() {
        expectParseError(.unknown, "FLUSHALL", containing: "unknown command 'FLUSHALL'")
        expectParseError(.unknown, "BANK", containing: "commands: PING")
        do {
            _ = try Command.parse([])
            Issue.record("parsed an empty request")
        } catch {
            #expect(error.code == .args)
        }
    }

    @Test func binaryVectorsAndMasks() throws {
        let values: [Float] = [1, 2, 3, 4]
        let store = try Command.parse([
            bytes("STORE"), bytes("b"), bytes("bin"), VectorBinary.encode(values),
        ])
        #expect(store == .store(StoreRequest(bank: "b", vector: values, encoding: .bin)))

        let complete = try Command.parse([
            bytes("COMPLETE"), bytes("b"), bytes("BIN"), VectorBinary.encode(values),
            bytes("MASK"), bytes("1010"),
        ])
        guard case .complete(let request) = complete else {
            Issue.record("not a COMPLETE: \(complete)")
            return
        }
        #expect(
            request.queries == [
                QueryVector(values: [1, 0, 3, 0], known: [true, false, true, false])
            ])

        expectError(.dim) { () throws(WireError) in
            _ = try Command.parse([
                bytes("COMPLETE"), bytes("b"), bytes("BIN"), VectorBinary.encode(values),
                bytes("MASK"), bytes("101"),
            ])
        }
        expectError(.badValue) { () throws(WireError) in
            _ = try Command.parse([
                bytes("COMPLETE"), bytes("b"), bytes("BIN"), VectorBinary.encode(values),
                bytes("MASK"), bytes("1?10"),
            ])
        }
        expectError(.badFloat) { () throws(WireError) in
            _ = try Command.parse([bytes("STORE"), bytes("b"), bytes("BIN"), [1, 2, 3]])
        }
    }

    @Test func nonFiniteValuesAtMaskedComponentsAreIgnored() throws {
        let single = try Command.parse([
            bytes("COMPLETE"), bytes("b"), bytes("BIN"),
            VectorBinary.encode([1, .nan, 3, .infinity]),
            bytes("MASK"), bytes("1010"),
        ])
        let known = [true, false, true, false]
        #expect(
            single
                == .complete(
                    CompleteRequest(
                        bank: "b", queries: [QueryVector(values: [1, 0, 3, 0], known: known)],
                        encoding: .bin)))

        let batch = try Command.parse([
            bytes("MCOMPLETE"), bytes("b"), bytes("2"), bytes("BIN"),
            VectorBinary.encode(rows: [[1, .nan, 3, .nan], [4, -.infinity, 5, .nan]]),
            bytes("MASK"), bytes("1010"),
        ])
        guard case .mcomplete(let request) = batch else {
            Issue.record("not an MCOMPLETE: \(batch)")
            return
        }
        #expect(request.queries.map(\.values) == [[1, 0, 3, 0], [4, 0, 5, 0]])

        expectError(.badFloat) { () throws(WireError) in
            _ = try Command.parse([
                bytes("COMPLETE"), bytes("b"), bytes("BIN"), VectorBinary.encode([1, 2, .nan, 4]),
                bytes("MASK"), bytes("1010"),
            ])
        }
    }

    @Test func labelsMustBeUTF8AndBounded() {
        expectError(.args) { () throws(WireError) in
            _ = try Command.parse([
                bytes("STORE"), bytes("b"), bytes("1"), bytes("LABEL"), [0xFF, 0xFE],
            ])
        }
        expectError(.badValue) { () throws(WireError) in
            _ = try Command.parse([
                bytes("STORE"), bytes("b"), bytes("1"), bytes("LABEL"),
                [UInt8](repeating: 0x61, count: Command.maxLabelBytes + 1),
            ])
        }
    }

    @Test func rolesFollowTheCommandTable() throws {
        #expect(try parse("PING").requiredRole == .read)
        #expect(try parse("COMPLETE b 1").requiredRole == .read)
        #expect(try parse("STORE b 1").requiredRole == .write)
        #expect(try parse("JOB.SET j done").requiredRole == .write)
        #expect(try parse("BANK.CREATE b DIM 1").requiredRole == .admin)
        #expect(try parse("BANK.DROP b CONFIRM").requiredRole == .admin)
        #expect(try parse("BACKUP /tmp/x").requiredRole == .admin)
        #expect(Command.Role.read < .write && Command.Role.write < .admin)
        #expect(Command.Role.admin.rawValue == 3)
    }
}

extension Command {
    fileprivate var bankCreateMode: RetrievalMode? {
        if case .bankCreate(let spec) = self { return spec.mode }
        return nil
    }
}

@Suite struct CommandRoundTripTests {
    /// At least one command per verb, with every option used somewhere.
    static let samples: [Command] = [
        .ping(message: nil), .ping(message: bytes("hello world")), .info,
        .bankCreate(BankCreate(name: "digits", dimension: 64)),
        .bankCreate(
            BankCreate(
                name: "a.b_c-9", dimension: 3, mode: .entmax(alpha: 1.3), beta: 0.25,
                normalize: .l2, meta: "program: lag(x,1)\nline two")),
        .bankCreate(BankCreate(name: "s", dimension: 1, mode: .softmax, beta: 8)),
        .bankList, .bankInfo(bank: "digits"), .bankDrop(bank: "digits"),
        .store(StoreRequest(bank: "b", vector: [0.1, -2, 3e-9])),
        .store(
            StoreRequest(
                bank: "b", vector: [1, .leastNonzeroMagnitude], encoding: .bin, label: "x y")),
        .mstore(MStoreRequest(bank: "b", vectors: [[1, 2], [3, 4], [5, 6]])),
        .mstore(
            MStoreRequest(
                bank: "b", vectors: [[1, 2], [3, 4]], encoding: .bin, labels: ["first", ""],
                progress: IngestProgress(
                    id: "job-1", source: "/data/x.csv", position: 120, rows: 100, total: 500,
                    skipped: 20, ifRows: 98))),
        .mstore(
            MStoreRequest(
                bank: "b", vectors: [[1]],
                progress: IngestProgress(id: "new", position: 1, rows: 1, ifRows: 0))),
        .mstore(
            MStoreRequest(
                bank: "b", vectors: [[1]], progress: IngestProgress(id: "j", position: 0, rows: 1))),
        .get(GetRequest(bank: "b", seq: 1)), .get(GetRequest(bank: "b", seq: 0, format: .bin)),
        .complete(CompleteRequest(bank: "b", queries: [QueryVector(values: [1, 2])])),
        .complete(
            CompleteRequest(
                bank: "b", queries: [QueryVector(values: [1, 0, 3], known: [true, false, true])],
                options: CompletionOptions(
                    mode: .sparsemax, beta: 4, steps: 10, tolerance: 0, top: 5, asOf: 99,
                    format: .bin))),
        .complete(
            CompleteRequest(
                bank: "b", queries: [QueryVector(values: [1, 0], known: [true, false])],
                encoding: .bin, options: CompletionOptions(mode: .entmax(alpha: 2)))),
        .mcomplete(
            CompleteRequest(
                bank: "b",
                queries: [
                    QueryVector(values: [1, 0], known: [true, false]), QueryVector(values: [3, 4]),
                ], options: CompletionOptions(mode: .softmax, tolerance: 1e-6))),
        .mcomplete(
            CompleteRequest(
                bank: "b", queries: [QueryVector(values: [1, 2]), QueryVector(values: [3, 4])],
                encoding: .bin)),
        .jobs, .jobGet(id: "job-1"), .jobSet(JobSetRequest(id: "job-1", state: .done)),
        .jobSet(JobSetRequest(id: "j", state: .failed, message: "row 7: bad cell")),
        .backup(path: "/var/backups/engram 1"), .stats, .quit,
    ]

    @Test func everyVerbHasASample() {
        let covered = Set(Self.samples.map(\.verb))
        #expect(covered == Set(Command.Verb.allCases))
    }

    @Test func argumentsParseBackToTheSameCommand() throws {
        for command in Self.samples {
            #expect(try Command.parse(command.arguments) == command, "\(command.verb)")
        }
    }

    @Test func throughTheWireAsRespAndBack() throws {
        let stream = Self.samples.flatMap { RequestEncoder.encode($0) }
        let requests = try decodeAll(stream, chunks: [13, 1, 200])
        #expect(try requests.map(Command.parse) == Self.samples)
    }

    @Test func textCommandsAlsoTravelAsInlineLines() throws {
        for command in Self.samples {
            let arguments = command.arguments
            let inlineSafe = arguments.allSatisfy { argument in
                !argument.isEmpty && argument.allSatisfy { $0 > 0x20 && $0 != 0x7F }
            }
            guard inlineSafe else { continue }
            let line = Array(arguments.joined(separator: [0x20])) + [0x0A]
            #expect(try Command.parse(try decodeAll(line)[0]) == command)
        }
    }

    @Test func binaryBatchWithDifferentMasksFallsBackToText() throws {
        let command = Command.mcomplete(
            CompleteRequest(
                bank: "b",
                queries: [
                    QueryVector(values: [1, 0], known: [true, false]),
                    QueryVector(values: [0, 2], known: [false, true]),
                ], encoding: .bin))
        guard case .mcomplete(let parsed) = try Command.parse(command.arguments) else {
            Issue.record("not an MCOMPLETE")
            return
        }
        #expect(parsed.encoding == .text)
        #expect(
            parsed.queries == [
                QueryVector(values: [1, 0], known: [true, false]),
                QueryVector(values: [0, 2], known: [false, true]),
            ])
    }

    @Test func usageLinesNameTheirVerb() {
        for verb in Command.Verb.allCases {
            #expect(verb.usage.hasPrefix(verb.rawValue))
            #expect(Command.Verb(bytes(verb.rawValue.lowercased())) == verb)
        }
    }
}
