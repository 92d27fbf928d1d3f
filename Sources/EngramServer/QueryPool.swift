import EngramRetrieval
import EngramStore
import Glibc

/// Answers single `COMPLETE` queries on a few worker threads, combining the queries that
/// wait for the same bank with the same parameters into one batch call.
///
/// Why: one query costs a pass over the whole bank (memory-bound), while a batch scores all of
/// its queries with one matrix product that reads the bank once. With many clients querying
/// at once, the queries that arrive while a batch runs form the next batch: the same idea as
/// the store's group commit, for reads. A lone query waits for nobody; while another worker is
/// busy, a worker waits up to 1 ms for a few more queries before it starts (see
/// ``lingerBelow``), since a batch of one or two costs almost a pass over the bank per query.
///
/// Workers: one per CPU core but one by default (``defaultWorkers(cores:)``). When a
/// query arrives while every worker has been busy with one batch for more than
/// ``stuckAfterNanoseconds`` (long queries on a big bank), another worker is started, up to
/// ``extraWorkersPerCore`` per core, and takes the newest ticket, so that a quick query on
/// another bank does not wait for them; extra workers end after ``extraIdleSeconds`` without
/// work. (At full load the oldest and the newest queries are served first then; the ones in
/// between may run out of budget.)
///
/// Budgets: a query still waiting when its deadline passes is answered `TIMEOUT` without
/// being computed, and so is one whose client hung up. The shared first pass of a batch runs
/// with the latest deadline of its queries; every query's own steps run with its own, and
/// once a batch has run for ``handOverAfterNanoseconds`` each query is handed over as soon as
/// it is done, so a long batch never makes its first queries late.
///
/// A ticket's `done` runs on the worker that answered it, in the order of the batch; it must
/// not block (an event loop's connection sends its reply and goes back to its loop there).
/// Thread-safe.
final class QueryPool: @unchecked Sendable {
    /// Most queries answered by one batch call.
    static let maxBatch = 64
    /// While another worker is busy, a worker waits for this many queries before it starts a
    /// batch (the score kernel's first full group), ...
    static let lingerBelow = 8
    /// ... but no longer than this.
    static let lingerAtMostNanoseconds: UInt64 = 1_000_000
    /// A batch running for longer than this lets a new query start another worker.
    static let stuckAfterNanoseconds: UInt64 = 20_000_000
    /// A ticket that waited longer than this is asked whether its client hung up. Asking is a
    /// system call; a query that waited less costs about as little to compute as it waited
    /// (at full load with 50 clients queries wait 2 ms).
    static let askAbandonedAfterNanoseconds: UInt64 = 10_000_000
    /// Answers of a batch wait for the batch's end unless it has run this long.
    static let handOverAfterNanoseconds: UInt64 = 2_000_000
    /// Workers beyond one per core, at most this many per core.
    static let extraWorkersPerCore = 3
    /// An extra worker without work for this long ends.
    static let extraIdleSeconds = 2

    typealias Outcome = Result<(Completion, BankSnapshot), any Error>

    /// The failure a ticket gets when its client hung up before its query ran.
    struct Abandoned: Error {}

    /// One waiting query and what to do with its answer.
    final class Ticket: Sendable {
        let bank: String
        let query: Query
        let parameters: RetrievalParameters
        let asOf: UInt64?
        let deadline: UInt64
        /// Whether the client is gone, so the query need not run; asked before it runs if it
        /// waited over ``QueryPool/askAbandonedAfterNanoseconds`` (a system call each time).
        let abandoned: @Sendable () -> Bool
        /// When it was queued (monotonic ns).
        let queued = monotonicNanoseconds()
        /// Called once, on a worker thread, with the answer or the error.
        let done: @Sendable (Outcome) -> Void

        init(
            bank: String, query: Query, parameters: RetrievalParameters, asOf: UInt64?,
            deadline: UInt64, abandoned: @escaping @Sendable () -> Bool = { false },
            done: @escaping @Sendable (Outcome) -> Void
        ) {
            self.bank = bank
            self.query = query
            self.parameters = parameters
            self.asOf = asOf
            self.deadline = deadline
            self.abandoned = abandoned
            self.done = done
        }

        /// Whether two tickets can share one batch call.
        func matches(_ other: Ticket) -> Bool {
            bank == other.bank && asOf == other.asOf && parameters == other.parameters
        }
    }

    /// A one-shot rendezvous for ``complete(_:)``: a worker posts, the caller waits.
    private final class Waiter: @unchecked Sendable {
        private var outcome: Outcome?
        private let done = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

        init() { sem_init(done, 0, 0) }

        deinit {
            sem_destroy(done)
            done.deallocate()
        }

        /// Written before `sem_post`, read after `sem_wait`: the semaphore orders the two.
        func post(_ value: Outcome) {
            outcome = value
            sem_post(done)
        }

        func wait() -> Outcome {
            while sem_wait(done) != 0 {}
            return outcome!
        }
    }

    private let store: Store
    private let timedOut: @Sendable (Ticket) -> any Error
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeup = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Signalled when enough queries wait for a lingering worker (see ``lingerForCompany()``):
    /// apart from `wakeup`, so that each new query does not wake it for nothing.
    private let company = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let baseWorkers: Int
    private let maxWorkers: Int
    /// Guarded by `mutex`.
    private var pending: [Ticket] = []
    /// Guarded by `mutex`: workers alive, workers waiting for work, and when each running
    /// batch started (monotonic ns), by worker.
    private var workers = 0
    private var idle = 0
    private var running: [Int: UInt64] = [:]
    private var nextWorker = 0

    /// Workers when the configuration leaves it to the machine: one per core but one, and at
    /// least one. The core left over runs the event loops, which parse every query and send
    /// every answer (about half of a `COMPLETE`'s cost), and local clients. Measured with 50
    /// redis-benchmark clients on 2 cores: one worker took 10 % less CPU per query than two,
    /// and answered as many or more, since its batches grow while it computes. Long batches
    /// still get company: see ``stuckAfterNanoseconds``.
    static func defaultWorkers(cores: Int) -> Int { max(1, cores - 1) }

    /// Starts `workers` threads.
    init(store: Store, workers: Int, timedOut: @escaping @Sendable (Ticket) -> any Error) {
        self.store = store
        self.timedOut = timedOut
        baseWorkers = max(1, workers)
        let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        maxWorkers = baseWorkers + QueryPool.extraWorkersPerCore * cores
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeup, nil)
        pthread_cond_init(company, nil)
        pthread_mutex_lock(mutex)
        for _ in 0..<baseWorkers { startWorker(extra: false) }
        pthread_mutex_unlock(mutex)
    }

    /// Queues a ticket and returns at once; a worker calls its `done`.
    func submit(_ ticket: Ticket) {
        pthread_mutex_lock(mutex)
        pending.append(ticket)
        if idle == 0, workers < maxWorkers, allStuck(now: monotonicNanoseconds()) {
            startWorker(extra: true)
        }
        if idle > 0 { pthread_cond_signal(wakeup) }
        if pending.count == QueryPool.lingerBelow { pthread_cond_signal(company) }
        pthread_mutex_unlock(mutex)
    }

    /// Whether every worker is in a batch that started over ``stuckAfterNanoseconds`` ago.
    /// Called with `mutex` held.
    private func allStuck(now: UInt64) -> Bool {
        running.count == workers
            && running.values.allSatisfy { now &- $0 > QueryPool.stuckAfterNanoseconds }
    }

    /// Called with `mutex` held.
    private func startWorker(extra: Bool) {
        let id = nextWorker
        nextWorker += 1
        workers += 1
        _ = startThread { [self] in self.work(id: id, extra: extra) }
    }

    /// Queues a query and blocks until a worker answered it. For threads that may block.
    func complete(
        bank: String, query: Query, parameters: RetrievalParameters, asOf: UInt64?,
        deadline: UInt64
    ) -> Outcome {
        let waiter = Waiter()
        submit(
            Ticket(
                bank: bank, query: query, parameters: parameters, asOf: asOf,
                deadline: deadline, done: { waiter.post($0) }))
        return waiter.wait()
    }

    private func work(id: Int, extra: Bool) {
        while let batch = takeBatch(worker: id, extra: extra) {
            answer(batch)
        }
    }

    /// The oldest waiting ticket (the newest, for an extra worker) and every other waiting
    /// ticket it can share a call with; nil when an extra worker has been idle long enough to
    /// end.
    private func takeBatch(worker: Int, extra: Bool) -> [Ticket]? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        running[worker] = nil
        repeat {  // until queries are waiting, after lingering (another worker may take them)
            while pending.isEmpty {
                idle += 1
                let woken = extra ? waitAtMost(seconds: QueryPool.extraIdleSeconds) : wait()
                idle -= 1
                if !woken, pending.isEmpty {
                    workers -= 1
                    return nil
                }
            }
            if !extra { lingerForCompany() }
        } while pending.isEmpty
        running[worker] = monotonicNanoseconds()
        // An extra worker exists because a query arrived behind long ones: it serves the
        // newest ticket, which is that query, rather than the next long one in line.
        let first = extra ? pending.removeLast() : pending.removeFirst()
        var batch = [first]
        var index = 0
        while index < pending.count, batch.count < QueryPool.maxBatch {
            if pending[index].matches(first) {
                batch.append(pending.remove(at: index))
            } else {
                index += 1
            }
        }
        return batch
    }

    /// Waits (with `mutex` held) while fewer than ``lingerBelow`` queries are waiting and
    /// another worker is in a batch that is not stuck, for at most ``lingerAtMostNanoseconds``.
    ///
    /// Why: a batch of one or two queries costs nearly a whole pass over the bank per query,
    /// one of eight or more a fraction of it. Under load, the worker that woke for the first
    /// query to arrive would otherwise run it alone while the next ones queue up behind it;
    /// with nobody else busy (a lone client) nothing waits.
    private func lingerForCompany() {
        let started = monotonicNanoseconds()
        while pending.count < QueryPool.lingerBelow {
            let now = monotonicNanoseconds()
            let busy = running.values.contains { now &- $0 < QueryPool.stuckAfterNanoseconds }
            let left = QueryPool.lingerAtMostNanoseconds &- (now &- started)
            guard busy, now &- started < QueryPool.lingerAtMostNanoseconds else { return }
            _ = waitAtMost(nanoseconds: left, on: company)
        }
    }

    /// Waits on `wakeup` (with `mutex` held); true.
    private func wait() -> Bool {
        pthread_cond_wait(wakeup, mutex)
        return true
    }

    /// Waits on `wakeup` for at most `seconds` (with `mutex` held); false on the timeout.
    private func waitAtMost(seconds: Int) -> Bool {
        waitAtMost(nanoseconds: UInt64(seconds) * 1_000_000_000, on: wakeup)
    }

    /// Waits on `condition` for at most `nanoseconds` (with `mutex` held); false on the
    /// timeout.
    private func waitAtMost(
        nanoseconds: UInt64, on condition: UnsafeMutablePointer<pthread_cond_t>
    ) -> Bool {
        var until = timespec()
        clock_gettime(CLOCK_REALTIME, &until)
        let total = UInt64(until.tv_nsec) + nanoseconds
        until.tv_sec += Int(total / 1_000_000_000)
        until.tv_nsec = Int(total % 1_000_000_000)
        return pthread_cond_timedwait(condition, mutex, &until) != ETIMEDOUT
    }

    private func answer(_ batch: [Ticket]) {
        let now = monotonicNanoseconds()
        let live = batch.filter { ticket in
            if now &- ticket.queued > QueryPool.askAbandonedAfterNanoseconds, ticket.abandoned() {
                ticket.done(.failure(Abandoned()))
                return false
            }
            guard ticket.deadline >= now else {
                ticket.done(.failure(timedOut(ticket)))
                return false
            }
            return true
        }
        guard let first = live.first else { return }
        let snapshot: BankSnapshot
        do {
            snapshot = try store.snapshot(bank: first.bank, asOf: first.asOf)
        } catch {
            for ticket in live { ticket.done(.failure(error)) }
            return
        }
        let matrix = snapshot.matrix
        // Answers are handed over together at the end of a quick batch (a client answered
        // early would come back while the batch still runs, and its next query would start a
        // batch of its own), and as they come once a batch has run for a while.
        var ready: [(Int, Result<Completion, RetrievalError>)] = []
        var handedOver = monotonicNanoseconds()
        func handOver() {
            for (index, result) in ready {
                live[index].done(result.map { ($0, snapshot) }.mapError { $0 })
            }
            ready.removeAll()
            handedOver = monotonicNanoseconds()
        }
        do {
            try Retriever.completeBatch(
                live.map(\.query), in: matrix, parameters: first.parameters,
                deadlines: live.map { Deadline(nanoseconds: $0.deadline) }
            ) { index, result in
                ready.append((index, result))
                if monotonicNanoseconds() &- handedOver > QueryPool.handOverAfterNanoseconds {
                    handOver()
                }
            }
            handOver()
            return
        } catch .deadline {
            // The latest deadline passed in the shared pass, so every ticket's has.
            for ticket in live { ticket.done(.failure(RetrievalError.deadline)) }
            return
        } catch {
            // A batch refused as a whole: answer each query on its own below, so that one
            // bad query gets its own error and does not fail the others.
        }
        for ticket in live {
            do {
                let answer = try Retriever.completeBatch(
                    [ticket.query], in: matrix, parameters: ticket.parameters,
                    deadline: Deadline(nanoseconds: ticket.deadline))
                ticket.done(.success((answer[0], snapshot)))
            } catch {
                let underlying: any Error
                if case .query(_, let inner) = error {
                    underlying = inner
                } else {
                    underlying = error
                }
                ticket.done(.failure(underlying))
            }
        }
    }
}
