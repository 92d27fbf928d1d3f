import Glibc
import Testing

@testable import EngramServer

@Suite struct StatisticsTests {
    @Test func bucketsCoverEveryValueInOrder() {
        var previous = -1
        for value in [0, 1, 2, 3, 4, 5, 7, 8, 100, 1000, 65_535, 1 << 40, UInt64.max] as [UInt64] {
            let bucket = LatencyHistogram.bucket(nanoseconds: value)
            #expect(bucket > previous)
            #expect(bucket < LatencyHistogram.bucketCount)
            #expect(LatencyHistogram.upperBound(of: bucket) >= value)
            previous = bucket
        }
    }

    @Test func quantilesAreWithinAQuarter() {
        var histogram = LatencyHistogram()
        for value in 1...1000 { histogram.record(nanoseconds: UInt64(value) * 1000) }
        let p50 = Double(histogram.quantile(0.5))
        let p99 = Double(histogram.quantile(0.99))
        #expect(p50 >= 500_000 && p50 <= 625_000)
        #expect(p99 >= 990_000 && p99 <= 1_250_000)
        #expect(LatencyHistogram().quantile(0.5) == 0)
    }

    @Test func shardsAddUp() {
        let statistics = RequestCounters()
        let ping = RequestCounters.index(of: Array("ping".utf8))
        let other = RequestCounters.index(of: Array("NOSUCH".utf8))
        #expect(RequestCounters.names[ping] == "PING")
        #expect(RequestCounters.names[other] == "OTHER")
        for shard in 0..<40 {
            statistics.record(
                command: ping, nanoseconds: 1000, failed: shard % 4 == 0, shard: shard)
        }
        let entry = statistics.snapshot()[ping]
        #expect(entry.calls == 40)
        #expect(entry.errors == 10)
        #expect(entry.latency.total == 40)
    }
}

@Suite struct LogTests {
    @Test func oneRecordIsOneLine() {
        let line = Logger.formatLine(
            .warning, "connection closed", [("conn", "7"), ("error", "bad\nthing \"x\"")])
        #expect(line == #"<4>connection closed conn=7 error="bad\nthing \"x\"""#)
        #expect(Logger.formatLine(.debug, "m", [("empty", "")]) == #"<7>m empty="""#)
    }

    @Test func levelsFilter() {
        let log = Logger(level: .notice, sink: .stderr)
        #expect(log.enabled(.error) && log.enabled(.notice))
        #expect(!log.enabled(.info))
        log.level = .debug
        #expect(log.enabled(.debug))
        #expect(LogLevel(name: "WARN") == .warning && LogLevel(name: "loud") == nil)
    }

    @Test func journalOnlyWhenStderrIsTheJournalStream() {
        #expect(Logger.defaultSink(environment: [:]) == .stderr)
        #expect(Logger.defaultSink(environment: ["JOURNAL_STREAM": "1:1"]) == .stderr)
        var status = stat()
        #expect(fstat(2, &status) == 0)
        let stream = "\(status.st_dev):\(status.st_ino)"
        let journald = access("/run/systemd/journal/socket", W_OK) == 0
        #expect(
            Logger.defaultSink(environment: ["JOURNAL_STREAM": stream])
                == (journald ? .journal : .stderr))
    }
}
