import Foundation
import Glibc
import Testing

/// A stand-in for the service manager's notification socket.
final class FakeNotifySocket {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let result = withUnixAddress(path) { bind(fd, $0, $1) }
        guard result == 0 else { throw HarnessError(description: "bind \(path): \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// The datagrams received within `seconds`, or until `stop` matches one.
    func receive(seconds: Double, until stop: (String) -> Bool = { _ in false }) -> [String] {
        var messages: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            let message = String(decoding: buffer[0..<count], as: UTF8.self)
            messages.append(message)
            if stop(message) { break }
        }
        return messages
    }
}

/// systemd integration without systemd: notify, watchdog, socket activation, roles, signals.
@Suite struct SystemdTests {
    @Test func notifiesReadyStatusWatchdogAndStoppingInOrder() throws {
        let directory = makeTemporaryDirectory()
        let notify = try FakeNotifySocket(path: directory + "/notify")
        let daemon = try DaemonProcess(
            directory: directory,
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        var messages = notify.receive(seconds: 3) { _ in false }
        #expect(daemon.stop() == 0)
        messages += notify.receive(seconds: 2) { $0.contains("STOPPING=1") }
        let ready = messages.firstIndex { $0.split(separator: "\n").contains("READY=1") }
        let watchdog = messages.firstIndex { $0 == "WATCHDOG=1" }
        let stopping = messages.firstIndex { $0.split(separator: "\n").contains("STOPPING=1") }
        let status = messages.first { $0.hasPrefix("READY=1") }
        #expect(ready != nil && watchdog != nil && stopping != nil, "\(messages)")
        if let ready, let watchdog, let stopping {
            #expect(ready < watchdog && watchdog < stopping, "\(messages)")
        }
        #expect(status?.contains("STATUS=serving 0 banks") == true, "\(messages)")
        // Keep-alives come at about half the watchdog interval: 200 ms over 3 s.
        let keepAlives = messages.filter { $0 == "WATCHDOG=1" }.count
        #expect(keepAlives >= 8 && keepAlives <= 30, "\(keepAlives) keep-alives")
    }

    @Test func servesAPassedListeningSocketAndNeverUnlinksIt() throws {
        let directory = makeTemporaryDirectory()
        let passed = directory + "/activated.sock"
        let daemon = try DaemonProcess(
            directory: directory,
            launcher: ["/usr/bin/env", "python3", clientsDirectory + "/activate.py", passed],
            waitForSocket: false)
        try daemon.waitUntilConnectable(passed)
        let client = try RawClient(path: passed)
        #expect(try client.inline("PING") == .status("PONG"))
        #expect(access(daemon.socketPath, F_OK) != 0, "the daemon bound its own socket too")
        client.close()
        #expect(daemon.stop() == 0)
        #expect(access(passed, F_OK) == 0, "the activated socket was unlinked")
    }

    @Test func aListenPIDOfAnotherProcessMeansNoSockets() throws {
        let directory = makeTemporaryDirectory()
        let passed = directory + "/activated.sock"
        let daemon = try DaemonProcess(
            directory: directory,
            launcher: [
                "/usr/bin/env", "python3", clientsDirectory + "/activate.py", "--wrong-pid", passed,
            ])
        #expect(try daemon.client().inline("PING") == .status("PONG"))
        #expect(daemon.stop() == 0)
        #expect(daemon.logText().contains("listening socket=\(daemon.socketPath)"))
    }

    @Test func aReaderMayQueryButNotStoreOrCreate() throws {
        let directory = makeTemporaryDirectory()
        let admin = try DaemonProcess(directory: directory)
        admin.removesDirectory = false
        let setup = try admin.client()
        #expect(try setup.call("BANK.CREATE", "r", "DIM", "2") == .status("OK"))
        #expect(try setup.call("STORE", "r", "1,0") == .integer(1))
        #expect(admin.stop() == 0)

        let me = "\(getuid())"
        let reader = try DaemonProcess(
            directory: directory, arguments: ["--admin-uids", "", "--reader-uids", me])
        let client = try reader.client()
        #expect(try client.call("STORE", "r", "0,1").errorCode == "PERM")
        #expect(try client.call("BANK.CREATE", "s", "DIM", "2").errorCode == "PERM")
        #expect(try client.call("BANK.DROP", "r", "CONFIRM").errorCode == "PERM")
        #expect(try client.call("COMPLETE", "r", "1,?")["pattern"]?.text == "1,0")
        #expect(try client.call("BANK.INFO", "r")["count"] == .integer(1))
        #expect(reader.stop() == 0)
    }

    @Test func aPeerWithoutARoleIsRefusedAtConnect() throws {
        let daemon = try DaemonProcess(arguments: ["--admin-uids", "4000000"])
        let client = try daemon.client()
        #expect(try client.reply().errorCode == "PERM")
        #expect(client.isClosedByPeer())
        #expect(daemon.stop() == 0)
    }

    @Test func idleConnectionsGetShutdownWhenTheDaemonStops() throws {
        let daemon = try DaemonProcess()
        let idle = try daemon.client()
        #expect(try idle.inline("PING") == .status("PONG"))
        kill(daemon.pid, SIGTERM)
        #expect(try idle.reply().errorCode == "SHUTDOWN")
        #expect(idle.isClosedByPeer())
        #expect(daemon.waitForExit(seconds: 20) == 0)
    }

    @Test func sigtermFinishesWritesAndExitsZero() throws {
        let directory = makeTemporaryDirectory()
        let first = try DaemonProcess(directory: directory)
        first.removesDirectory = false
        let client = try first.client()
        #expect(try client.call("BANK.CREATE", "t", "DIM", "2") == .status("OK"))
        var pipeline: [UInt8] = []
        for step in 0..<500 { pipeline += RawClient.resp(["STORE", "t", "\(step),1"]) }
        client.send(pipeline)
        #expect(try client.reply() == .integer(1))  // the batch is being served
        kill(first.pid, SIGTERM)
        var acknowledged = 1
        var shutdownSeen = false
        while let reply = try? client.reply() {
            if reply.integer != nil {
                acknowledged += 1
            } else {
                #expect(reply.errorCode == "SHUTDOWN", "\(reply)")
                shutdownSeen = true
                break
            }
        }
        #expect(first.waitForExit(seconds: 20) == 0)
        #expect(acknowledged == 500 || shutdownSeen)
        #expect(first.logText().contains("stopped"))

        let second = try DaemonProcess(directory: directory)
        let count = try second.client().call("BANK.INFO", "t")["count"]?.integer ?? -1
        #expect(count >= acknowledged, "\(acknowledged) acknowledged, \(count) stored")
        #expect(second.stop() == 0)
    }

    /// A second stop signal ends the drain's 10 s grace period: the daemon shuts the busy
    /// connections down, waits its 2 s for them, and exits 0 with the store committed, while a
    /// batch query that alone runs for far longer than the grace period is still computing
    /// (without the second signal it would hold the daemon for the whole grace period).
    @Test func aSecondStopSignalEndsTheGracePeriod() throws {
        let directory = makeTemporaryDirectory()
        let config = directory + "/engramd.conf"
        try "query-timeout-ms = 60000\n".write(toFile: config, atomically: true, encoding: .utf8)
        let first = try DaemonProcess(directory: directory, arguments: ["--config", config])
        first.removesDirectory = false
        let setup = try first.client()
        #expect(try setup.call("BANK.CREATE", "kept", "DIM", "2") == .status("OK"))
        #expect(try setup.call("STORE", "kept", "3,4") == .integer(1))
        try storeSlowBank(setup)
        let busy = try startSlowQueries(first)
        usleep(300_000)  // lets the event loops read the queries before the signals
        kill(first.pid, SIGTERM)
        usleep(500_000)
        #expect(first.process.isRunning, "the drain did not wait for the busy queries")
        let second = Date()
        kill(first.pid, SIGINT)
        for client in busy { #expect(client.isClosedByPeer()) }
        #expect(first.waitForExit(seconds: 30) == 0)
        let seconds = Date().timeIntervalSince(second)
        #expect(seconds < 6, "exited \(seconds) s after the second signal")
        let log = first.logText()
        #expect(log.contains("closing connections still busy after a second stop signal"), "\(log)")
        #expect(log.contains("stopped"), "\(log)")

        let restarted = try DaemonProcess(directory: directory)
        let client = try restarted.client()
        #expect(try client.call("BANK.INFO", "kept")["count"] == .integer(1))
        #expect(try client.call("COMPLETE", "kept", "3,?")["pattern"]?.text == "3,4")
        #expect(restarted.stop() == 0)
    }

    /// A softmax bank of 20,000 random patterns of dimension 64, stored with `MSTORE … BIN`.
    private func storeSlowBank(_ client: RawClient) throws {
        #expect(
            try client.call("BANK.CREATE", "slow", "DIM", "64", "MODE", "softmax")
                == .status("OK"))
        try storeRandomPatterns(client, bank: "slow", rows: 20_000, dimension: 64)
    }

    /// Clients left waiting on long queries: two single `COMPLETE`s (query pool) and one
    /// `MCOMPLETE` of 512 queries (a handler thread) that runs for much longer than 12 s.
    private func startSlowQueries(_ daemon: DaemonProcess) throws -> [RawClient] {
        var generator = SplitMix(seed: 0x0B05_1E55)
        func query() -> String {
            (0..<64).map { $0 < 32 ? "\(Float(generator.unit()))" : "?" }
                .joined(separator: ",")
        }
        let long = ["STEPS", "3000", "TOL", "0"]
        var clients: [RawClient] = []
        for beta in ["0.5", "2"] {
            let client = try daemon.client()
            client.send(RawClient.resp(["COMPLETE", "slow", query(), "BETA", beta] + long))
            clients.append(client)
        }
        let batch = try daemon.client()
        let queries = (0..<512).map { _ in query() }
        batch.send(RawClient.resp(["MCOMPLETE", "slow", "512"] + queries + long))
        return clients + [batch]
    }
}
