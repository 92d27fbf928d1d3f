import Glibc
import Synchronization

/// Latency counts in fixed logarithmic buckets: four per power of two of nanoseconds, so a
/// percentile is exact to within 25 % with no allocation and O(1) recording.
struct LatencyHistogram: Sendable {
    static let bucketCount = 256
    private(set) var counts = [UInt64](repeating: 0, count: LatencyHistogram.bucketCount)
    private(set) var total: UInt64 = 0

    static func bucket(nanoseconds value: UInt64) -> Int {
        guard value >= 4 else { return Int(value) }
        let power = 63 - value.leadingZeroBitCount
        let sub = Int((value >> UInt64(power - 2)) & 3)
        return power * 4 + sub
    }

    /// The largest value that falls in `bucket`.
    static func upperBound(of bucket: Int) -> UInt64 {
        guard bucket >= 8 else { return UInt64(bucket) }
        let power = bucket / 4
        let sub = UInt64(bucket % 4)
        let (next, overflow) = ((4 + sub + 1) << UInt64(power - 2)).subtractingReportingOverflow(1)
        return overflow ? .max : next
    }

    mutating func record(nanoseconds: UInt64) {
        counts[Self.bucket(nanoseconds: nanoseconds)] += 1
        total += 1
    }

    mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        total += other.total
    }

    /// The upper bound of the bucket holding the `fraction` quantile, or 0 when empty.
    func quantile(_ fraction: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let rank = max(1, UInt64((Double(total) * fraction).rounded(.up)))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= rank { return Self.upperBound(of: index) }
        }
        return Self.upperBound(of: counts.count - 1)
    }
}

/// Per-command request counts, error counts and latencies of the whole daemon.
///
/// Recording is sharded by connection, so that concurrent connections rarely contend on one
/// lock; a snapshot sums the shards. Thread-safe.
final class RequestCounters: Sendable {
    /// The commands counted separately; anything else is counted as `OTHER`.
    static let names = [
        "PING", "INFO", "BANK.CREATE", "BANK.LIST", "BANK.INFO", "BANK.DROP", "STORE", "MSTORE",
        "GET", "COMPLETE", "MCOMPLETE", "JOBS", "JOB.GET", "JOB.SET", "BACKUP", "STATS", "QUIT",
        "OTHER",
    ]

    struct Entry: Sendable {
        var calls: UInt64 = 0
        var errors: UInt64 = 0
        var latency = LatencyHistogram()
    }

    private final class Shard: Sendable {
        let entries = Mutex([Entry](repeating: Entry(), count: RequestCounters.names.count))
    }

    private static let shardCount = 16
    private let shards: [Shard] = (0..<RequestCounters.shardCount).map { _ in Shard() }

    /// The index of a command word in ``names``; case-insensitive.
    static func index(of word: [UInt8]) -> Int {
        let upper = String(
            decoding: word.prefix(16).map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 32 : $0 },
            as: UTF8.self)
        return names.firstIndex(of: upper) ?? names.count - 1
    }

    func record(command: Int, nanoseconds: UInt64, failed: Bool, shard: Int) {
        shards[shard % Self.shardCount].entries.withLock { entries in
            entries[command].calls += 1
            if failed { entries[command].errors += 1 }
            entries[command].latency.record(nanoseconds: nanoseconds)
        }
    }

    /// The sum over shards, one entry per name in ``names``.
    func snapshot() -> [Entry] {
        var total = [Entry](repeating: Entry(), count: Self.names.count)
        for shard in shards {
            shard.entries.withLock { entries in
                for index in entries.indices {
                    total[index].calls += entries[index].calls
                    total[index].errors += entries[index].errors
                    total[index].latency.merge(entries[index].latency)
                }
            }
        }
        return total
    }
}

/// Nanoseconds on the monotonic clock.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
