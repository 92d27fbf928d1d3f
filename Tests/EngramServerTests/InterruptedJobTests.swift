// Jobs left `running` by a daemon that died are marked failed when the next one starts.

import EngramStore
import Foundation
import Testing

@testable import EngramServer

@Suite struct InterruptedJobTests {
    @Test func runningJobsFailWithAResumeHintAndKeepTheirProgress() throws {
        let path =
            NSTemporaryDirectory()
            + "engram-interrupted-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try Store(directory: path)
        defer { store.close() }
        try store.createBank(BankSpec(name: "b", dimension: 1))
        try store.putJob(JobProgress(id: "live", bank: "b", position: 9, rowsDone: 8))
        try store.putJob(JobProgress(id: "finished", bank: "b", rowsDone: 3, state: .done))
        try store.putJob(
            JobProgress(id: "broken", bank: "b", state: .failed, message: "bad input"))

        #expect(try failInterruptedJobs(in: store) == ["live"])

        let live = try store.job(id: "live")
        #expect(live.state == .failed)
        #expect(live.message == interruptedJobMessage)
        #expect(live.message.contains("run the same ingest again"))
        #expect(live.position == 9 && live.rowsDone == 8)
        #expect(try store.job(id: "finished").state == .done)
        #expect(try store.job(id: "broken").message == "bad input")
        #expect(try failInterruptedJobs(in: store).isEmpty)
    }
}
