// Ctrl-C and SIGTERM during an ingest: finish the batches in flight, record the job, exit.

#if canImport(Glibc)
    import Glibc
#endif

/// Set by the signal handler, read by the ingest loop between batches. A `sig_atomic_t`
/// written only from the handler and read only by the one thread that runs the command.
nonisolated(unsafe) private var interruptionFlag: sig_atomic_t = 0

/// Turns SIGINT and SIGTERM into a request to stop at the next batch boundary, so an
/// interrupted ingest leaves a job record that says so and resumes exactly; a second signal
/// ends the process at once (the committed progress still makes the resume exact).
enum Interruption {
    static var requested: Bool { interruptionFlag != 0 }

    static func catchSignals() {
        interruptionFlag = 0
        signal(SIGINT, Interruption.handle)
        signal(SIGTERM, Interruption.handle)
    }

    static func restoreSignals() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    private static let handle: @convention(c) (Int32) -> Void = { number in
        if interruptionFlag != 0 { _exit(128 + number) }
        interruptionFlag = 1
    }
}
