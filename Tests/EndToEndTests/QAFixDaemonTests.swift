// Daemon behaviour found by testing against real clients: one daemon per state directory,
// deep pipelines, jobs interrupted by a crash.

import Foundation
import Glibc
import Testing

@Suite struct QAFixDaemonTests {
    @Test func secondDaemonOnTheSameStateDirectoryIsRefused() throws {
        let directory = makeTemporaryDirectory()
        let first = try DaemonProcess(directory: directory)
        first.removesDirectory = false
        #expect(try first.client().call("BANK.CREATE", "d", "DIM", "2") == .status("OK"))

        let second = try DaemonProcess(
            directory: directory, arguments: ["--socket", directory + "/s2.sock"],
            waitForSocket: false)
        second.removesDirectory = false
        let status = second.waitForExit(seconds: 20)
        #expect(status != nil && status != 0, "the second daemon must exit with an error")
        let log = second.logText()
        #expect(log.contains("another process (pid \(first.pid))"), "log: \(log)")
        #expect(try first.client().call("STORE", "d", "1,2").integer == 1)

        #expect(first.stop() == 0)
        let third = try DaemonProcess(directory: directory)
        #expect(try third.client().call("STORE", "d", "3,4").integer == 2)
        #expect(third.stop() == 0)
    }

    @Test func pipelineWrittenBeforeAnyReplyIsReadIsAnswered() throws {
        let daemon = try DaemonProcess()
        let client = try daemon.client()
        #expect(try client.call("BANK.CREATE", "lng", "DIM", "63") == .status("OK"))
        let values = (0..<63).map { "\(Double($0) * 0.123456789)" }.joined(separator: ",")
        #expect(try client.call("STORE", "lng", values).integer == 1)

        let count = 20_000
        var requests: [UInt8] = []
        for _ in 0..<count { requests += RawClient.resp(["GET", "lng", "1"]) }
        // Every request is written before any reply is read, as redis-py's pipeline does.
        let started = Date()
        let written = DispatchSemaphore(value: 0)
        // In chunks with short pauses, so the daemon answers the first ones (and has replies
        // the client does not take) before the rest arrives.
        let sender = Thread { [client, requests] in
            let chunk = requests.count / 100
            for start in stride(from: 0, to: requests.count, by: chunk) {
                guard client.send(Array(requests[start..<min(start + chunk, requests.count)]))
                else { break }
                usleep(2000)
            }
            written.signal()
        }
        sender.start()
        guard written.wait(timeout: .now() + 30) == .success else {
            Issue.record("the daemon stopped reading a client that does not read yet")
            shutdown(client.fd, Int32(SHUT_RDWR))
            written.wait()
            return
        }
        var answered = 0
        while answered < count {
            guard case .array = try client.reply() else {
                Issue.record("reply \(answered) is not a GET reply")
                return
            }
            answered += 1
        }
        #expect(answered == count)
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(try client.call("PING") == .status("PONG"))
        #expect(daemon.stop() == 0)
    }

    /// The default limit (64 MiB) and a configured one (`max-pending-bytes`).
    @Test(arguments: [64, 16])
    func clientThatNeverReadsIsClosedAtTheOutputLimit(mebibytes: Int) throws {
        let daemon = try DaemonProcess(
            arguments: mebibytes == 64 ? [] : ["--max-pending-bytes", "\(mebibytes)M"])
        let client = try daemon.client()
        // 1 MiB echoes: the replies fill the socket at once, then the requests pile up.
        let ping = RawClient.resp(["PING", String(repeating: "p", count: 1 << 20)])
        var sent = 0
        while sent < 100, client.send(ping) { sent += 1 }
        #expect(sent < mebibytes + 36, "the daemon buffered far over \(mebibytes) MiB")
        #expect(sent >= mebibytes - 4, "closed before the \(mebibytes) MiB limit")
        #expect(try daemon.client().call("PING") == .status("PONG"))
        #expect(daemon.stop() == 0)
    }

    @Test func jobsRunningWhenTheDaemonDiedAreMarkedFailedOnRestart() throws {
        let directory = makeTemporaryDirectory()
        let first = try DaemonProcess(directory: directory)
        first.removesDirectory = false
        let client = try first.client()
        #expect(try client.call("BANK.CREATE", "k", "DIM", "2") == .status("OK"))
        let stored = try client.call(
            "MSTORE", "k", "1", "1,0", "JOB", "j1", "POS", "3", "ROWS", "1")
        #expect(stored == .array([.integer(1), .integer(1)]), "first and last sequence number")
        #expect(try client.call("JOB.GET", "j1")["state"]?.text == "running")
        first.stop(signal: SIGKILL)

        let second = try DaemonProcess(directory: directory)
        let job = try second.client().call("JOB.GET", "j1")
        #expect(job["state"]?.text == "failed")
        #expect(job["message"]?.text?.contains("engramd restarted") == true)
        #expect(job["rows"] == .integer(1) && job["pos"] == .integer(3))
        #expect(second.stop() == 0)
    }
}
