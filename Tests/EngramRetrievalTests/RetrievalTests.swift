import Foundation
import Testing

@testable import EngramRetrieval

/// Masking, reporting, normalization, magnitudes and determinism of ``Retriever``.
@Suite struct RetrievalTests {
    let axes = try! PatternMatrix(values: [1, 0, 0, 0, 1, 0, 0, 0, 1], dimension: 3)

    @Test func cleanQueryRecallsItsPattern() throws {
        let parameters = RetrievalParameters(beta: 4, steps: 3)
        let single = try Retriever.complete(
            Query(values: [0.9, 0.1, 0]), in: axes, parameters: parameters)
        #expect(single.pattern == [1, 0, 0])
        #expect(single.exact)
        #expect(single.support == [SupportEntry(index: 0, weight: 1)])
        #expect(single.converged && single.steps == 2, "the second step confirms the first")
        let one = try Retriever.complete(
            Query(values: [0.9, 0.1, 0]), in: axes, parameters: .init(beta: 4))
        #expect(!one.converged && one.steps == 1, "one step cannot confirm convergence")
    }

    @Test func knownComponentsAreClampedAndUnknownOnesCompleted() throws {
        let bank = try PatternMatrix(values: [1, 2, 3, 4, -1, -2, -3, -4], dimension: 4)
        let answer = try Retriever.complete(
            Query(values: [0.5, 1.5, .nan, 0], known: [true, true, false, false]), in: bank,
            parameters: .init(beta: 5, steps: 4))
        #expect(Array(answer.pattern.prefix(2)) == [0.5, 1.5])
        #expect(Array(answer.pattern.suffix(2)) == [3, 4])
        #expect(answer.exact)
    }

    @Test func supportIsSortedByWeightThenIndexAndCut() throws {
        let bank = try PatternMatrix(values: [1, 0, 1, 0, 0.9, 0, 0.95, 0], dimension: 2)
        let answer = try Retriever.complete(
            Query(values: [1, 0]), in: bank, parameters: .init(beta: 1))
        #expect(answer.support.map(\.index) == [0, 1, 3, 2])
        #expect(answer.supportSize == 4)
        #expect(abs(answer.support.map(\.weight).reduce(0, +) - 1) < 1e-12)
        let top2 = try Retriever.complete(
            Query(values: [1, 0]), in: bank, parameters: .init(beta: 1, topK: 2))
        #expect(top2.support.map(\.index) == [0, 1])
        #expect(top2.supportSize == 4)
        let dense = try Retriever.complete(
            Query(values: [1, 0]), in: bank, parameters: .init(normalizer: .softmax))
        #expect(dense.supportSize == 4)
    }

    @Test func denseSupportIsCappedAt64ByDefault() throws {
        let values: [Float] = (0..<100).flatMap { [Float($0) / 100, 1] }
        let bank = try PatternMatrix(values: values, dimension: 2)
        let answer = try Retriever.complete(
            Query(values: [1, 1]), in: bank, parameters: .init(normalizer: .softmax))
        #expect(answer.support.count == 64 && answer.supportSize == 100)
        #expect(answer.support.first?.index == 99)
    }

    /// A short top-k over a large support takes the one-pass selection; it must equal the
    /// head of the fully sorted support, ties by index included.
    @Test(arguments: [1, 5, 64])
    func topKOfALargeSupportIsItsHead(topK: Int) throws {
        var generator = SplitMix(seed: 0x70BC_0001)
        let values: [Float] = (0..<3000 * 4).map { _ in Float(Int(generator.next() % 9)) / 8 }
        let bank = try PatternMatrix(values: values, dimension: 4)
        for normalizer in [Normalizer.softmax, .entmax(alpha: 1.2)] {
            let query = Query(values: [0.5, 1, 0.25, 0.75])
            let full = try Retriever.complete(
                query, in: bank, parameters: .init(normalizer: normalizer, beta: 0.5, topK: 3000))
            let head = try Retriever.complete(
                query, in: bank, parameters: .init(normalizer: normalizer, beta: 0.5, topK: topK))
            #expect(full.supportSize > 1000)
            #expect(head.support == Array(full.support.prefix(topK)), "\(normalizer)")
        }
    }

    @Test func l2NormalizationOfVectorsAndQueries() throws {
        #expect(l2Normalize([3, 4]) == [0.6, 0.8])
        #expect(l2Normalize([0, 0]) == [0, 0], "a zero vector stays zero")
        let huge = l2Normalize([3e30, 4e30])
        #expect(abs(huge[0] - 0.6) < 1e-6 && abs(huge[1] - 0.8) < 1e-6)
        let bank = try PatternMatrix(values: l2Normalize([1, 1]) + [1, 0], dimension: 2)
        let parameters = RetrievalParameters(beta: 100, normalization: .l2)
        let answer = try Retriever.complete(
            Query(values: [50, 45]), in: bank, parameters: parameters)
        #expect(answer.support.first?.index == 0)
        let raw = try Retriever.complete(
            Query(values: [50, 45]), in: bank, parameters: .init(beta: 100))
        #expect(raw.support.first?.index == 0)
    }

    /// The normalization caveat: an unnormalized dim pattern loses to a bright one even when
    /// queried with itself, at every β; l2 normalization makes it retrievable.
    @Test func dimPatternsNeedNormalization() throws {
        let values: [Float] = [1, 0.2, 5, 5]
        let raw = try PatternMatrix(values: values, dimension: 2)
        for beta in [0.1, 1, 10, 1000] {
            let answer = try Retriever.complete(
                Query(values: [1, 0.2]), in: raw, parameters: .init(beta: beta))
            #expect(answer.support.first?.index == 1, "β \(beta)")
        }
        let unit = try PatternMatrix(
            values: l2Normalize([1, 0.2]) + l2Normalize([5, 5]), dimension: 2)
        let answer = try Retriever.complete(
            Query(values: [1, 0.2]), in: unit, parameters: .init(beta: 10, normalization: .l2))
        #expect(answer.exact && answer.support.first?.index == 0)
    }

    @Test(arguments: RandomCase.normalizers)
    func scoresNear1e8InFloat32(normalizer: Normalizer) throws {
        let bank = try PatternMatrix(values: [1e4, 0, 1e4, 1, 1e4, -1, 9_999, 0], dimension: 2)
        let answer = try Retriever.complete(
            Query(values: [1e4, 16]), in: bank, parameters: .init(normalizer: normalizer, beta: 1))
        #expect(answer.pattern.allSatisfy { $0.isFinite })
        #expect(answer.energy.isFinite)
        #expect(abs(answer.support.map(\.weight).reduce(0, +) - 1) < 1e-9)
        #expect(answer.support.first?.index == 1, "scores 1e8 ± 16 and 1e8 − 1e4 stay ordered")
        let tie = try Retriever.complete(
            Query(values: [1e4, 1]), in: bank, parameters: .init(normalizer: normalizer))
        #expect(tie.support.count == 3, "1e8 ± 1 rounds to 1e8 in Float32: a three-way tie")
        #expect(tie.support.allSatisfy { abs($0.weight - 1.0 / 3) < 1e-9 })
    }

    @Test func scoresBeyondFloat32RangeFallBackToFloat64() throws {
        let bank = try PatternMatrix(values: [1e20, 0, 0, 1e20], dimension: 2)
        let answer = try Retriever.complete(
            Query(values: [1e20, 1e19]), in: bank, parameters: .init(beta: 1))
        #expect(answer.pattern == [1e20, 0])
        #expect(answer.exact && answer.energy.isFinite)
        let batch = try Retriever.completeBatch(
            [Query(values: [1e20, 1e19])], in: bank, parameters: .init(beta: 1))
        #expect(batch[0].pattern == [1e20, 0])
    }

    @Test func prefixIsTheBankAsOfAnEarlierSize() throws {
        let answer = try Retriever.complete(
            Query(values: [0, 0, 1]), in: axes.prefix(2), parameters: .init(beta: 1))
        #expect(answer.support.allSatisfy { $0.index < 2 })
        #expect(axes.prefix(10).rows == 3 && axes.prefix(-1).rows == 0)
    }

    /// The same answers from many threads at once, bit for bit.
    @Test func answersDoNotDependOnThreads() async throws {
        var generator = SplitMix(seed: 0x7EAD_0001)
        let values = (0..<4000 * 24).map { _ in Float(generator.uniform(-1, 1)) }
        let bank = try PatternMatrix(values: values, dimension: 24)
        let queries = (0..<16).map { row in Query(values: Array(bank[row: row * 17])) }
        let parameters = RetrievalParameters(normalizer: .entmax(alpha: 1.5), beta: 2, steps: 3)
        let expected = try queries.map {
            try Retriever.complete($0, in: bank, parameters: parameters)
        }
        let expectedBatch = try Retriever.completeBatch(queries, in: bank, parameters: parameters)
        try await withThrowingTaskGroup(of: (Int, Completion, [Completion]).self) { group in
            for (index, query) in queries.enumerated() {
                group.addTask {
                    let single = try Retriever.complete(query, in: bank, parameters: parameters)
                    let batch = try Retriever.completeBatch(
                        queries, in: bank, parameters: parameters)
                    return (index, single, batch)
                }
            }
            for try await (index, single, batch) in group {
                #expect(single == expected[index])
                #expect(batch == expectedBatch)
            }
        }
    }
}
