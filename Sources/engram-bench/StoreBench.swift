// The store benchmark suite of `make bench`: durable append throughput with group commit,
// the time to open a large bank, and resident memory against the raw pattern bytes.

import Dispatch
import EngramStore
import Foundation
import Synchronization

/// The store benchmark suite of `make bench`.
enum StoreBench {
    static func run(_ arguments: [String]) throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        print("temporary directory: \(root) (removed at the end)")
        // ENGRAM_BENCH_STORE=append or =open runs one part only.
        let only = ProcessInfo.processInfo.environment["ENGRAM_BENCH_STORE"]
        if only != "open" {
            let syncsPerSecond = try measureSyncs(root)
            print(
                "baseline: write+fdatasync of 4 KiB on the same file system: "
                    + "\(format(syncsPerSecond)) syncs/s (one sync per request could give "
                    + "no more)")
            try appendThroughput(root, baseline: syncsPerSecond)
        }
        if only != "append" { try openLargeBank(root) }
    }

    // MARK: - Append throughput

    private static func appendThroughput(_ root: String, baseline: Double) throws {
        print("\ndurable appends, sync full, \(String(format: "%.1f", seconds)) s per row:")
        print(
            pad("writers", 8) + pad("d", 6) + pad("batch", 7) + pad("patterns/s", 13)
                + pad("requests/s", 12) + pad("commits/s", 11) + pad("per commit", 11)
                + "vs 1 sync/request")
        var index = 0
        for dimension in [64, 256] {
            for batch in [1, 1000] {
                for writers in [1, 8, 64] {
                    index += 1
                    let row = try measureAppends(
                        root + "/append-\(index)", dimension: dimension, batch: batch,
                        writers: writers)
                    print(
                        pad("\(writers)", 8) + pad("\(dimension)", 6) + pad("\(batch)", 7)
                            + pad(format(row.patterns), 13) + pad(format(row.requests), 12)
                            + pad(format(row.commits), 11)
                            + pad(String(format: "%.1f", row.requests / row.commits), 11)
                            + String(format: "%.1f×", row.patterns / baseline))
                }
            }
        }
    }

    static let seconds = 1.0

    private struct Throughput {
        var patterns: Double
        var requests: Double
        var commits: Double
    }

    private static func measureAppends(
        _ directory: String, dimension: Int, batch: Int, writers: Int
    ) throws -> Throughput {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store(directory: directory, options: StoreOptions(sync: .full))
        defer { store.close() }
        try store.createBank(BankSpec(name: "bench", dimension: dimension))
        let flat = (0..<batch * dimension).map { Float(($0 * 7919) % 1000) / 1000 }
        let requests = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let before = try store.statistics()
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(seconds * 1e9)
        let group = DispatchGroup()
        for _ in 0..<writers {
            group.enter()
            Thread {
                while DispatchTime.now().uptimeNanoseconds < deadline {
                    do {
                        try store.append(bank: "bench", flat: flat)
                        requests.add(1, ordering: .relaxed)
                    } catch {
                        failures.add(1, ordering: .relaxed)
                        break
                    }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let after = try store.statistics()
        guard failures.load(ordering: .relaxed) == 0 else {
            throw StoreError(.io, "appends failed during the benchmark")
        }
        let done = Double(requests.load(ordering: .relaxed))
        return Throughput(
            patterns: done * Double(batch) / elapsed, requests: done / elapsed,
            commits: Double(after.appendBatches - before.appendBatches) / elapsed)
    }

    /// fdatasync rate of small writes: the cost group commit amortizes.
    private static func measureSyncs(_ root: String) throws -> Double {
        let path = root + "/sync-probe"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw StoreError(.io, "cannot create \(path)") }
        defer {
            close(fd)
            unlink(path)
        }
        let block = [UInt8](repeating: 7, count: 4096)
        let start = DispatchTime.now().uptimeNanoseconds
        var count = 0
        while DispatchTime.now().uptimeNanoseconds - start < 500_000_000 {
            _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(count % 64) * 4096) }
            fdatasync(fd)
            count += 1
        }
        return Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    // MARK: - Opening a large bank

    private static func openLargeBank(_ root: String) throws {
        let rows = 1_000_000
        let dimension = 256
        let directory = root + "/large"
        let rawBytes = rows * dimension * 4
        print("\nopening a bank of \(rows) × \(dimension) (raw \(megabytes(rawBytes))):")
        let buildStart = DispatchTime.now().uptimeNanoseconds
        do {
            let store = try Store(
                directory: directory, options: StoreOptions(initialMapSize: 1 << 30, sync: .none))
            try store.createBank(BankSpec(name: "large", dimension: dimension))
            var flat = [Float](repeating: 0, count: 1000 * dimension)
            for batch in 0..<(rows / 1000) {
                for index in flat.indices { flat[index] = Float((batch + index) % 997) / 997 }
                try store.append(bank: "large", flat: flat)
            }
            try store.sync()
            store.close()
        }
        let buildSeconds = Double(DispatchTime.now().uptimeNanoseconds - buildStart) / 1e9
        print(
            "  built with sync none in \(String(format: "%.2f", buildSeconds)) s "
                + "(\(format(Double(rows) / buildSeconds)) patterns/s), "
                + "data.mdb \(megabytes(fileBytes(directory + "/data.mdb")))")
        let before = residentMemory()
        let openStart = DispatchTime.now().uptimeNanoseconds
        let store = try Store(directory: directory)
        let openSeconds = Double(DispatchTime.now().uptimeNanoseconds - openStart) / 1e9
        let after = residentMemory()
        let snapshot = try store.snapshot(bank: "large")
        let anon = after.anonymous - before.anonymous
        let total = after.total - before.total
        print(
            "  open (page cache warm): \(String(format: "%.2f", openSeconds)) s for "
                + "\(snapshot.rows) patterns (target < 2 s)")
        print(
            "  resident growth: VmRSS +\(megabytes(total)) (\(ratio(total, rawBytes)) of raw), "
                + "RssAnon +\(megabytes(anon)) (\(ratio(anon, rawBytes))), target ≤ 1.20×")
        store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - Helpers

    private static func residentMemory() -> (total: Int, anonymous: Int) {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        else { return (0, 0) }
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) })
            else { return 0 }
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return (field("VmRSS:"), field("RssAnon:"))
    }

    private static func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/engram-bench-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw StoreError(.io, "cannot create a temporary directory in /tmp")
        }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func fileBytes(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private static func format(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }

    private static func megabytes(_ bytes: Int) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }

    private static func ratio(_ part: Int, _ whole: Int) -> String {
        String(format: "%.2f×", Double(part) / Double(whole))
    }
}
