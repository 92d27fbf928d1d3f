// The server benchmark suite of `make bench`: the built engramd against a redis-server
// started in the same run, both on Unix sockets in a temporary directory, driven by
// redis-benchmark. The bench target does not link EngramServer: it runs the binaries.

import EngramWire
import Foundation
import Glibc

/// The server benchmark suite of `make bench`.
enum ServerBench {
    /// Targets from the brief: PING at least 0.8× redis-server, 20,000 completions/s.
    static let pingTarget = 0.8
    static let completionTarget = 20_000.0

    static func run(_ arguments: [String]) throws {
        guard let benchmark = which("redis-benchmark"), let redis = which("redis-server") else {
            print(
                "server: redis-benchmark or redis-server missing (apt install redis-tools "
                    + "redis-server); skipped")
            return
        }
        let engramd = siblingBinary("engramd")
        guard FileManager.default.isExecutableFile(atPath: engramd) else {
            print("server: \(engramd) not built; run `swift build -c release` first")
            return
        }
        var template = Array(("/tmp/egb-" + String(repeating: "X", count: 6)).utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        defer { try? FileManager.default.removeItem(atPath: root) }
        print("engramd: \(engramd)\nredis-server: \(redis)\ntemporary directory: \(root)")
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?"
        print(
            "load average \(load.split(separator: " ").prefix(3).joined(separator: " ")) on "
                + "\(sysconf(Int32(_SC_NPROCESSORS_ONLN))) CPUs (absolute rates depend on it; the "
                + "ratios less)")

        let redisSocket = root + "/redis.sock"
        let redisServer = try start(
            redis,
            [
                "--port", "0", "--unixsocket", redisSocket, "--save", "", "--appendonly", "no",
                "--dir", root,
            ])
        defer { stop(redisServer) }
        let engramSocket = root + "/engramd.sock"
        let daemon = try start(
            engramd,
            [
                "--state-dir", root + "/state", "--socket", engramSocket, "--log-level", "warning",
                "--sync", "full",
            ])
        defer { stop(daemon) }
        try waitForSocket(redisSocket)
        try waitForSocket(engramSocket)

        let requests = 200_000
        let clients = 50
        print(
            "\nPING, \(clients) clients, \(requests) requests a run, median of 3 interleaved "
                + "runs (requests/s):")
        print(
            pad("test", 14) + pad("redis-server", 15) + pad("engramd", 12) + "ratio (target "
                + "≥ \(pingTarget))")
        for test in ["PING_INLINE", "PING_MBULK"] {
            let kind = test == "PING_INLINE" ? "ping_inline" : "ping_mbulk"
            // Interleaved runs, median of three each: the machine's load drifts between runs.
            var baselines: [Double] = []
            var ourRuns: [Double] = []
            for _ in 0..<3 {
                baselines.append(
                    try measure(benchmark, redisSocket, clients, requests, ["-t", kind]))
                ourRuns.append(
                    try measure(benchmark, engramSocket, clients, requests, ["-t", kind]))
            }
            let baseline = baselines.sorted()[1]
            let ours = ourRuns.sorted()[1]
            let ratio = ours / baseline
            print(
                pad(test, 14) + pad(format(baseline), 15) + pad(format(ours), 12)
                    + String(format: "%.2f", ratio) + (ratio >= pingTarget ? "  ok" : "  BELOW"))
        }

        let rows = 10_000
        let dimension = 64
        let query = try fillBank(engramSocket, rows: rows, dimension: dimension)
        let completions = 100_000
        // One warm-up run first (the daemon's first thousands of queries grow its buffers and
        // threads), then the median of three: the machine's load drifts between runs.
        _ = try measure(
            benchmark, engramSocket, clients, completions / 5, ["COMPLETE", "bench", query])
        let runs = try (0..<3).map { _ in
            try measure(
                benchmark, engramSocket, clients, completions, ["COMPLETE", "bench", query])
        }
        let rate = runs.sorted()[1]
        print(
            "\nCOMPLETE on a \(rows) × \(dimension) bank (sparsemax, β 1), \(clients) clients, "
                + "\(completions) requests, median of 3 runs after a warm-up ("
                + runs.map(format).joined(separator: ", ") + "):")
        print(
            pad("completions/s", 16) + pad(format(rate), 12) + "ratio to the target "
                + "\(format(completionTarget)): " + String(format: "%.2f", rate / completionTarget)
                + (rate >= completionTarget ? "  ok" : "  BELOW"))
        let pipelined = try measure(
            benchmark, engramSocket, clients, completions, ["-P", "16", "COMPLETE", "bench", query])
        print(pad("pipelined 16", 16) + pad(format(pipelined), 12) + "completions/s")
    }

    // MARK: - Processes

    private static func start(_ path: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        var environment = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC"] {
            environment.removeValue(forKey: key)
        }
        process.environment = environment
        try process.run()
        return process
    }

    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    /// Requests per second from `redis-benchmark -q` (the last figure when it prints several).
    private static func measure(
        _ benchmark: String, _ socket: String, _ clients: Int, _ requests: Int,
        _ extra: [String]
    ) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: benchmark)
        process.arguments = ["-s", socket, "-c", "\(clients)", "-n", "\(requests)", "-q"] + extra
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        // "PING_INLINE: 123456.79 requests per second, p50=0.199 msec" (after \r progress).
        let figures = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).compactMap {
            line -> Double? in
            guard let range = line.range(of: " requests per second") else { return nil }
            return Double(line[..<range.lowerBound].split(separator: " ").last ?? "")
        }
        guard let rate = figures.last else {
            throw BenchError(message: "no rate in redis-benchmark output: \(text.suffix(300))")
        }
        return rate
    }

    // MARK: - The bank

    /// Creates `bench` with `rows` random patterns (MSTORE in BIN batches) and returns a
    /// noisy copy of one of them as a text query.
    private static func fillBank(_ socket: String, rows: Int, dimension: Int) throws -> String {
        let connection = try Connection(path: socket)
        try connection.expectOK(["BANK.CREATE", "bench", "DIM", "\(dimension)"])
        var generator = SystemRandomNumberGenerator()
        var first: [Float] = []
        let batch = 1000
        for start in stride(from: 0, to: rows, by: batch) {
            let count = min(batch, rows - start)
            var values: [Float] = []
            values.reserveCapacity(count * dimension)
            for _ in 0..<(count * dimension) {
                values.append(Float.random(in: -1...1, using: &generator))
            }
            if first.isEmpty { first = Array(values.prefix(dimension)) }
            let bytes = values.withUnsafeBytes { Array($0) }  // little-endian on this host
            try connection.expectReply(
                [
                    Array("MSTORE".utf8), Array("bench".utf8), Array("\(count)".utf8),
                    Array("BIN".utf8), bytes,
                ])
        }
        let noisy = first.map { $0 + Float.random(in: -0.05...0.05, using: &generator) }
        return noisy.map { String($0) }.joined(separator: ",")
    }

    /// A minimal blocking RESP client for loading the bank.
    private final class Connection {
        let fd: Int32

        init(path: String) throws {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard result == 0 else { throw BenchError(message: "cannot connect to \(path)") }
        }

        deinit { close(fd) }

        func expectOK(_ arguments: [String]) throws {
            try expectReply(arguments.map { Array($0.utf8) })
        }

        func expectReply(_ arguments: [[UInt8]]) throws {
            var request = RequestEncoder.encode(arguments)
            let sent = request.withUnsafeMutableBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent == request.count else { throw BenchError(message: "short send") }
            var decoder = ReplyDecoder()
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                if let reply = try decoder.next() {
                    if case .error(let code, let message) = reply {
                        throw BenchError(message: "\(code) \(message)")
                    }
                    return
                }
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                guard count > 0 else { throw BenchError(message: "connection closed") }
                decoder.feed(chunk[0..<count])
            }
        }
    }

    // MARK: - Helpers

    private struct BenchError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    private static func waitForSocket(_ path: String) throws {
        for _ in 0..<500 {
            if (try? Connection(path: path)) != nil { return }
            usleep(20_000)
        }
        throw BenchError(message: "nothing listens on \(path)")
    }

    private static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/sbin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// A binary built next to this one (`.build/release/engramd`).
    private static func siblingBinary(_ name: String) -> String {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent(name).path
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private static func format(_ value: Double) -> String {
        let rounded = Int(value.rounded())
        var digits = String(rounded)
        var index = digits.count - 3
        while index > 0 {
            digits.insert(",", at: digits.index(digits.startIndex, offsetBy: index))
            index -= 3
        }
        return digits
    }
}
