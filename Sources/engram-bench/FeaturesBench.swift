// Feature evaluation throughput: the default program on a synthetic 8-channel CSV, from
// parsed rows (evaluation only) and from the file (parse + evaluation), against the target
// of 20 million feature values per second on one core.

import EngramFeatures
import Foundation

/// The features benchmark suite of `make bench`.
enum FeaturesBench {
    static let rows = 1_000_000
    static let channels = 8
    static let target = 20e6

    static func run(_ arguments: [String]) throws {
        let rows =
            Int(ProcessInfo.processInfo.environment["ENGRAM_BENCH_FEATURE_ROWS"] ?? "")
            ?? Self.rows
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("engram-features-bench-\(getpid()).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        let generated = time { try? writeSyntheticCSV(to: url, rows: rows) }
        let bytes = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0

        let header = try CSVReader(path: url.path).header
        let spec = try FeatureSpec(
            program: .default, header: header, timeColumn: "t", targets: ["c0"], horizon: 1)
        let features = try spec.compiledFeatures()
        print(
            "default program: \(features.count) features on \(channels) channels, "
                + "\(rows) rows, CSV \(bytes / 1_000_000) MB (written in \(format(generated)) s)")

        let (parsed, parseOnly) = try parseColumns(
            url.path,
            inputs: FeatureEvaluator(
                features: features
            ).inputs)
        let evaluation = evaluateOnly(features, parsed, rows: rows)
        let baselineRows = min(rows, 100_000)
        let baseline = directRecompute(features, parsed, rows: baselineRows)
        let endToEnd = try parseAndEvaluate(url.path, features)
        let patterns = try buildPatterns(url.path, spec)

        let values = Double(rows * features.count)
        print("")
        print(
            pad("stage (thread CPU time)", 34) + pad("seconds", 10) + pad("rows/s", 14)
                + pad("values/s", 14)
                + "vs 20M/s")
        func line(_ name: String, _ seconds: Double, values: Double?) {
            let perSecond = values.map { $0 / seconds }
            print(
                pad(name, 34) + pad(format(seconds), 10)
                    + pad(String(format: "%.3g", Double(rows) / seconds), 14)
                    + pad(perSecond.map { String(format: "%.3g", $0) } ?? "-", 14)
                    + (perSecond.map { String(format: "%.2fx", $0 / target) } ?? "-"))
        }
        line("CSV parse only (9 columns)", parseOnly, values: nil)
        let baselineValues = Double(baselineRows * features.count)
        line(
            "baseline: direct O(k) recompute", baseline * Double(rows) / Double(baselineRows),
            values: values)
        line("evaluation only (parsed rows)", evaluation, values: values)
        line("CSV parse + evaluation", endToEnd, values: values)
        line("PatternBuilder (+ pattern arrays)", patterns, values: values)
        print(
            "streaming evaluation vs direct recompute: "
                + String(format: "%.1fx", baseline / baselineValues / (evaluation / values))
                + " (baseline timed on \(baselineRows) rows, scaled)")
    }

    // MARK: - Stages

    /// Reads the input columns into one row-major array; returns it and the time taken.
    static func parseColumns(_ path: String, inputs: [String]) throws -> ([Double], Double) {
        let reader = try CSVReader(path: path)
        let columns = inputs.map { reader.column(named: $0)! }
        var parsed: [Double] = []
        parsed.reserveCapacity(rows * columns.count)
        let seconds = try time {
            while try reader.next() {
                for column in columns { parsed.append(try reader.number(column)) }
            }
        }
        return (parsed, seconds)
    }

    static func evaluateOnly(_ features: [Feature], _ parsed: [Double], rows: Int) -> Double {
        let evaluator = FeatureEvaluator(features: features)
        let width = evaluator.inputs.count
        var output = [Double](repeating: 0, count: features.count)
        var complete = 0
        let seconds = time {
            parsed.withUnsafeBufferPointer { all in
                output.withUnsafeMutableBufferPointer { out in
                    for row in 0..<rows {
                        let input = UnsafeBufferPointer(
                            rebasing: all[row * width..<(row + 1) * width])
                        if evaluator.evaluate(input, into: out) { complete += 1 }
                    }
                }
            }
        }
        precondition(complete == rows - evaluator.lookback, "every row after warm-up is complete")
        return seconds
    }

    /// The baseline: every feature recomputed from its definition at every row, windows by
    /// a direct O(k) pass (two-pass std), as a non-streaming implementation would.
    static func directRecompute(_ features: [Feature], _ parsed: [Double], rows: Int) -> Double {
        let inputs = FeatureEvaluator(features: features).inputs
        let width = inputs.count
        let lookback = features.map(\.lookback).max() ?? 0
        var checksum = 0.0
        let seconds = time {
            for t in lookback..<rows {
                for feature in features {
                    checksum += direct(
                        feature.expression, order: feature.order, t: t, parsed, width, inputs)
                }
            }
        }
        precondition(!checksum.isNaN)
        return seconds
    }

    static func direct(
        _ expression: FeatureExpr, order: Int, t: Int, _ parsed: [Double], _ width: Int,
        _ inputs: [String]
    ) -> Double {
        switch expression {
        case .channel(let name):
            let column = inputs.firstIndex(of: name)!
            let x = { (row: Int) in parsed[row * width + column] }
            switch order {
            case 0: return x(t)
            case 1: return x(t) - x(t - 1)
            default: return x(t) - 2 * x(t - 1) + x(t - 2)
            }
        case .lag(let s, let k):
            return direct(s, order: order, t: t - k, parsed, width, inputs)
        case .diff(let s, let k):
            return direct(s, order: order, t: t, parsed, width, inputs)
                - direct(s, order: order, t: t - k, parsed, width, inputs)
        case .sub(let a, let b):
            return direct(a, order: order, t: t, parsed, width, inputs)
                - direct(b, order: order, t: t, parsed, width, inputs)
        case .win(let s, let k, let function):
            var window = [Double](repeating: 0, count: k)
            for j in 0..<k {
                window[j] = direct(s, order: order, t: t - k + 1 + j, parsed, width, inputs)
            }
            let sum = window.reduce(0, +)
            switch function {
            case .sum: return sum
            case .mean: return sum / Double(k)
            case .max: return window.max()!
            case .min: return window.min()!
            case .std:
                let mean = sum / Double(k)
                let squares = window.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
                return (squares / Double(k - 1)).squareRoot()
            }
        }
    }

    static func parseAndEvaluate(_ path: String, _ features: [Feature]) throws -> Double {
        let reader = try CSVReader(path: path)
        let evaluator = FeatureEvaluator(features: features)
        let columns = evaluator.inputs.map { reader.column(named: $0)! }
        var input = [Double](repeating: 0, count: columns.count)
        var output = [Double](repeating: 0, count: features.count)
        return try time {
            while try reader.next() {
                for (i, column) in columns.enumerated() { input[i] = try reader.number(column) }
                evaluator.evaluate(input, into: &output)
            }
        }
    }

    static func buildPatterns(_ path: String, _ spec: FeatureSpec) throws -> Double {
        let builder = try PatternBuilder(csvPath: path, spec: spec)
        var checksum = 0.0
        let seconds = try time {
            while let pattern = try builder.next() { checksum += pattern.values[0] }
        }
        precondition(checksum.isFinite && builder.counts.patterns > 0)
        return seconds
    }

    // MARK: - Synthetic data

    /// Random walks with 4 decimals, a time column `t` and channels c0 … c7.
    static func writeSyntheticCSV(to url: URL, rows: Int) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var state: UInt64 = 0x1234_5678
        var levels = [Int64](repeating: 1_000_000, count: channels)
        var chunk: [UInt8] = Array(
            ("t," + (0..<channels).map { "c\($0)" }.joined(separator: ",")
                + "\n").utf8)
        for row in 0..<rows {
            appendInteger(Int64(row), to: &chunk)
            for c in 0..<channels {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                levels[c] += Int64((state >> 33) % 2001) - 1000
                chunk.append(UInt8(ascii: ","))
                appendFixed4(levels[c], to: &chunk)
            }
            chunk.append(UInt8(ascii: "\n"))
            if chunk.count > 1 << 20 {
                handle.write(Data(chunk))
                chunk.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(chunk))
    }

    /// `value / 10000` with exactly 4 decimals.
    static func appendFixed4(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        appendInteger(Int64(magnitude / 10_000), to: &bytes)
        bytes.append(UInt8(ascii: "."))
        let fraction = magnitude % 10_000
        for divisor: UInt64 in [1000, 100, 10, 1] {
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
        }
    }

    static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        var digits: [UInt8] = []
        var rest = value
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        bytes += digits.reversed()
    }

    // MARK: - Helpers

    /// CPU time of this thread, in seconds: the machine is shared, so wall time would
    /// measure the neighbours' load; the target is per core.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = threadCPUSeconds()
        try body()
        return threadCPUSeconds() - start
    }

    static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func format(_ seconds: Double) -> String { String(format: "%.3f", seconds) }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
