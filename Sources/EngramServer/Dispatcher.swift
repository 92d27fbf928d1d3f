import EngramRetrieval
import EngramStore
import EngramWire
import Glibc

/// Runs decoded requests against the store and the retrieval core and builds their replies.
///
/// Thread-safe and stateless apart from the shared store: every connection thread calls
/// ``handle(_:session:)`` directly, so queries run in parallel on as many cores as there are
/// busy connections, while writes funnel into the store's single writer thread, which groups
/// the appends of concurrent connections into one commit.
final class Dispatcher: Sendable {
    /// The daemon's version, reported by `INFO` and `--version`.
    static let version = "0.1.0"
    /// MCOMPLETE answers this many queries per batch call; each call stops at the time budget.
    static let batchChunk = 128

    let store: Store
    let configuration: ServerConfiguration
    let log: Logger
    let statistics: RequestCounters
    let connections: ConnectionTable
    private let startedAt = monotonicNanoseconds()
    /// Single COMPLETE queries, combined into batches across connections.
    private let queryPool: QueryPool

    init(
        store: Store, configuration: ServerConfiguration, log: Logger,
        statistics: RequestCounters, connections: ConnectionTable
    ) {
        self.store = store
        self.configuration = configuration
        self.log = log
        self.statistics = statistics
        self.connections = connections
        let budget = configuration.queryTimeoutMilliseconds
        let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        self.queryPool = QueryPool(
            store: store,
            workers: configuration.queryWorkers > 0
                ? configuration.queryWorkers : QueryPool.defaultWorkers(cores: cores)
        ) { _ in WireError.timeout(milliseconds: budget) }
    }

    /// A reply, and whether the connection closes after it.
    typealias Outcome = (reply: Reply, close: Bool)

    /// The reply to one request, and whether the connection closes after it. May block: on
    /// the writer's commit, on a query, on a backup.
    func handle(_ arguments: Arguments, session: Session) -> Outcome {
        if arguments.count == 1, Dispatcher.isPing(arguments[0]) { return (Dispatcher.pong, false) }
        let verb: Command.Verb
        let command: Command
        switch parse(arguments, session: session) {
        case .failure(let refusal): return refusal.outcome
        case .success(let parsed): (verb, command) = parsed
        }
        if case .quit = command { return (.status("BYE"), true) }
        return outcome(of: verb) { try execute(command) }
    }

    /// Starts a single `COMPLETE` without waiting for its answer. Returns the outcome when the
    /// request is answered at once (a parse error, an unknown bank, a wrong dimension …);
    /// otherwise returns nil, and `then` is called later with the outcome, on a query worker
    /// thread, where it must not block. `abandoned` tells whether the client hung up meanwhile:
    /// then the query is not computed, and the outcome only closes the connection. Any other request is run as ``handle(_:session:)``
    /// runs it (so call this for `COMPLETE` only).
    func start(
        _ arguments: Arguments, session: Session,
        abandoned: @escaping @Sendable () -> Bool = { false },
        then: @escaping @Sendable (Outcome) -> Void
    ) -> Outcome? {
        let command: Command
        switch parse(arguments, session: session) {
        case .failure(let refusal): return refusal.outcome
        case .success(let parsed): command = parsed.1
        }
        guard case .complete(let request) = command else {
            return handle(arguments, session: session)
        }
        let pending: PendingCompletion
        do {
            pending = try prepare(request, batch: false)
        } catch {
            return outcome(of: .complete) { throw error }
        }
        queryPool.submit(
            QueryPool.Ticket(
                bank: request.bank, query: pending.queries[0], parameters: pending.parameters,
                asOf: pending.asOf, deadline: pending.deadline, abandoned: abandoned
            ) { [self] answered in
                if case .failure(let error) = answered, error is QueryPool.Abandoned {
                    // Nobody to answer: the connection only needs closing.
                    log.debug("query dropped: its client hung up", ("bank", request.bank))
                    then((WireError.shuttingDown.toReply(), true))
                    return
                }
                then(
                    outcome(of: .complete) {
                        let (answer, used) = try answered.get()
                        return try reply(pending, answers: [answer], over: used)
                    })
            })
        return nil
    }

    /// A request that ends before it runs, with its reply.
    private struct Refusal: Error {
        let outcome: Outcome
    }

    /// The verb and the parsed command, or the reply that refuses them: an unknown verb, a
    /// role without the permission, a malformed request.
    private func parse(
        _ arguments: Arguments, session: Session
    ) -> Result<(Command.Verb, Command), Refusal> {
        guard let verb = Command.Verb(arguments[0]) else {
            do {
                _ = try Command.parse(arguments)  // builds the UNKNOWN error with the verb list
            } catch {
                return .failure(Refusal(outcome: (error.toReply(), false)))
            }
            return .failure(
                Refusal(outcome: (WireError(.unknown, "unknown command").toReply(), false)))
        }
        guard session.role >= verb.requiredRole else {
            let error = WireError.permission(
                verb, role: session.role.description, uid: session.peer.uid)
            return .failure(Refusal(outcome: (error.toReply(), false)))
        }
        do {
            return .success((verb, try Command.parse(arguments)))
        } catch {
            return .failure(Refusal(outcome: (error.toReply(), error.closesConnection)))
        }
    }

    /// Runs `body` and maps what it throws to the reply of its domain's error.
    private func outcome(of verb: Command.Verb, _ body: () throws -> Reply) -> Outcome {
        do {
            return (try body(), false)
        } catch let error as WireError {
            return (error.toReply(), error.closesConnection)
        } catch let error as StoreError {
            return (reply(for: error, verb: verb), false)
        } catch let error as RetrievalError {
            return (reply(for: error), false)
        } catch {
            log.error("request failed", ("command", "\(verb)"), ("error", "\(error)"))
            return (WireError.internalError("\(verb) failed").toReply(), false)
        }
    }

    static let pong = Reply.status("PONG")

    private static func isPing(_ word: [UInt8]) -> Bool {
        word.count == 4 && (word[0] | 0x20) == 0x70 && (word[1] | 0x20) == 0x69
            && (word[2] | 0x20) == 0x6E && (word[3] | 0x20) == 0x67
    }

    // MARK: - Commands

    private func execute(_ command: Command) throws -> Reply {
        switch command {
        case .ping(let message): return message.map { .bulk($0) } ?? Dispatcher.pong
        case .info: return try info()
        case .bankCreate(let create):
            _ = try store.createBank(Dispatcher.spec(create))
            log.notice("bank created", ("bank", create.name), ("dim", "\(create.dimension)"))
            return .ok
        case .bankList: return .array(store.listBanks().map { Dispatcher.bankObject($0).toReply() })
        case .bankInfo(let bank): return Dispatcher.bankObject(try store.bankInfo(bank)).toReply()
        case .bankDrop(let bank):
            let removed = try store.dropBank(bank)
            log.notice("bank dropped", ("bank", bank), ("patterns", "\(removed)"))
            return .integer(removed)
        case .store(let request):
            let labels = request.label.map { [$0] as [String?] }
            let range = try store.append(
                bank: request.bank, vectors: [request.vector], labels: labels)
            return .integer(Int(range.lowerBound))
        case .mstore(let request): return try mstore(request)
        case .get(let request): return try get(request)
        case .complete(let request): return try complete(request, batch: false)
        case .mcomplete(let request): return try complete(request, batch: true)
        case .jobs: return .array(try store.jobs().map { Dispatcher.jobObject($0).toReply() })
        case .jobGet(let id):
            do {
                return Dispatcher.jobObject(try store.job(id: id)).toReply()
            } catch let error as StoreError where error.code == .notFound {
                return .null
            }
        case .jobSet(let request):
            let state = EngramStore.JobState(rawValue: request.state.rawValue) ?? .running
            _ = try store.setJobState(id: request.id, state, message: request.message)
            return .ok
        case .backup(let path): return try backup(path)
        case .stats: return try stats()
        case .quit: return .status("BYE")
        }
    }

    private func mstore(_ request: MStoreRequest) throws -> Reply {
        let progress = request.progress.map { job in
            JobProgress(
                id: job.id, bank: request.bank, source: job.source,
                position: UInt64(job.position), rowsDone: UInt64(job.rows),
                total: job.total.map(UInt64.init), skipped: UInt64(job.skipped), state: .running)
        }
        let range = try store.append(
            bank: request.bank, vectors: request.vectors, labels: request.labels,
            progress: progress, ifRowsDone: request.progress?.ifRows.map(UInt64.init))
        return .array([.integer(Int(range.lowerBound)), .integer(Int(range.upperBound) - 1)])
    }

    private func get(_ request: GetRequest) throws -> Reply {
        let stored: StoredPattern
        do {
            guard request.seq > 0 else {
                throw StoreError(.notFound, "sequence numbers start at 1")
            }
            stored = try store.pattern(bank: request.bank, seq: UInt64(request.seq))
        } catch let error as StoreError where error.code == .notFound {
            let count = try store.bankInfo(request.bank).count
            throw WireError.noPattern(seq: request.seq, bank: request.bank, count: count)
        }
        return PatternObject(
            seq: Int(stored.seq), pattern: stored.values, label: stored.label,
            time: Int(stored.appendedMillis)
        ).toReply(format: request.format)
    }

    private func info() throws -> Reply {
        let figures = try store.statistics()
        return InfoObject(
            version: Dispatcher.version, pid: Int(getpid()), uptimeSeconds: uptimeSeconds(),
            banks: figures.banks, connections: connections.count,
            stateDirectory: configuration.stateDirectory, mapSize: figures.mapSize,
            mapCap: figures.mapCap, sync: configuration.sync.rawValue
        ).toReply()
    }

    // MARK: - Completion

    /// A completion request checked against its bank, ready to run.
    private struct PendingCompletion: Sendable {
        let request: CompleteRequest
        let batch: Bool
        let queries: [Query]
        let parameters: RetrievalParameters
        let asOf: UInt64?
        let deadline: UInt64
        /// The bank as the request was checked; the query pool answers over its own, newer
        /// snapshot.
        let snapshot: BankSnapshot
    }

    private func complete(_ request: CompleteRequest, batch: Bool) throws -> Reply {
        let pending = try prepare(request, batch: batch)
        if batch {
            let answers = try completeAll(
                pending.queries, over: pending.snapshot, pending.parameters,
                deadline: pending.deadline)
            return try reply(pending, answers: answers, over: pending.snapshot)
        }
        let (answer, used) = try queryPool.complete(
            bank: request.bank, query: pending.queries[0], parameters: pending.parameters,
            asOf: pending.asOf, deadline: pending.deadline
        ).get()
        return try reply(pending, answers: [answer], over: used)
    }

    /// Checks the as-of position, every query's dimension and the bank's size; sets the time
    /// budget's deadline.
    private func prepare(_ request: CompleteRequest, batch: Bool) throws -> PendingCompletion {
        let deadline =
            monotonicNanoseconds() + UInt64(configuration.queryTimeoutMilliseconds) * 1_000_000
        let asOf = request.options.asOf
        if let asOf {
            let count = try store.bankInfo(request.bank).count
            if asOf > count {
                throw WireError.asOfPastEnd(asOf, bank: request.bank, count: count)
            }
        }
        let snapshot = try store.snapshot(bank: request.bank, asOf: asOf.map(UInt64.init))
        for (index, query) in request.queries.enumerated()
        where query.values.count != snapshot.dimension {
            throw WireError.dimension(
                got: query.values.count, expected: snapshot.dimension, bank: request.bank,
                vector: batch ? index + 1 : nil)
        }
        guard snapshot.rows > 0 else { throw WireError.emptyBank(request.bank, asOf: asOf) }
        return PendingCompletion(
            request: request, batch: batch,
            queries: request.queries.map { Query(values: $0.values, known: $0.known) },
            parameters: Dispatcher.parameters(request.options, bank: snapshot.info.spec),
            asOf: asOf.map(UInt64.init), deadline: deadline, snapshot: snapshot)
    }

    /// The reply to a completion whose answers came in over `snapshot`; `TIMEOUT` instead
    /// when they came after the deadline.
    private func reply(
        _ pending: PendingCompletion, answers: [Completion], over snapshot: BankSnapshot
    ) throws -> Reply {
        if monotonicNanoseconds() > pending.deadline {
            throw timeout(answered: answers.count, of: pending.queries.count)
        }
        let objects = answers.map {
            completionObject($0, snapshot: snapshot).toReply(format: pending.request.options.format)
        }
        return pending.batch ? .array(objects) : objects[0]
    }

    /// MCOMPLETE on this thread, in chunks, checking the time budget between chunks; each
    /// chunk's call stops at the deadline too (`TIMEOUT`, logged with the queries answered).
    private func completeAll(
        _ queries: [Query], over snapshot: BankSnapshot, _ parameters: RetrievalParameters,
        deadline: UInt64
    ) throws -> [Completion] {
        let matrix = snapshot.matrix
        var answers: [Completion] = []
        answers.reserveCapacity(queries.count)
        var start = 0
        while start < queries.count {
            let end = min(start + Dispatcher.batchChunk, queries.count)
            do {
                answers += try Dispatcher.completeChunk(
                    queries, start..<end, in: matrix, parameters: parameters,
                    deadline: Deadline(nanoseconds: deadline))
            } catch .deadline {
                throw timeout(answered: start, of: queries.count)
            }
            start = end
            if start < queries.count, monotonicNanoseconds() > deadline {
                throw timeout(answered: start, of: queries.count)
            }
        }
        return answers
    }

    /// One chunk of a batch; a bad query is reported by its index in the whole batch.
    private static func completeChunk(
        _ queries: [Query], _ range: Range<Int>, in matrix: PatternMatrix,
        parameters: RetrievalParameters, deadline: Deadline
    ) throws(RetrievalError) -> [Completion] {
        do {
            return try Retriever.completeBatch(
                Array(queries[range]), in: matrix, parameters: parameters, deadline: deadline)
        } catch {
            guard case .query(let index, let underlying) = error else { throw error }
            throw .query(index: range.lowerBound + index, underlying: underlying)
        }
    }

    private func timeout(answered: Int, of total: Int) -> WireError {
        log.info(
            "query over its time budget", ("answered", "\(answered)"), ("queries", "\(total)"),
            ("budget_ms", "\(configuration.queryTimeoutMilliseconds)"))
        return WireError.timeout(milliseconds: configuration.queryTimeoutMilliseconds)
    }

    private func completionObject(
        _ completion: Completion, snapshot: BankSnapshot
    )
        -> CompletionObject
    {
        let support = completion.support.map { entry in
            CompletionObject.Support(
                seq: Int(snapshot.seq(ofRow: entry.index)),
                label: snapshot.label(ofRow: entry.index),
                weight: entry.weight)
        }
        return CompletionObject(
            pattern: completion.pattern, support: support, energy: completion.energy,
            steps: completion.steps, converged: completion.converged, exact: completion.exact,
            asOf: snapshot.rows)
    }

    static func parameters(_ options: CompletionOptions, bank: BankSpec) -> RetrievalParameters {
        RetrievalParameters(
            normalizer: options.mode.map(normalizer) ?? bank.mode,
            beta: options.beta ?? bank.beta, steps: options.steps ?? 1,
            tolerance: options.tolerance ?? 1e-4, topK: options.top,
            normalization: bank.normalization)
    }

    static func normalizer(_ mode: RetrievalMode) -> Normalizer {
        switch mode {
        case .sparsemax: .sparsemax
        case .softmax: .softmax
        case .entmax(let alpha): .entmax(alpha: alpha)
        }
    }

    static func mode(_ normalizer: Normalizer) -> RetrievalMode {
        switch normalizer {
        case .sparsemax: .sparsemax
        case .softmax: .softmax
        case .entmax(let alpha): .entmax(alpha: alpha)
        }
    }

    // MARK: - Backup and statistics

    /// A compacting hot copy into `path`, which must be new or empty; a relative path is
    /// taken under the state directory, and missing parent directories are created.
    private func backup(_ path: String) throws -> Reply {
        let target = path.hasPrefix("/") ? path : configuration.stateDirectory + "/" + path
        if let slash = target.lastIndex(of: "/"), slash != target.startIndex {
            try makeDirectory(String(target[..<slash]))
        }
        let started = monotonicNanoseconds()
        try store.backup(to: target)
        log.notice(
            "backup written", ("path", target),
            ("ms", "\((monotonicNanoseconds() - started) / 1_000_000)"))
        return .status("OK \(target)")
    }

    private func stats() throws -> Reply {
        let entries = statistics.snapshot()
        var commands: [StatsObject.CommandEntry] = []
        var requests = 0
        var errors = 0
        for (index, entry) in entries.enumerated() where entry.calls > 0 {
            requests += Int(entry.calls)
            errors += Int(entry.errors)
            commands.append(
                StatsObject.CommandEntry(
                    name: RequestCounters.names[index], calls: Int(entry.calls),
                    errors: Int(entry.errors),
                    p50Micros: Int(entry.latency.quantile(0.5) / 1000),
                    p99Micros: Int(entry.latency.quantile(0.99) / 1000),
                    maxMicros: Int(entry.latency.quantile(1) / 1000)))
        }
        let figures = try store.statistics()
        return StatsObject(
            uptimeSeconds: uptimeSeconds(), connections: connections.count,
            connectionsTotal: Int(connections.accepted), requests: requests, errors: errors,
            commands: commands,
            banks: store.listBanks().map { StatsObject.BankEntry(name: $0.name, count: $0.count) },
            storeBytes: figures.fileBytes, mapSize: figures.mapSize
        ).toReply()
    }

    private func uptimeSeconds() -> Int {
        Int((monotonicNanoseconds() - startedAt) / 1_000_000_000)
    }

    // MARK: - Health and status

    /// Whether the store answers: stale reader slots are cleared and a read transaction
    /// succeeds. Run from the accept loop before each watchdog keep-alive.
    func healthy() -> Bool {
        _ = store.checkReaders()
        return (try? store.statistics()) != nil
    }

    func bankCount() -> Int { store.listBanks().count }

    /// The `STATUS=` line: what `systemctl status` shows.
    func statusLine() -> String {
        "serving \(bankCount()) banks, \(connections.count) connections"
    }

    // MARK: - Conversions

    static func spec(_ create: BankCreate) -> BankSpec {
        BankSpec(
            name: create.name, dimension: create.dimension, mode: normalizer(create.mode),
            beta: create.beta, normalization: create.normalize == .l2 ? .l2 : .none,
            metadata: create.meta)
    }

    static func bankObject(_ info: BankInfo) -> BankObject {
        BankObject(
            name: info.name, dimension: info.spec.dimension, mode: mode(info.spec.mode),
            beta: info.spec.beta, normalize: info.spec.normalization == .l2 ? .l2 : .none,
            created: Int(info.createdMicros / 1000), count: info.count,
            meta: info.spec.metadata)
    }

    static func jobObject(_ job: JobProgress) -> JobObject {
        JobObject(
            id: job.id, bank: job.bank, source: job.source, position: Int(job.position),
            rows: Int(job.rowsDone), total: job.total.map { Int($0) }, skipped: Int(job.skipped),
            state: JobObject.State(rawValue: job.state.rawValue) ?? .running,
            message: job.message, updated: Int(job.updatedMicros / 1000))
    }

    static func storeSync(_ mode: SyncMode) -> SyncPolicy {
        switch mode {
        case .full: .full
        case .noMetaSync: .noMetaSync
        case .none: .none
        }
    }

    // MARK: - Errors

    private func reply(for error: StoreError, verb: Command.Verb) -> Reply {
        let code: WireError.Code
        switch error.code {
        case .badName: code = .badName
        case .exists: code = .exists
        case .noBank: code = .noBank
        case .dimension: code = .dim
        case .nonFinite: code = .badFloat
        case .notFound: code = .notFound
        case .full, .tooManyBanks: code = .full
        case .invalid: code = .badValue
        case .conflict: code = .conflict
        case .closed: code = .shutdown
        case .notAStore, .corrupt, .inUse, .io, .lmdb:
            log.error("store failure", ("command", "\(verb)"), ("error", "\(error)"))
            code = .internal
        }
        return WireError(code, error.message, closesConnection: false).toReply()
    }

    /// The wire error for a retrieval error. A call stopped at its deadline is `TIMEOUT`, logged
    /// as a late answer is (only a single `COMPLETE` gets here with it: `MCOMPLETE` converts it
    /// itself, knowing how many queries were answered).
    private func reply(for error: RetrievalError) -> Reply {
        if error == .deadline { return timeout(answered: 0, of: 1).toReply() }
        var underlying = error
        var prefix = ""
        if case .query(let index, let inner) = error {
            underlying = inner
            prefix = "query \(index + 1): "
        }
        let code: WireError.Code
        switch underlying {
        case .dimension: code = .dim
        case .nonFinite: code = .badFloat
        case .beta, .alpha, .steps, .tolerance, .topK: code = .badValue
        case .allMasked: code = .masked
        case .emptyBank: code = .notFound
        case .deadline: code = .timeout
        case .query: code = .internal
        }
        return WireError(code, prefix + underlying.message, closesConnection: false).toReply()
    }
}
