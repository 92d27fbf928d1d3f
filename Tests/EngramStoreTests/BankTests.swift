// Banks and patterns: create, list, append, read back, reopen, drop, validation.

import EngramStore
import Testing

@Suite struct BankTests {
    @Test func appendsReadBackAfterReopen() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(directory: dir.path, options: smallOptions())
            try store.createBank(BankSpec(name: "digits", dimension: 8, metadata: "m"))
            var all: [[Float]] = []
            for batch in 0..<40 {
                let vectors = (0..<8).map { vector(8, seed: 1, index: batch * 8 + $0) }
                let labels = (0..<8).map { Optional("l\(batch * 8 + $0)") }
                let range = try store.append(bank: "digits", vectors: vectors, labels: labels)
                #expect(range == UInt64(batch * 8 + 1)..<UInt64(batch * 8 + 9))
                all += vectors
            }
            #expect(try store.bankInfo("digits").count == 320)
            let pattern = try store.pattern(bank: "digits", seq: 300)
            #expect(pattern.values == all[299])
            #expect(pattern.label == "l299")
            store.close()
        }
        let store = try Store(directory: dir.path, options: smallOptions())
        let info = try store.bankInfo("digits")
        #expect(info.count == 320)
        #expect(info.spec.metadata == "m")
        let snapshot = try store.snapshot(bank: "digits")
        #expect(snapshot.rows == 320)
        #expect(Array(snapshot.row(257)) == vector(8, seed: 1, index: 257))
        #expect(snapshot.label(ofRow: 257) == "l257")
        let range = try store.patterns(bank: "digits", range: 255..<259)
        #expect(range.map(\.seq) == [255, 256, 257, 258])
    }
}

@Suite struct BankValidationTests {
    @Test func singleAppendsCrossTheOneByteKeyBoundary() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "b", dimension: 3))
        for index in 0..<310 {
            let range = try store.append(bank: "b", vectors: [vector(3, seed: 2, index: index)])
            #expect(range == UInt64(index + 1)..<UInt64(index + 2))
        }
        for seq in [1, 255, 256, 257, 300, 310] as [UInt64] {
            #expect(
                try store.pattern(bank: "b", seq: seq).values
                    == vector(3, seed: 2, index: Int(seq) - 1))
        }
        #expect(throws: StoreError.self) { try store.pattern(bank: "b", seq: 311) }
        #expect(try store.patterns(bank: "b", range: 250..<1000).count == 61)
    }

    @Test(arguments: ["", "a b", "ünï", "x/y", String(repeating: "n", count: 65), "a\n"])
    func invalidBankNamesAreRefused(_ name: String) throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        let error = #expect(throws: StoreError.self) {
            try store.createBank(BankSpec(name: name, dimension: 4))
        }
        #expect(error?.code == .badName)
        #expect(store.listBanks().isEmpty)
    }

    @Test func validNamesAreAccepted() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        let names = ["a", "A.b_c-9", String(repeating: "z", count: 64)]
        for name in names { try store.createBank(BankSpec(name: name, dimension: 1)) }
        #expect(store.listBanks().map(\.name) == names.sorted())
    }

    @Test func badSpecsAreRefused() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        let cases: [(BankSpec, StoreError.Code)] = [
            (BankSpec(name: "d0", dimension: 0), .dimension),
            (BankSpec(name: "d1", dimension: 65537), .dimension),
            (BankSpec(name: "b0", dimension: 2, beta: 0), .invalid),
            (BankSpec(name: "b1", dimension: 2, beta: .nan), .invalid),
            (BankSpec(name: "a1", dimension: 2, mode: .entmax(alpha: 1)), .invalid),
            (BankSpec(name: "a3", dimension: 2, mode: .entmax(alpha: 2.5)), .invalid),
        ]
        for (spec, code) in cases {
            let error = #expect(throws: StoreError.self) { try store.createBank(spec) }
            #expect(error?.code == code, "\(spec.name)")
        }
        try store.createBank(BankSpec(name: "ok", dimension: 2))
        let duplicate = #expect(throws: StoreError.self) {
            try store.createBank(BankSpec(name: "ok", dimension: 5))
        }
        #expect(duplicate?.code == .exists)
        #expect(try store.bankInfo("ok").spec.dimension == 2)
    }

    @Test func badPatternsAreRejectedAndStoreNothing() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "b", dimension: 4))
        try store.append(bank: "b", vectors: [[1, 2, 3, 4]])
        let rejected: [([[Float]], StoreError.Code)] = [
            ([[1, 2, 3]], .dimension),
            ([[1, 2, 3, 4], [1, 2, 3, 4, 5]], .dimension),
            ([[1, .nan, 3, 4]], .nonFinite),
            ([[1, 2, 3, 4], [.infinity, 0, 0, 0]], .nonFinite),
            ([[-.infinity, 0, 0, 0]], .nonFinite),
        ]
        for (vectors, code) in rejected {
            let error = #expect(throws: StoreError.self) {
                try store.append(bank: "b", vectors: vectors)
            }
            #expect(error?.code == code)
        }
        let flat = #expect(throws: StoreError.self) {
            try store.append(bank: "b", flat: [1, 2, 3, 4, 5])
        }
        #expect(flat?.code == .dimension)
        // The protocol's limit: 4096 bytes pass, 4097 are refused with the same figure.
        try store.append(
            bank: "b", vectors: [[1, 2, 3, 4]], labels: [String(repeating: "x", count: 4096)])
        let label = #expect(throws: StoreError.self) {
            try store.append(
                bank: "b", vectors: [[1, 2, 3, 4]], labels: [String(repeating: "x", count: 4097)])
        }
        #expect(label?.code == .invalid)
        #expect(label?.message.contains("at most 4096") == true)
        let noBank = #expect(throws: StoreError.self) {
            try store.append(bank: "missing", vectors: [[1, 2, 3, 4]])
        }
        #expect(noBank?.code == .noBank)
        #expect(try store.bankInfo("b").count == 2)
        #expect(try store.append(bank: "b", vectors: [[5, 6, 7, 8]]) == 3..<4)
    }

    @Test func emptyAppendCommitsNothingUnlessItCarriesProgress() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "b", dimension: 2))
        try store.append(bank: "b", vectors: [[1, 2]])
        let commits = try store.statistics().commits
        #expect(try store.append(bank: "b", vectors: []) == 2..<2)
        #expect(try store.statistics().commits == commits)
        let job = JobProgress(id: "j", bank: "b", skipped: 3)
        #expect(try store.append(bank: "b", vectors: [], progress: job) == 2..<2)
        #expect(try store.job(id: "j").skipped == 3)
        #expect(try store.bankInfo("b").count == 1)
    }

    @Test func droppedBankCanBeRecreatedAndOldSnapshotsStayValid() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "b", dimension: 4))
        try store.append(bank: "b", vectors: [[1, 2, 3, 4], [5, 6, 7, 8]], labels: ["x", nil])
        try store.append(
            bank: "b", vectors: [[1, 1, 1, 1]],
            progress: JobProgress(id: "j", bank: "b", rowsDone: 1))
        let before = try store.snapshot(bank: "b")
        #expect(try store.dropBank("b") == 3)
        #expect((try? store.bankInfo("b")) == nil)
        #expect((try? store.job(id: "j")) == nil, "a dropped bank's jobs go with it")
        let noBank = #expect(throws: StoreError.self) { try store.dropBank("b") }
        #expect(noBank?.code == .noBank)
        try store.createBank(BankSpec(name: "b", dimension: 2))
        #expect(try store.append(bank: "b", vectors: [[9, 9]]) == 1..<2)
        #expect(try store.pattern(bank: "b", seq: 1).values == [9, 9])
        #expect(try store.pattern(bank: "b", seq: 1).label == nil)
        #expect(Array(before.row(1)) == [5, 6, 7, 8])
        #expect(before.label(ofRow: 0) == "x")
        store.close()
        let reopened = try Store(directory: dir.path, options: smallOptions())
        #expect(try reopened.bankInfo("b").count == 1)
        #expect(try reopened.bankInfo("b").spec.dimension == 2)
    }

    @Test func l2BanksNormalizeTheMatrixButKeepRawValues() throws {
        let dir = TemporaryDirectory()
        let options = smallOptions()
        do {
            let store = try Store(directory: dir.path, options: options)
            try store.createBank(BankSpec(name: "u", dimension: 2, normalization: .l2))
            try store.append(bank: "u", vectors: [[3, 4], [0, 0]])
            #expect(Array(try store.snapshot(bank: "u").row(0)) == [0.6, 0.8])
            #expect(try store.pattern(bank: "u", seq: 1).values == [3, 4])
        }
        let store = try Store(directory: dir.path, options: options)
        let snapshot = try store.snapshot(bank: "u")
        #expect(Array(snapshot.row(0)) == [0.6, 0.8])
        #expect(Array(snapshot.row(1)) == [0, 0])
        #expect(snapshot.info.spec.normalization == .l2)
    }

    /// Snapshots carry a bound on their rows' norms (batch retrieval relies on it being at
    /// least every row's norm): kept through appends, reopen, l2 scaling and as-of prefixes.
    @Test func snapshotsBoundEveryRowNorm() throws {
        let dir = TemporaryDirectory()
        let options = smallOptions()
        func check(_ store: Store, _ bank: String, asOf: UInt64? = nil) throws {
            let snapshot = try store.snapshot(bank: bank, asOf: asOf)
            let bound = try #require(snapshot.matrix.rowNormBound)
            var largest = 0.0
            for row in 0..<snapshot.rows {
                let norm = snapshot.row(row).reduce(0.0) { $0 + Double($1) * Double($1) }
                    .squareRoot()
                #expect(norm <= bound, "\(bank) row \(row): norm \(norm) above bound \(bound)")
                largest = max(largest, norm)
            }
            #expect(bound <= largest * 1.001 + 1e-12, "\(bank): bound \(bound) is loose")
        }
        do {
            let store = try Store(directory: dir.path, options: options)
            try store.createBank(BankSpec(name: "raw", dimension: 3))
            try store.createBank(BankSpec(name: "unit", dimension: 3, normalization: .l2))
            try check(store, "raw")
            try store.append(bank: "raw", vectors: [[1, 2, 2], [0, 0, 0.5]])
            try store.append(bank: "unit", vectors: [[30, 40, 0], [0, 0, 0]])
            try check(store, "raw")
            try check(store, "unit")
            try store.append(bank: "raw", vectors: [[-6, 0, 8]])
            try check(store, "raw")
            #expect(try store.snapshot(bank: "raw").matrix.rowNormBound! >= 10)
        }
        let store = try Store(directory: dir.path, options: options)
        try check(store, "raw")
        try check(store, "unit")
        let prefix = try store.snapshot(bank: "raw", asOf: 1).matrix
        #expect(prefix.rowNormBound! >= 3)
    }

    @Test func specAndMetadataSurviveReopen() throws {
        let dir = TemporaryDirectory()
        let spec = BankSpec(
            name: "m", dimension: 7, mode: .entmax(alpha: 1.5), beta: 8, normalization: .l2,
            metadata: "program: lag(x,1)")
        do {
            let store = try Store(directory: dir.path, options: smallOptions())
            let info = try store.createBank(spec)
            #expect(info.count == 0)
            #expect(info.createdMicros > 1_700_000_000_000_000)
            try store.setMetadata(bank: "m", "updated ✓")
            #expect(try store.bankInfo("m").spec.metadata == "updated ✓")
        }
        let store = try Store(directory: dir.path, options: smallOptions())
        var expected = spec
        expected.metadata = "updated ✓"
        #expect(try store.bankInfo("m").spec == expected)
        let missing = #expect(throws: StoreError.self) { try store.setMetadata(bank: "x", "") }
        #expect(missing?.code == .noBank)
    }

    @Test func bankTableHasALimit() throws {
        let dir = TemporaryDirectory()
        var options = smallOptions()
        options.maxBanks = 2
        let store = try Store(directory: dir.path, options: options)
        try store.createBank(BankSpec(name: "a", dimension: 1))
        try store.createBank(BankSpec(name: "b", dimension: 1))
        let error = #expect(throws: StoreError.self) {
            try store.createBank(BankSpec(name: "c", dimension: 1))
        }
        #expect(error?.code == .tooManyBanks)
        try store.dropBank("a")
        try store.createBank(BankSpec(name: "c", dimension: 1))
    }

    @Test func closedStoreRefusesWorkButKeepsSnapshots() throws {
        let dir = TemporaryDirectory()
        let store = try Store(directory: dir.path, options: smallOptions())
        try store.createBank(BankSpec(name: "b", dimension: 1))
        try store.append(bank: "b", vectors: [[1]])
        let snapshot = try store.snapshot(bank: "b")
        store.close()
        store.close()
        let append = #expect(throws: StoreError.self) {
            try store.append(bank: "b", vectors: [[2]])
        }
        #expect(append?.code == .closed)
        let read = #expect(throws: StoreError.self) { try store.pattern(bank: "b", seq: 1) }
        #expect(read?.code == .closed)
        #expect(Array(snapshot.row(0)) == [1])
        #expect(store.checkReaders() == 0)
    }
}
