import Foundation
import Testing

@testable import EngramRetrieval

/// Real data: the UCI handwritten digits (data/digits.csv), stored as patterns and completed
/// from their top half.
@Suite struct DigitsTests {
    /// 1797 images of 64 pixels scaled to [0, 1], and their labels.
    static func load() throws -> (pixels: [[Float]], labels: [Int]) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(
            contentsOf: root.appendingPathComponent("data/digits.csv"), encoding: .utf8)
        var pixels: [[Float]] = []
        var labels: [Int] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ",").map {
                Int($0.trimmingCharacters(in: .whitespaces))!
            }
            pixels.append(fields.prefix(64).map { Float($0) / 16 })
            labels.append(fields[64])
        }
        return (pixels, labels)
    }

    private static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let na = a.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
        let nb = b.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
        return dot / (na * nb)
    }

    /// Fraction of every 11th image whose top half (32 pixels known, 32 unknown) completes to
    /// the right image: cosine ≥ 0.9 with it, or it is the stored image nearest to the
    /// completion. Also checks that the known half is returned unchanged.
    private static func successRate(_ parameters: RetrievalParameters) throws -> Double {
        let (pixels, _) = try load()
        let bank = try PatternMatrix(values: pixels.flatMap { $0 }, dimension: 64)
        let squaredNorms = pixels.map { $0.reduce(0.0) { $0 + Double($1 * $1) } }
        let known = (0..<64).map { $0 < 32 }
        let indices = Array(stride(from: 0, to: pixels.count, by: 11))
        let queries = indices.map { Query(values: pixels[$0], known: known) }
        let answers = try Retriever.completeBatch(queries, in: bank, parameters: parameters)
        var successes = 0
        for (index, answer) in zip(indices, answers) {
            #expect(answer.pattern.prefix(32) == pixels[index].prefix(32), "known half kept")
            if cosine(answer.pattern, pixels[index]) >= 0.9 {
                successes += 1
                continue
            }
            // ‖x − ξ‖² = ‖x‖² − 2⟨x, ξ⟩ + ‖ξ‖²: the nearest image maximizes 2⟨x, ξ⟩ − ‖ξ‖².
            let dots = try Retriever.scores(of: answer.pattern, in: bank)
            let nearest = dots.indices.max {
                2 * Double(dots[$0]) - squaredNorms[$0] < 2 * Double(dots[$1]) - squaredNorms[$1]
            }!
            if nearest == index { successes += 1 }
        }
        return Double(successes) / Double(indices.count)
    }

    /// Raw pixels (no normalization): the dot product favours bright images, so a sharp β
    /// often lands on a brighter image with a similar top half; a moderate β averages the few
    /// best matches, which recovers the right image more often.
    @Test func halfMaskedDigitsCompleteToTheirImage() throws {
        let sparse = try Self.successRate(RetrievalParameters(normalizer: .sparsemax, beta: 0.2))
        let entmax = try Self.successRate(
            RetrievalParameters(normalizer: .entmax(alpha: 1.5), beta: 0.2))
        let dense = try Self.successRate(RetrievalParameters(normalizer: .softmax, beta: 1))
        let sharp = try Self.successRate(RetrievalParameters(normalizer: .sparsemax, beta: 60))
        print(
            "digits top-half completion success: sparsemax β=0.2 \(sparse), entmax-1.5 β=0.2 "
                + "\(entmax), softmax β=1 \(dense), sparsemax β=60 \(sharp)")
        #expect(sparse >= 0.7)
        #expect(entmax >= 0.7)
        #expect(dense >= 0.7)
        #expect(sharp < sparse, "a sharp β on raw pixels picks brighter look-alikes")
    }
}
