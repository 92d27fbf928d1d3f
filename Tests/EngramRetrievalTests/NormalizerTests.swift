import Testing

@testable import EngramRetrieval

/// Known values and invariants of the separation functions on plain score vectors.
@Suite struct NormalizerTests {
    private func expectClose(_ got: [Double], _ want: [Double], tolerance: Double = 1e-6) {
        #expect(got.count == want.count)
        for (a, b) in zip(got, want) { #expect(abs(a - b) <= tolerance, "\(got) vs \(want)") }
    }

    @Test func sparsemaxKnownValues() throws {
        expectClose(try Normalizer.sparsemax.weights([0, 0.5, 1]), [0, 0.25, 0.75])
        expectClose(
            try Normalizer.sparsemax.weights([0.1, 0.2, 0.3, 0.4, 0.5]), [0, 0.1, 0.2, 0.3, 0.4])
        expectClose(try Normalizer.sparsemax.weights([1, 1, 0.5]), [0.5, 0.5, 0])
    }

    @Test func entmax15KnownValues() throws {
        expectClose(
            try Normalizer.entmax(alpha: 1.5).weights([1, 0, -1]), [0.830719, 0.169281, 0])
        expectClose(try Normalizer.entmax(alpha: 1.5).weights([2, 0, 0]), [1, 0, 0])
    }

    @Test func softmaxKnownValues() throws {
        let e = 2.718281828459045
        expectClose(
            try Normalizer.softmax.weights([0, 1]), [1 / (1 + e), e / (1 + e)], tolerance: 1e-12)
    }
}
