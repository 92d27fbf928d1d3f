// Retrieval benchmark: one-step sparse retrieval against the machine's own ceilings, measured in
// the same run: the memory-read ceiling (a streaming SIMD sum over the bank's bytes), sgemv for
// the same scores, and single-thread sgemm throughput for the batch.

internal import CBLAS
internal import CEngramKernels
internal import EngramRetrieval
internal import Glibc

/// The retrieval benchmark suite of `make bench`.
enum RetrievalBench {
    static func run(_ arguments: [String]) throws {
        openblas_set_num_threads(1)
        print("one-step sparsemax retrieval on one thread; unit-norm random rows, queries are")
        print("noisy stored rows, beta 10. ceil = streaming SIMD sum over the bank's bytes;")
        print("scan = the retriever's score pass alone; sel = share of 1q spent after the scan")
        print("(candidates, threshold, update); 64q = one batch of 64 (first step by sgemm).")
        print(
            pad("N", 8) + pad("d", 4) + pad("MB", 6) + pad("ceilGB/s", 9) + pad("ceil ms", 9)
                + pad("scan ms", 9) + pad("sgemv ms", 9) + pad("1q ms", 9) + pad("1q/ceil", 8)
                + pad("sgemv/ceil", 11) + pad("sel", 6) + pad("1q q/s", 8) + pad("64q ms", 8)
                + pad("64q q/s", 8) + pad("sgemmGF", 8) + pad("64q GF", 7)
                + pad("64q/sgemm", 10))
        for (rows, dimension) in sizes() {
            try measure(rows: rows, dimension: dimension)
        }
        try normalizerCosts()
        try batchKernels()
    }

    /// First-step scores of a batch: the small-batch kernel (no packing) against sgemm, both on
    /// blocks of 4096 rows as the retriever calls them, by batch size. The retriever uses the
    /// kernel up to ``Retriever/smallBatchLimit`` queries.
    private static func batchKernels() throws {
        let vector = engram_scores_vectorized() == 1 ? "AVX2+FMA" : "portable"
        print(
            "\nbatch scores: small-batch kernel (\(vector)) vs sgemm, microseconds per query "
                + "(retriever: kernel up to \(Retriever.smallBatchLimit) queries)")
        print(
            pad("N", 8) + pad("d", 4) + pad("q", 4) + pad("kernel us", 10) + pad("sgemm us", 10)
                + pad("sgemm/kernel", 13) + pad("kernel GF", 10))
        for (rows, dimension) in [(10_000, 64), (100_000, 256)] {
            let bank = RandomBank(rows: rows, dimension: dimension, seed: 3)
            for q in [1, 2, 4, 8, 12, 16, 24, 32, 64, 128, 256] {
                let states = (0..<q).flatMap { bank.noisyRow($0 * 131 % rows, seed: UInt64($0)) }
                let block = 4096
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: q * block)
                defer { scores.deallocate() }
                let times = try roundRobin(budget: 0.4) {
                    [
                        {
                            bank.blocks(block) { first, count in
                                engram_scores(
                                    bank.pointer + first * dimension, count, dimension, states, q,
                                    scores, count)
                            }
                        },
                        {
                            bank.blocks(block) { first, count in
                                cblas_sgemm(
                                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(q), Int32(count),
                                    Int32(dimension), 1, states, Int32(dimension),
                                    bank.pointer + first * dimension, Int32(dimension), 0, scores,
                                    Int32(count))
                            }
                        },
                    ]
                }
                let flops = 2 * Double(rows * dimension * q)
                print(
                    pad("\(rows)", 8) + pad("\(dimension)", 4) + pad("\(q)", 4)
                        + pad(fixed(times[0] / Double(q) * 1e6, 1), 10)
                        + pad(fixed(times[1] / Double(q) * 1e6, 1), 10)
                        + pad(fixed(times[1] / times[0], 2), 13)
                        + pad(fixed(flops / times[0] / 1e9, 1), 10))
            }
        }
    }

    /// N × d cases; `ENGRAM_BENCH_SIZES=1000000x256,10000x64` picks others while tuning.
    private static func sizes() -> [(Int, Int)] {
        if let text = getenv("ENGRAM_BENCH_SIZES").map({ String(cString: $0) }) {
            return text.split(separator: ",").compactMap { item in
                let parts = item.split(separator: "x").compactMap { Int($0) }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }
        }
        return [10_000, 100_000, 1_000_000].flatMap { rows in [64, 256].map { (rows, $0) } }
    }

    private static func measure(rows: Int, dimension: Int) throws {
        let bank = RandomBank(rows: rows, dimension: dimension, seed: 42)
        let matrix = bank.matrix
        let bytes = Double(rows * dimension * 4)
        let queries = (0..<64).map { bank.noisyRow(($0 * 7919) % rows, seed: UInt64($0)) }
        let parameters = RetrievalParameters(beta: 10)

        var which = 0
        let batchQueries = queries.map { Query(values: $0) }
        let budget = rows * dimension >= 100_000_000 ? 20.0 : rows >= 1_000_000 ? 10 : 4
        let times = try roundRobin(budget: budget) {
            [
                { _ = bank.streamingSum() },
                { _ = try Retriever.scores(of: queries[0], in: matrix) },
                { bank.sgemv(queries[0]) },
                {
                    which = (which + 1) % queries.count
                    _ = try Retriever.complete(
                        Query(values: queries[which]), in: matrix, parameters: parameters)
                },
                {
                    _ = try Retriever.completeBatch(
                        batchQueries, in: matrix, parameters: parameters)
                },
                { bank.sgemm(queries) },
            ]
        }
        let (ceiling, scan, sgemv, single, batch, sgemm) =
            (times[0], times[1], times[2], times[3], times[4], times[5])
        let flops = 2 * Double(rows * dimension * 64)
        print(
            pad("\(rows)", 8) + pad("\(dimension)", 4) + pad(fixed(bytes / 1e6, 0), 6)
                + pad(fixed(bytes / ceiling / 1e9, 1), 9) + pad(fixed(ceiling * 1e3, 2), 9)
                + pad(fixed(scan * 1e3, 2), 9) + pad(fixed(sgemv * 1e3, 2), 9)
                + pad(fixed(single * 1e3, 2), 9) + pad(fixed(single / ceiling, 2), 8)
                + pad(fixed(sgemv / ceiling, 2), 11)
                + pad(fixed(max(single - scan, 0) / single * 100, 0) + "%", 6)
                + pad(fixed(1 / single, 0), 8) + pad(fixed(batch * 1e3, 1), 8)
                + pad(fixed(64 / batch, 0), 8) + pad(fixed(flops / sgemm / 1e9, 1), 8)
                + pad(fixed(flops / batch / 1e9, 1), 7) + pad(fixed(sgemm / batch, 2), 10))
    }

    /// What each normalizer costs on top of the scan, and how large its support gets, at
    /// N = 100 000, d = 256, for a sharp and a soft β.
    private static func normalizerCosts() throws {
        let bank = RandomBank(rows: 100_000, dimension: 256, seed: 7)
        let matrix = bank.matrix
        let queries = (0..<16).map { bank.noisyRow($0 * 6007, seed: UInt64($0)) }
        print("\nnormalizers, one step, N 100000, d 256 (support = mean over 16 queries)")
        print(
            pad("normalizer", 14) + pad("beta", 6) + pad("support", 9) + pad("1q ms", 8)
                + pad("scan ms", 9) + pad("1q/scan", 8))
        let cases: [(Normalizer, Double)] = [
            (.sparsemax, 10), (.sparsemax, 1), (.entmax(alpha: 1.5), 10), (.entmax(alpha: 1.5), 1),
            (.entmax(alpha: 1.3), 10), (.entmax(alpha: 1.3), 1), (.softmax, 10),
        ]
        for (normalizer, beta) in cases {
            let parameters = RetrievalParameters(normalizer: normalizer, beta: beta, topK: 1)
            var which = 0
            var support = 0
            var runs = 0
            let times = try roundRobin(budget: 1.5) {
                [
                    { _ = try Retriever.scores(of: queries[0], in: matrix) },
                    {
                        which = (which + 1) % queries.count
                        let answer = try Retriever.complete(
                            Query(values: queries[which]), in: matrix, parameters: parameters)
                        support += answer.supportSize
                        runs += 1
                    },
                ]
            }
            print(
                pad("\(normalizer)", 14) + pad(fixed(beta, 0), 6)
                    + pad("\(support / max(runs, 1))", 9) + pad(fixed(times[1] * 1e3, 2), 8)
                    + pad(fixed(times[0] * 1e3, 2), 9) + pad(fixed(times[1] / times[0], 2), 8))
        }
    }
}

// MARK: - A random bank in aligned memory

/// Unit-norm random rows, filled in place so that a 1 GB bank is not copied.
private final class RandomBank: @unchecked Sendable {
    let rows: Int
    let dimension: Int
    let pointer: UnsafeMutablePointer<Float>

    init(rows: Int, dimension: Int, seed: UInt64) {
        self.rows = rows
        self.dimension = dimension
        let raw = UnsafeMutableRawPointer.allocate(byteCount: rows * dimension * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: rows * dimension)
        var generator = SplitMix(seed: seed)
        for row in 0..<rows {
            let values = UnsafeMutableBufferPointer(
                start: pointer + row * dimension, count: dimension)
            for j in 0..<dimension { values[j] = generator.nextSigned() }
            l2Normalize(values)
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    var matrix: PatternMatrix {
        PatternMatrix(base: pointer, rows: rows, dimension: dimension, owner: self)
    }

    /// Row `row` plus noise of half its norm, renormalized.
    func noisyRow(_ row: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix(seed: seed &+ 1000)
        let scale = 0.5 / Float(dimension).squareRoot() * 1.7
        let values = (0..<dimension).map {
            pointer[row * dimension + $0] + scale * generator.nextSigned()
        }
        return l2Normalize(values)
    }

    /// The read ceiling: sum every value of the bank with four SIMD8 accumulators.
    func streamingSum() -> Float {
        var (a, b, c, d) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        let raw = UnsafeRawPointer(pointer)
        let count = rows * dimension
        var i = 0
        while i + 32 <= count {
            a += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            b += raw.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            c += raw.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD8<Float>.self)
            d += raw.loadUnaligned(fromByteOffset: i * 4 + 96, as: SIMD8<Float>.self)
            i += 32
        }
        return (a + b + c + d).sum()
    }

    /// Calls `body(first, count)` for consecutive blocks of `size` rows.
    func blocks(_ size: Int, _ body: (Int, Int) -> Void) {
        var first = 0
        while first < rows {
            body(first, min(size, rows - first))
            first += size
        }
    }

    func sgemv(_ x: [Float]) {
        var y = [Float](repeating: 0, count: rows)
        cblas_sgemv(
            CblasRowMajor, CblasNoTrans, Int32(rows), Int32(dimension), 1, pointer,
            Int32(dimension), x, 1, 0, &y, 1)
    }

    /// The raw product of the batch against the bank in the same row blocks as the retriever
    /// uses, without candidate selection: the sgemm throughput baseline.
    func sgemm(_ queries: [[Float]]) {
        let q = queries.count
        let states = queries.flatMap { $0 }
        let blockRows = max(1024, (1 << 20) / q)
        var scores = [Float](repeating: 0, count: q * blockRows)
        var first = 0
        while first < rows {
            let count = min(blockRows, rows - first)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(q), Int32(count), Int32(dimension),
                1, states, Int32(dimension), pointer + first * dimension, Int32(dimension), 0,
                &scores, Int32(count))
            first += count
        }
    }
}

/// SplitMix64: fast, seedable, good enough for benchmark data.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [−1, 1).
    mutating func nextSigned() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}

// MARK: - Timing and formatting

/// Best wall time of each case, running them in turn (so that load from other processes hits
/// all of them alike) until `budget` seconds have passed, at least 3 rounds.
private func roundRobin(
    budget: Double, _ cases: () -> [() throws -> Void]
) throws -> [Double] {
    let bodies = cases()
    var best = [Double](repeating: .infinity, count: bodies.count)
    let start = now()
    var rounds = 0
    while rounds < 3 || (now() - start < budget && rounds < 200) {
        for (index, body) in bodies.enumerated() {
            let t0 = now()
            try body()
            best[index] = min(best[index], now() - t0)
        }
        rounds += 1
    }
    return best
}

private func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}

private func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(width - text.count, 0)) + text
}

private func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    if digits == 0 { return "\(Int(rounded))" }
    let text = "\(rounded)"
    let parts = text.split(separator: ".")
    let fraction = parts.count > 1 ? String(parts[1]) : ""
    return String(parts[0]) + "." + fraction.padding(digits)
}

extension String {
    fileprivate func padding(_ length: Int) -> String {
        count >= length
            ? String(prefix(length)) : self + String(repeating: "0", count: length - count)
    }
}
