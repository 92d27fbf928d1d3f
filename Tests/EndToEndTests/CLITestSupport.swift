// Support for the CLI end-to-end tests: the built binaries, a real engramd in a scratch state
// directory, and a way to run `engram` and capture what it prints.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Where the built `engram` and `engramd` are: `ENGRAM_BIN_DIR`, else the directory of the
/// test runner (SwiftPM puts products beside it), else `.build/debug` of the package.
enum CLIBinaries {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let directory: String = {
        if let given = ProcessInfo.processInfo.environment["ENGRAM_BIN_DIR"] { return given }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if FileManager.default.isExecutableFile(
            atPath: runner.appendingPathComponent("engram").path)
        {
            return runner.path
        }
        return packageRoot.appendingPathComponent(".build/debug").path
    }()

    static var engram: String { directory + "/engram" }
    /// `ENGRAMD` overrides the daemon's path (to test against another build of it).
    static var engramd: String {
        ProcessInfo.processInfo.environment["ENGRAMD"] ?? directory + "/engramd"
    }

    /// A file of the package, such as `data/digits.csv`.
    static func file(_ relative: String) -> String {
        packageRoot.appendingPathComponent(relative).path
    }
}

/// What one run of `engram` did.
struct CLIResult {
    let code: Int32
    let stdout: String
    let stderr: String

    /// stdout parsed as one JSON document.
    func json() throws -> Any {
        try JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed])
    }

    /// stdout parsed as a JSON object.
    func object(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let value = try json()
        return try #require(
            value as? [String: Any], "not a JSON object: \(stdout)",
            sourceLocation: sourceLocation)
    }
}

/// A scratch directory under /tmp with a short path (socket paths are limited to 107 bytes).
final class CLIScratch {
    let path: String

    init() throws {
        var template = Array("/tmp/ecli-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CLITestError("mkdtemp failed: errno \(errno)")
        }
        path = String(cString: made)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

struct CLITestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs the built `engram` with `arguments`, with `ENGRAM_SOCKET` set to `socket` when given,
/// and returns its exit code and output. Output goes through files, so a large output cannot
/// block the child.
func runEngram(
    _ arguments: [String], socket: String? = nil, environment extra: [String: String] = [:],
    in directory: String? = nil
) throws -> CLIResult {
    let scratch = try CLIScratch()
    let outPath = scratch.path + "/out"
    let errPath = scratch.path + "/err"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: CLIBinaries.engram)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "ENGRAM_SOCKET")
    if let socket { environment["ENGRAM_SOCKET"] = socket }
    environment.merge(extra) { $1 }
    process.environment = environment
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    try process.run()
    process.waitUntilExit()
    return CLIResult(
        code: process.terminationStatus,
        stdout: try String(contentsOfFile: outPath, encoding: .utf8),
        stderr: try String(contentsOfFile: errPath, encoding: .utf8))
}

/// A real engramd serving a fresh state directory on a real socket, stopped with SIGTERM when
/// released.
final class CLIDaemon {
    let scratch: CLIScratch
    let socket: String
    private let process: Process

    init() throws {
        scratch = try CLIScratch()
        socket = scratch.path + "/engramd.sock"
        process = Process()
        process.executableURL = URL(fileURLWithPath: CLIBinaries.engramd)
        process.arguments = [
            "--state-dir", scratch.path + "/state", "--socket", socket, "--log-level", "warning",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(
            forWritingTo: URL(fileURLWithPath: scratch.path + "/engramd.log", isDirectory: false)
                .creatingFile())
        try FileManager.default.createDirectory(
            atPath: scratch.path + "/state", withIntermediateDirectories: true)
        try process.run()
        try waitUntilReady()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// The daemon's log so far, for failure messages.
    var log: String {
        (try? String(contentsOfFile: scratch.path + "/engramd.log", encoding: .utf8)) ?? ""
    }

    /// Runs `engram` against this daemon.
    func engram(_ arguments: [String], in directory: String? = nil) throws -> CLIResult {
        try runEngram(arguments, socket: socket, in: directory)
    }

    /// Waits until the (only) job has stored patterns or `process` has exited; returns the
    /// job's stored pattern count.
    func waitForJobProgress(while process: Process) throws -> Int {
        func rows() throws -> Int {
            let jobs = try engram(["jobs", "--json"])
            return ((try? jobs.json() as? [[String: Any]])?.first?["rows"] as? Int) ?? 0
        }
        for _ in 0..<2000 where process.isRunning {
            let done = try rows()
            if done > 0 { return done }
            usleep(5_000)
        }
        return try rows()
    }

    private func waitUntilReady() throws {
        for _ in 0..<200 {
            if !process.isRunning {
                throw CLITestError("engramd exited with \(process.terminationStatus): \(log)")
            }
            if FileManager.default.fileExists(atPath: socket),
                let ping = try? runEngram(["--quiet", "ping"], socket: socket), ping.code == 0
            {
                return
            }
            usleep(50_000)
        }
        throw CLITestError("engramd did not become ready in 10 s: \(log)")
    }
}

extension URL {
    fileprivate func creatingFile() -> URL {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return self
    }
}

/// Compares text with `Tests/EngramCLITests/Golden/e2e-NAME` (the CLI's golden files live
/// together); `ENGRAM_UPDATE_GOLDEN=1` rewrites it.
func checkGolden(
    _ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    let url = CLIBinaries.packageRoot.appendingPathComponent("Tests/EngramCLITests/Golden")
        .appendingPathComponent("e2e-" + name)
    if ProcessInfo.processInfo.environment["ENGRAM_UPDATE_GOLDEN"] == "1" {
        try? actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        Issue.record("missing golden file \(url.path)", sourceLocation: sourceLocation)
        return
    }
    #expect(actual == expected, "differs from golden \(name)", sourceLocation: sourceLocation)
}
