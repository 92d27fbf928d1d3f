import EngramRetrieval
import EngramStore
import Glibc

/// Answers single `COMPLETE` queries on a few worker threads, combining the queries that
/// wait for the same bank with the same parameters into one batch call.
///
/// Why: one query costs a pass over the whole bank (memory-bound), while a batch scores all of
/// its queries with one matrix product that reads the bank once. With many clients querying
/// at once, the queries that arrive while a batch runs form the next batch: the same idea as
/// the store's group commit, for reads. A lone query waits for nobody.
///
/// Workers: one per CPU core, so queries use every core without oversubscribing them. A query
/// still waiting when its deadline passes is answered `TIMEOUT` without being computed. A
/// batch call runs with the latest deadline of its queries, so a short budget never fails the
/// others; when even that one passes mid-call, the call stops and every query of the batch
/// gets ``RetrievalError/deadline``.
/// A ticket's `done` runs on the worker that answered it, in the order of the batch; it must
/// not block (an event loop's connection sends its reply and goes back to its loop there).
/// Thread-safe.
final class QueryPool: @unchecked Sendable {
    /// Most queries answered by one batch call.
    static let maxBatch = 64

    typealias Outcome = Result<(Completion, BankSnapshot), any Error>

    /// One waiting query and what to do with its answer.
    final class Ticket: Sendable {
        let bank: String
        let query: Query
        let parameters: RetrievalParameters
        let asOf: UInt64?
        let deadline: UInt64
        /// Called once, on a worker thread, with the answer or the error.
        let done: @Sendable (Outcome) -> Void

        init(
            bank: String, query: Query, parameters: RetrievalParameters, asOf: UInt64?,
            deadline: UInt64, done: @escaping @Sendable (Outcome) -> Void
        ) {
            self.bank = bank
            self.query = query
            self.parameters = parameters
            self.asOf = asOf
            self.deadline = deadline
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
    /// Guarded by `mutex`.
    private var pending: [Ticket] = []

    /// Starts `workers` threads.
    init(store: Store, workers: Int, timedOut: @escaping @Sendable (Ticket) -> any Error) {
        self.store = store
        self.timedOut = timedOut
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeup, nil)
        for _ in 0..<workers {
            _ = startThread { [self] in self.work() }
        }
    }

    /// Queues a ticket and returns at once; a worker calls its `done`.
    func submit(_ ticket: Ticket) {
        pthread_mutex_lock(mutex)
        pending.append(ticket)
        pthread_cond_signal(wakeup)
        pthread_mutex_unlock(mutex)
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

    private func work() {
        while true {
            let batch = takeBatch()
            answer(batch)
        }
    }

    /// The oldest waiting ticket and every other waiting ticket it can share a call with.
    private func takeBatch() -> [Ticket] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while pending.isEmpty { pthread_cond_wait(wakeup, mutex) }
        let first = pending.removeFirst()
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

    private func answer(_ batch: [Ticket]) {
        let now = monotonicNanoseconds()
        let live = batch.filter { ticket in
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
        // Every live ticket is still within its budget: the latest deadline is the one the
        // call must respect; the dispatcher checks each ticket's own against its answer.
        let latest = Deadline(nanoseconds: live.map(\.deadline).max()!)
        do {
            let answers = try Retriever.completeBatch(
                live.map(\.query), in: matrix, parameters: first.parameters, deadline: latest)
            for (ticket, answer) in zip(live, answers) {
                ticket.done(.success((answer, snapshot)))
            }
            return
        } catch .deadline {
            // The latest deadline passed, so every ticket's has: none is worth a retry.
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
