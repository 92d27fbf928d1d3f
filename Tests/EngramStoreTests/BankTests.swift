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
