import Foundation
import Glibc
import Testing

/// The built `engramd`, next to the test bundle (`swift build` builds it before `swift test`).
let engramdPath: String = {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = bundle.deletingLastPathComponent()
    if directory.lastPathComponent.hasSuffix(".xctest") {
        directory = directory.deletingLastPathComponent()
    }
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("engramd").path),
        directory.path != "/"
    {
        directory = directory.deletingLastPathComponent()
    }
    return directory.appendingPathComponent("engramd").path
}()

/// A fresh temporary directory with a short path (socket paths are limited to 107 bytes).
func makeTemporaryDirectory() -> String {
    var template = Array(("/tmp/egd-" + String(repeating: "X", count: 6)).utf8CString)
    return String(cString: mkdtemp(&template)!)
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
}

/// One engramd process on a temporary state directory.
final class DaemonProcess: @unchecked Sendable {
    let directory: String
    let socketPath: String
    let process = Process()
    private let stderrPipe = Pipe()
    /// Whether the directory is removed with this object; false to restart on it.
    var removesDirectory = true

    /// Starts engramd with `--state-dir DIR --socket DIR/s.sock` plus `arguments`, and waits
    /// until the socket accepts connections.
    init(
        directory: String? = nil, arguments: [String] = [], environment: [String: String] = [:],
        launcher: [String] = [], waitForSocket: Bool = true
    ) throws {
        self.directory = directory ?? makeTemporaryDirectory()
        self.socketPath = self.directory + "/s.sock"
        let daemonArguments =
            ["--state-dir", self.directory + "/state", "--socket", socketPath] + arguments
        if launcher.isEmpty {
            process.executableURL = URL(fileURLWithPath: engramdPath)
            process.arguments = daemonArguments
        } else {
            process.executableURL = URL(fileURLWithPath: launcher[0])
            process.arguments = Array(launcher.dropFirst()) + [engramdPath] + daemonArguments
        }
        var env = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC", "JOURNAL_STREAM"]
        {
            env.removeValue(forKey: key)
        }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        if waitForSocket { try waitUntilConnectable(socketPath) }
    }

    var pid: Int32 { process.processIdentifier }

    func waitUntilConnectable(_ path: String, seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let client = try? RawClient(path: path) {
                client.close()
                return
            }
            guard process.isRunning else {
                throw HarnessError(description: "engramd exited early: \(logText())")
            }
            usleep(20_000)
        }
        throw HarnessError(description: "engramd did not listen on \(path): \(logText())")
    }

    /// Sends a signal and waits for the exit status (nil after a timeout).
    @discardableResult
    func stop(signal: Int32 = SIGTERM, seconds: Double = 20) -> Int32? {
        kill(pid, signal)
        return waitForExit(seconds: seconds)
    }

    func waitForExit(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        guard !process.isRunning else { return nil }
        return process.terminationStatus
    }

    /// Everything the daemon logged so far (readable once it exited).
    func logText() -> String {
        if process.isRunning { return "(still running)" }
        let data = stderrPipe.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: data, as: UTF8.self)
    }

    /// Resident set size in KiB, from /proc.
    func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ")[1]) ?? 0
        }
        return 0
    }

    func client() throws -> RawClient { try RawClient(path: socketPath) }

    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        if removesDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// Runs a program to completion and returns its exit status and output.
@discardableResult
func runProgram(
    _ path: String, _ arguments: [String], input: String? = nil
) throws -> (
    status: Int32, output: String, error: String
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    let inputPipe = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
    try process.run()
    if let input {
        inputPipe.fileHandleForWriting.write(Data(input.utf8))
        try inputPipe.fileHandleForWriting.close()
    }
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
        process.terminationStatus, String(decoding: outData, as: UTF8.self),
        String(decoding: errData, as: UTF8.self)
    )
}

/// The directory of the helper scripts.
let clientsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("clients").path

/// Random patterns stored with `MSTORE … BIN`, 10,000 per request.
func storeRandomPatterns(
    _ client: RawClient, bank: String, rows: Int, dimension: Int
) throws {
    var generator = SplitMix(seed: 0x7135_B0D6)
    let batch = 10_000
    var first = 0
    while first < rows {
        let count = min(batch, rows - first)
        let values = (0..<(count * dimension)).map { _ in Float(generator.unit()) }
        let bytes = values.withUnsafeBytes { Array($0) }
        var request = Array("*5\r\n".utf8)
        for word in ["MSTORE", bank, "\(count)", "BIN"].map({ Array($0.utf8) }) + [bytes] {
            request += Array("$\(word.count)\r\n".utf8) + word + [13, 10]
        }
        client.send(request)
        #expect(try client.reply() == .array([.integer(first + 1), .integer(first + count)]))
        first += count
    }
}
