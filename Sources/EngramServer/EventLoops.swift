import CEngramSys
import Glibc
import Synchronization

/// The threads that serve connections: a few epoll loops for the requests that never wait,
/// the query pool's workers for single queries, and a pool of handler threads for the
/// requests that wait otherwise.
///
/// Why not a thread per connection: with many clients sending small requests (`PING`, `GET`)
/// the machine spends its time switching threads; one loop thread answers every connection
/// that is ready in one wakeup. A single query goes from the loop to the query pool, whose
/// worker sends the reply and re-arms the connection itself: no thread waits for it, and a
/// query costs no thread switch of its own. Writes wait for the group commit (and an MCOMPLETE
/// for its computation), so they run on handler threads and never stall a loop. Handlers are
/// started on demand and kept; their number follows the connections that wait at once.
///
/// Shutdown: once the server is stopping, each loop sends `-SHUTDOWN` to its idle
/// connections and closes them (every tick, so connections coming back from handlers are
/// caught too); handlers finish the request they run, then do the same.
final class EventLoops: @unchecked Sendable {
    private let server: ServerContext
    private let epolls: [Int32]
    private let registry = Mutex<[UInt64: Connection]>([:])
    private let handlers = HandlerPool()
    /// When each loop last went round (monotonic ns); the watchdog checks them.
    private let heartbeats: [Heartbeat]

    private final class Heartbeat: Sendable {
        let nanoseconds = Atomic<UInt64>(monotonicNanoseconds())
    }

    /// Starts `count` loop threads.
    init(server: ServerContext, count: Int) {
        self.server = server
        epolls = (0..<max(1, count)).map { _ in csys_epoll_create() }
        heartbeats = epolls.map { _ in Heartbeat() }
        for index in epolls.indices {
            _ = startThread { [self] in self.run(index) }
        }
    }

    /// Starts serving an accepted connection (already in the connection table).
    /// Loops when the configuration leaves it to the machine: one per two cores, at least one
    /// and at most four. A loop wakes once for every ready connection, so a few serve many;
    /// on 2 cores one loop took 8 % less CPU per `COMPLETE` than two (50 redis-benchmark
    /// clients, one query worker) and answered 8 % more.
    static func defaultCount(cores: Int) -> Int { min(4, max(1, cores / 2)) }

    func add(_ connection: Connection) {
        connection.resume = { [self] connection, next in proceed(connection, next) }
        registry.withLock { $0[connection.session.id] = connection }
        connection.armed.store(true, ordering: .releasing)
        if csys_epoll_arm(epoll(of: connection), connection.fd, connection.session.id, 1, 0) != 0 {
            server.log.error("epoll_ctl ADD failed", ("error", errnoText()))
            finish(connection)
        }
    }

    private func epoll(of connection: Connection) -> Int32 {
        epolls[Int(connection.session.id % UInt64(epolls.count))]
    }

    /// Whether every loop went round within the last `nanoseconds` (a loop wakes at least
    /// every 200 ms; one that is stuck serving a connection stops the watchdog keep-alives).
    func alive(within nanoseconds: UInt64) -> Bool {
        let now = monotonicNanoseconds()
        return heartbeats.allSatisfy {
            now &- $0.nanoseconds.load(ordering: .relaxed) < nanoseconds
        }
    }

    // MARK: - Loops

    private func run(_ index: Int) {
        let epoll = epolls[index]
        var ids = [UInt64](repeating: 0, count: 256)
        while true {
            heartbeats[index].nanoseconds.store(monotonicNanoseconds(), ordering: .relaxed)
            let ready = csys_epoll_wait(epoll, &ids, Int32(ids.count), 200)
            for slot in 0..<max(0, Int(ready)) {
                let id = ids[slot]
                guard let connection = registry.withLock({ $0[id] }),
                    connection.armed.compareExchange(
                        expected: true, desired: false, ordering: .acquiringAndReleasing
                    ).exchanged
                else { continue }
                proceed(connection, connection.serveReady())
            }
            if server.isStopping { sweep(index) }
        }
    }

    private func proceed(_ connection: Connection, _ next: Connection.Next) {
        switch next {
        case .rearm:
            rearm(connection)
        case .serveAgain:
            rearm(connection, atOnce: true)
        case .close:
            finish(connection)
        case .queued:
            break
        case .handOff(let first):
            handlers.submit { [self] in
                if connection.serveBlocking(first) {
                    rearm(connection)
                } else {
                    finish(connection)
                }
            }
        }
    }

    /// Puts a connection back in its loop's epoll set; a connection that has input waiting
    /// gets its event at once, and so does every connection with `atOnce`.
    private func rearm(_ connection: Connection, atOnce: Bool = false) {
        if server.isStopping {
            connection.sendShutdown()
            finish(connection)
            return
        }
        connection.armed.store(true, ordering: .releasing)
        if csys_epoll_arm(
            epoll(of: connection), connection.fd, connection.session.id, 0, atOnce ? 1 : 0) != 0
        {
            if connection.armed.compareExchange(
                expected: true, desired: false, ordering: .acquiringAndReleasing
            ).exchanged {
                finish(connection)
            }
        }
    }

    /// Sends `-SHUTDOWN` to the idle connections of loop `index` and closes them.
    private func sweep(_ index: Int) {
        let mine = registry.withLock { table in
            table.values.filter { Int($0.session.id % UInt64(epolls.count)) == index }
        }
        for connection in mine
        where connection.armed.compareExchange(
            expected: true, desired: false, ordering: .acquiringAndReleasing
        ).exchanged {
            connection.sendShutdown()
            finish(connection)
        }
    }

    /// Forgets and closes a connection; called by its last owner only.
    private func finish(_ connection: Connection) {
        registry.withLock { _ = $0.removeValue(forKey: connection.session.id) }
        server.connections.remove(connection.session.id)
        close(connection.fd)
        server.log.debug("connection closed", ("conn", "\(connection.session.id)"))
    }
}

/// Threads for work that blocks. A job never waits behind another: a new thread is started
/// when every thread is busy. Threads are kept for later jobs.
final class HandlerPool: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeup = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`.
    private var jobs: [@Sendable () -> Void] = []
    private var waiting = 0

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeup, nil)
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        let needThread = jobs.count > waiting
        pthread_cond_signal(wakeup)
        pthread_mutex_unlock(mutex)
        if needThread {
            _ = startThread { [self] in self.work() }
        }
    }

    private func work() {
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty {
                waiting += 1
                pthread_cond_wait(wakeup, mutex)
                waiting -= 1
            }
            let job = jobs.removeFirst()
            pthread_mutex_unlock(mutex)
            job()
        }
    }
}
