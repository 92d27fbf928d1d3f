// The process lock: a store open in one process is refused to every other process until
// that process is gone.

import EngramStore
import Foundation
import Testing

@Suite struct ProcessLockTests {
    @Test func secondProcessIsRefusedUntilTheFirstExits() throws {
        let crasher = try #require(crasherPath(), "build engram-store-crasher (swift build)")
        let dir = TemporaryDirectory("lock")
        let store = dir.child("state")
        let acks = dir.child("acks")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: crasher)
        child.arguments = [store, acks, "7"]
        try child.run()
        // The child holds the store once it acknowledged its first append.
        for _ in 0..<4000
        where child.isRunning && (try? String(contentsOfFile: acks, encoding: .utf8)) == nil {
            usleep(5000)
        }
        #expect(child.isRunning)
        let error = #expect(throws: StoreError.self) {
            try Store(directory: store, options: smallOptions())
        }
        #expect(error?.code == .inUse)
        #expect(error?.message.contains("pid \(child.processIdentifier)") == true)
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        let reopened = try Store(directory: store, options: smallOptions())
        #expect(try reopened.bankInfo("crash").count > 0)
        reopened.close()
    }

    @Test func lockIsReleasedOnClose() throws {
        let dir = TemporaryDirectory("relock")
        let first = try Store(directory: dir.path, options: smallOptions())
        first.close()
        let second = try Store(directory: dir.path, options: smallOptions())
        second.close()
        let mode =
            try FileManager.default.attributesOfItem(atPath: dir.child("engram.lock"))[
                .posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
