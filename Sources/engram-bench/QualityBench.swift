import EngramRetrieval
import Foundation

/// The retrieval-quality suite of `make bench`: half-masked digits recovered by sparsemax,
/// softmax and 1.5-entmax over memories of 10 to 1797 patterns and a sweep of β, in one table;
/// then the same retrievals recomputed by an independent numpy reference
/// (`scripts/hopfield_reference.py`), which must agree to 1e-5.
enum QualityBench {
    static let memorySizes = [10, 30, 100, 300, 1000, 1797]
    static let betas: [Double] = [0.25, 0.5, 1, 2, 4, 8]
    static let modes: [(name: String, normalizer: Normalizer)] = [
        ("sparsemax", .sparsemax), ("softmax", .softmax), ("entmax-1.5", .entmax(alpha: 1.5)),
    ]
    /// Queries per memory size: the first stored patterns, each with its lower half unknown.
    static let queriesPerSize = 200
    /// A completion counts as recovered when its cosine similarity to the true image is this.
    static let recoveredCosine = 0.9

    static func run(_ arguments: [String]) throws {
        let digits = try Digits.load()
        print("half-masked digits (lower 32 of 64 pixels unknown), one step;")
        print("cell = recovered / queries (cosine to the true image >= \(recoveredCosine))\n")
        printHeader()
        for size in memorySizes where size <= digits.count {
            let bank = try PatternMatrix(
                values: Array(digits.pixels[0..<(size * 64)]), dimension: 64)
            let queries = (0..<min(size, queriesPerSize)).map { digits.halfMasked($0) }
            for beta in betas {
                var cells: [String] = []
                for mode in modes {
                    let parameters = RetrievalParameters(normalizer: mode.normalizer, beta: beta)
                    let answers = try Retriever.completeBatch(
                        queries, in: bank, parameters: parameters)
                    let recovered = zip(answers.indices, answers).filter { index, answer in
                        cosine(answer.pattern, digits.image(index)) >= recoveredCosine
                    }.count
                    cells.append("\(recovered)/\(queries.count)")
                }
                printRow(size: size, beta: beta, cells: cells)
            }
        }
        try compareWithNumpy(digits)
    }

    // MARK: - The independent reference

    /// Writes a bank and queries to a scratch folder, has numpy answer them, and compares.
    static func compareWithNumpy(_ digits: Digits) throws {
        let size = 300
        let bank = try PatternMatrix(values: Array(digits.pixels[0..<(size * 64)]), dimension: 64)
        let queries = (0..<50).map { digits.halfMasked($0 * 5) }
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("engram-quality-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeRows((0..<size).map { Array(bank[row: $0]) }, to: folder, name: "bank.txt")
        try writeRows(queries.map(\.values), to: folder, name: "queries.txt")
        try writeRows(
            queries.map { $0.known!.map { $0 ? 1 : 0 } }, to: folder, name: "known.txt")

        print("\nnumpy reference (\(size) patterns, \(queries.count) half-masked queries):")
        print(pad("mode", 12) + pad("beta", 6) + pad("steps", 7) + "max |engram - numpy|")
        var worst = 0.0
        for mode in modes {
            for (beta, steps) in [(1.0, 1), (4.0, 1), (2.0, 5)] {
                let parameters = RetrievalParameters(
                    normalizer: mode.normalizer, beta: beta, steps: steps, tolerance: 0)
                let ours = try Retriever.completeBatch(queries, in: bank, parameters: parameters)
                let theirs = try numpy(
                    folder: folder, mode: mode.normalizer, beta: beta, steps: steps)
                let difference =
                    zip(ours, theirs).map { answer, reference in
                        zip(answer.pattern, reference).map { abs(Double($0) - $1) }.max() ?? 0
                    }.max() ?? 0
                worst = max(worst, difference)
                print(
                    pad(mode.name, 12) + pad(format(beta), 6) + pad("\(steps)", 7)
                        + String(format: "%.2e", difference))
            }
        }
        let verdict = worst <= 1e-5 ? "agree" : "DISAGREE"
        print("engram and numpy \(verdict) to \(String(format: "%.1e", worst)) (limit 1e-5)")
    }

    static func numpy(folder: URL, mode: Normalizer, beta: Double, steps: Int) throws -> [[Double]]
    {
        let script = Digits.repositoryRoot.appendingPathComponent("scripts/hopfield_reference.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let modeArgument: String
        switch mode {
        case .sparsemax: modeArgument = "sparsemax"
        case .softmax: modeArgument = "softmax"
        case .entmax(let alpha): modeArgument = "entmax:\(alpha)"
        }
        process.arguments = [
            "python3", script.path, folder.path, modeArgument, "\(beta)", "\(steps)",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("numpy reference exited with \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
            line.split(separator: " ").map { Double($0)! }
        }
    }

    // MARK: - Helpers

    static func writeRows<T: Numeric>(_ rows: [[T]], to folder: URL, name: String) throws {
        let text = rows.map { $0.map { "\($0)" }.joined(separator: " ") }.joined(separator: "\n")
        try (text + "\n").write(
            to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    static func cosine(_ a: [Float], _ b: ArraySlice<Float>) -> Double {
        var dot = 0.0
        var aa = 0.0
        var bb = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            aa += Double(x) * Double(x)
            bb += Double(y) * Double(y)
        }
        return aa > 0 && bb > 0 ? dot / (aa * bb).squareRoot() : 0
    }

    static func printHeader() {
        print(pad("patterns", 10) + pad("beta", 7) + modes.map { pad($0.name, 14) }.joined())
    }

    static func printRow(size: Int, beta: Double, cells: [String]) {
        print(pad("\(size)", 10) + pad(format(beta), 7) + cells.map { pad($0, 14) }.joined())
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : "\(value)"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// The UCI handwritten digits of `data/digits.csv`, scaled from 0...16 to 0...1.
struct Digits {
    /// The repository, found from this source file so the suite runs from any folder.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Row-major, 64 values per image.
    let pixels: [Float]
    let labels: [Int]
    var count: Int { labels.count }

    static func load() throws -> Digits {
        let url = repositoryRoot.appendingPathComponent("data/digits.csv")
        let text = try String(contentsOf: url, encoding: .utf8)
        var pixels: [Float] = []
        var labels: [Int] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ",")
            guard fields.count == 65, let label = Int(fields[64]) else {
                throw BenchError("data/digits.csv: a row without 64 pixels and a label")
            }
            pixels += fields[0..<64].map { Float($0)! / 16 }
            labels.append(label)
        }
        return Digits(pixels: pixels, labels: labels)
    }

    func image(_ index: Int) -> ArraySlice<Float> {
        pixels[(index * 64)..<((index + 1) * 64)]
    }

    /// Image `index` with its lower half (rows 4 to 7 of the 8x8 picture) unknown.
    func halfMasked(_ index: Int) -> Query {
        let known = (0..<64).map { $0 < 32 }
        let values = zip(image(index), known).map { value, isKnown in isKnown ? value : 0 }
        return Query(values: values, known: known)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
