import Foundation
import Glibc
import Testing

@testable import EngramServer

@Suite struct ConfigurationTests {
    func parse(
        _ arguments: [String], _ environment: [String: String] = [:]
    ) throws
        -> ServerConfiguration
    {
        guard
            case .run(let configuration) = try ServerConfiguration.parse(
                arguments: arguments, environment: environment)
        else {
            Issue.record("expected a run invocation")
            return ServerConfiguration.defaults(environment: environment)
        }
        return configuration
    }

    @Test func queryWorkersLeaveACoreToTheEventLoops() {
        #expect(QueryPool.defaultWorkers(cores: 1) == 1)
        #expect(QueryPool.defaultWorkers(cores: 2) == 1)
        #expect(QueryPool.defaultWorkers(cores: 8) == 7)
        #expect(EventLoops.defaultCount(cores: 1) == 1)
        #expect(EventLoops.defaultCount(cores: 2) == 1)
        #expect(EventLoops.defaultCount(cores: 6) == 3)
        #expect(EventLoops.defaultCount(cores: 64) == 4)
    }

    @Test func defaultsRunFromTheCurrentFolder() throws {
        let configuration = try parse([])
        #expect(configuration.stateDirectory == "engram-state")
        #expect(configuration.socketPath == "engram-state/engramd.sock")
        #expect(configuration.sync == .full)
        #expect(configuration.logLevel == .info)
        #expect(configuration.socketMode == 0o660)
        #expect(configuration.roles.role(for: PeerCredentials(pid: 1, uid: 0, gid: 0)) == .admin)
        let me = PeerCredentials(pid: 1, uid: getuid(), gid: getgid())
        #expect(configuration.roles.role(for: me) == .admin)
    }

    @Test func systemdDirectoriesSetTheDefaults() throws {
        let environment = [
            "STATE_DIRECTORY": "/var/lib/engramd:/var/lib/other",
            "RUNTIME_DIRECTORY": "/run/engramd",
        ]
        let configuration = try parse([], environment)
        #expect(configuration.stateDirectory == "/var/lib/engramd")
        #expect(configuration.socketPath == "/run/engramd/engramd.sock")
    }

    @Test func socketFollowsTheStateDirectoryUnlessSet() throws {
        #expect(try parse(["--state-dir", "/tmp/x"]).socketPath == "/tmp/x/engramd.sock")
        let both = try parse(["--state-dir=/tmp/x", "--socket", "/tmp/s.sock"])
        #expect(both.socketPath == "/tmp/s.sock")
    }

    @Test func flagsOverrideTheConfigFile() throws {
        let path = "/tmp/engram-config-\(getpid()).conf"
        let text = """
            # a comment
            state-dir = /tmp/from-file
            log-level = debug
            map-size = 64M
            sync = no-meta-sync
              reader-gids = 0, 1
            admin-uids =
            """
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        defer { unlink(path) }
        let configuration = try parse(["--config", path, "--log-level", "error"])
        #expect(configuration.configFile == path)
        #expect(configuration.stateDirectory == "/tmp/from-file")
        #expect(configuration.logLevel == .error)
        #expect(configuration.mapSize == 64 << 20)
        #expect(configuration.sync == .noMetaSync)
        #expect(configuration.roles.readerGIDs == IDSet(ids: [0, 1]))
        #expect(configuration.roles.adminUIDs == IDSet())
    }

    @Test func wireLimitsAreSettings() throws {
        let configuration = try parse([
            "--max-inline-bytes", "4K", "--max-bulk-bytes=1M", "--max-arguments", "100",
            "--max-request-bytes", "2M", "--max-reply-bytes", "8M", "--max-pending-bytes", "16M",
        ])
        #expect(configuration.wireLimits.maxInlineLength == 4 << 10)
        #expect(configuration.wireLimits.maxBulkLength == 1 << 20)
        #expect(configuration.wireLimits.maxArguments == 100)
        #expect(configuration.wireLimits.maxRequestBytes == 2 << 20)
        #expect(configuration.wireLimits.maxReplyBytes == 8 << 20)
        #expect(configuration.maxPendingBytes == 16 << 20)
        #expect(try parse([]).wireLimits == .default)
        #expect(try parse(["--event-loops", "2"]).eventLoops == 2)
        #expect(try parse([]).eventLoops == 0)
        let bad = [
            ["--max-arguments", "1"], ["--max-bulk-bytes", "0"], ["--max-reply-bytes", "x"],
        ]
        for arguments in bad {
            #expect(throws: ConfigurationError.self) { try parse(arguments) }
        }
    }

    /// The shipped config file documents settings as `key = value` lines, most of them
    /// commented out: each of them, as given, must be a setting the daemon accepts.
    @Test func everySettingInTheShippedConfigFileParses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(
            contentsOf: root.appendingPathComponent("deploy/engramd.conf"), encoding: .utf8)
        let keyCharacters = Set("abcdefghijklmnopqrstuvwxyz-")
        var settings = 0
        for line in text.split(separator: "\n") {
            var body = line.trimmingCharacters(in: .whitespaces)
            if body.hasPrefix("# ") { body.removeFirst(2) }
            guard let equals = body.firstIndex(of: "=") else { continue }
            let key = body[..<equals].trimmingCharacters(in: .whitespaces)
            let value = body[body.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            // Prose with an "=" in it, and placeholders such as <the daemon's group>.
            guard !key.isEmpty, key.allSatisfy(keyCharacters.contains), !value.hasPrefix("<")
            else { continue }
            // The shipped file names the group `engram`, which exists where it is installed.
            let resolvable = value == "engram" ? "0" : value
            #expect(throws: Never.self, "\(key) = \(value)") {
                _ = try parse(["--\(key)", resolvable])
            }
            settings += 1
        }
        #expect(settings >= 15, "found \(settings) settings in deploy/engramd.conf")
    }

    @Test func outOfRangeCountsSayTheRange() {
        let cases: [([String], String)] = [
            (["--max-arguments", "1"], "--max-arguments: '1' is outside 2...1073741824"),
            (["--max-connections", "0"], "--max-connections: '0' is outside 1...100000"),
            (
                ["--max-arguments", "many"],
                "--max-arguments: 'many' is not a whole number; give one in 2...1073741824"
            ),
        ]
        for (arguments, message) in cases {
            #expect(throws: ConfigurationError(message)) { try parse(arguments) }
        }
    }

    /// Byte limits too small to serve anything are refused at start, naming the minimum;
    /// the minimum itself is accepted.
    @Test(arguments: [
        ("max-inline-bytes", "1K", 1 << 10), ("max-bulk-bytes", "1K", 1 << 10),
        ("max-request-bytes", "1K", 1 << 10), ("max-reply-bytes", "64K", 64 << 10),
        ("max-pending-bytes", "1M", 1 << 20),
    ])
    func byteLimitsHaveMinimums(key: String, minimum: String, bytes: Int) throws {
        let below = String(bytes - 1)
        #expect(
            throws: ConfigurationError(
                "--\(key): '\(below)' is under the minimum of \(minimum) (\(bytes) bytes)")
        ) { try parse(["--\(key)", below]) }
        #expect(throws: ConfigurationError.self) { try parse(["--\(key)", "8"]) }
        let configuration = try parse(["--\(key)", minimum])
        let limits = configuration.wireLimits
        let values = [
            "max-inline-bytes": limits.maxInlineLength, "max-bulk-bytes": limits.maxBulkLength,
            "max-request-bytes": limits.maxRequestBytes, "max-reply-bytes": limits.maxReplyBytes,
            "max-pending-bytes": configuration.maxPendingBytes,
        ]
        #expect(values[key] == bytes)
    }

    @Test func sizesTakeBinaryUnits() throws {
        #expect(try ServerConfiguration.parseSize("4096") == 4096)
        #expect(try ServerConfiguration.parseSize("64k") == 64 << 10)
        #expect(try ServerConfiguration.parseSize("1G") == 1 << 30)
        #expect(try ServerConfiguration.parseSize("2GiB") == 2 << 30)
        #expect(try ServerConfiguration.parseSize("1TB") == 1 << 40)
        for bad in ["", "G", "-1G", "1.5G", "1X", "99999999999999999999T"] {
            #expect(throws: ConfigurationError.self) { try ServerConfiguration.parseSize(bad) }
        }
    }

    @Test func badInputNamesTheCulprit() throws {
        let cases: [([String], String)] = [
            (["--sync", "sometimes"], "--sync"),
            (["--log-level"], "needs a value"),
            (["--no-such-flag", "1"], "unknown setting"),
            (["--socket-mode", "0999"], "octal"),
            (["--max-connections", "0"], "--max-connections"),
            (["--reader-uids", "no-such-user-here"], "no user"),
            (["stray"], "unexpected argument"),
        ]
        for (arguments, expected) in cases {
            do {
                _ = try ServerConfiguration.parse(arguments: arguments, environment: [:])
                Issue.record("\(arguments) was accepted")
            } catch {
                #expect(error.message.contains(expected), "\(arguments): \(error.message)")
            }
        }
    }

    @Test func configFileErrorsCarryTheLineNumber() throws {
        #expect(throws: ConfigurationError.self) {
            _ = try ServerConfiguration.parseConfigText("sync = full\nnot a setting\n", name: "f")
        }
        do {
            _ = try ServerConfiguration.parseConfigText("# ok\n\nbroken line", name: "f")
        } catch {
            #expect(error.message == "f:3: expected 'key = value'")
        }
    }

    @Test func helpListsEveryKey() throws {
        #expect(try ServerConfiguration.parse(arguments: ["--help"], environment: [:]) == .help)
        for (key, _) in ServerConfiguration.keys {
            #expect(ServerConfiguration.helpText.contains("--\(key) "))
        }
    }
}

@Suite struct RoleTests {
    @Test func highestMatchingRoleWins() {
        var policy = RolePolicy(adminUIDs: IDSet(ids: [10]))
        policy.writerGIDs = IDSet(ids: [200])
        policy.readerUIDs = IDSet(everyone: true)
        #expect(policy.role(for: PeerCredentials(pid: 1, uid: 10, gid: 200)) == .admin)
        #expect(policy.role(for: PeerCredentials(pid: 1, uid: 11, gid: 200)) == .write)
        let supplementary = PeerCredentials(pid: 1, uid: 12, gid: 5, groups: [7, 200])
        #expect(policy.role(for: supplementary) == .write)
        #expect(policy.role(for: PeerCredentials(pid: 1, uid: 13, gid: 5)) == .read)
    }

    @Test func strangersHaveNoRoleByDefault() {
        let policy = RolePolicy.defaultPolicy(daemonUID: 1000)
        #expect(policy.role(for: PeerCredentials(pid: 1, uid: 1001, gid: 1000)) == nil)
        #expect(policy.role(for: PeerCredentials(pid: 1, uid: 1000, gid: 1000)) == .admin)
    }
}
