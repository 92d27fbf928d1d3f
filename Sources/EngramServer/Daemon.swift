import CEngramSys
import EngramStore
import EngramWire
import Glibc
import Synchronization

/// What every connection thread shares. Immutable references to thread-safe parts only.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let log: Logger
    let notifier: ServiceNotifier
    let statistics = RequestCounters()
    let connections = ConnectionTable()
    var wireLimits: WireLimits { configuration.wireLimits }
    let dispatcher: Dispatcher
    private let stopFlag = Atomic<Bool>(false)
    private let stopNowFlag = Atomic<Bool>(false)

    init(
        configuration: ServerConfiguration, log: Logger, notifier: ServiceNotifier, store: Store
    ) {
        self.configuration = configuration
        self.log = log
        self.notifier = notifier
        self.dispatcher = Dispatcher(
            store: store, configuration: configuration, log: log, statistics: statistics,
            connections: connections)
    }

    /// Set once a stop signal arrived: no new connections, no new requests.
    var isStopping: Bool { stopFlag.load(ordering: .acquiring) }

    func requestStop() { stopFlag.store(true, ordering: .releasing) }

    /// Set by a second stop signal: the drain's grace period ends at once.
    var isStoppingNow: Bool { stopNowFlag.load(ordering: .acquiring) }

    func requestStopNow() { stopNowFlag.store(true, ordering: .releasing) }
}

/// The `engramd` program: configuration, start-up, serving, shutdown.
public enum Daemon {
    /// Runs the daemon in the foreground until SIGTERM or SIGINT; returns the exit status
    /// (0 after a clean shutdown, 1 when start-up failed, 2 for a bad command line).
    ///
    /// Call it first thing in `main`: it installs the signal handlers before any of the
    /// daemon's threads exist (see ``StopSignals``).
    public static func main(arguments: [String]) -> Int32 {
        StopSignals.install()
        let environment = currentEnvironment()
        let configuration: ServerConfiguration
        do {
            switch try ServerConfiguration.parse(arguments: arguments, environment: environment) {
            case .help:
                writeStdout(ServerConfiguration.helpText)
                return 0
            case .version:
                writeStdout("engramd \(Dispatcher.version)\n")
                return 0
            case .run(let parsed):
                configuration = parsed
            }
        } catch {
            writeStderr("engramd: \(error.message)\n")
            return 2
        }
        let log = Logger(
            level: configuration.logLevel, sink: Logger.defaultSink(environment: environment))
        var lifecycle = Lifecycle(configuration: configuration, log: log)
        return lifecycle.run()
    }
}

/// The message of a job that was running when the previous daemon stopped.
let interruptedJobMessage = "interrupted: engramd restarted; run the same ingest again to resume"

/// Marks every job still `running` as `failed` with ``interruptedJobMessage``: the store is
/// open in this process only (its `flock`), so whoever drove those jobs lost the daemon they
/// wrote through and is gone. Their progress is kept, so the same ingest resumes. Returns the
/// ids changed.
func failInterruptedJobs(in store: Store) throws -> [String] {
    let running = try store.jobs().filter { $0.state == .running }
    for job in running {
        try store.setJobState(id: job.id, .failed, message: interruptedJobMessage)
    }
    return running.map(\.id)
}

/// One run of the daemon, from opening the store to closing it.
private struct Lifecycle {
    var configuration: ServerConfiguration
    let log: Logger

    /// The LMDB environment's directory inside the state directory, which also holds the
    /// default socket and relative backups.
    static let databaseDirectory = "db"

    mutating func run() -> Int32 {
        log.notice(
            "starting", ("version", Dispatcher.version), ("pid", "\(getpid())"),
            ("state_dir", configuration.stateDirectory))
        let notifier = ServiceNotifier()
        let store: Store
        do {
            try makeDirectory(configuration.stateDirectory)
            configuration.stateDirectory = absolutePath(configuration.stateDirectory)
            store = try openStore()
        } catch {
            log.error(
                "cannot open the store", ("state_dir", configuration.stateDirectory),
                ("error", "\(error)"))
            return 1
        }
        do {
            for id in try failInterruptedJobs(in: store) {
                log.warning("marked an interrupted ingest job failed", ("job", id))
            }
        } catch {
            log.error("cannot update interrupted jobs", ("error", "\(error)"))
            store.close()
            return 1
        }
        let listener: Listener
        do {
            listener = try makeListener()
        } catch {
            log.error("cannot listen", ("error", error.message))
            store.close()
            return 1
        }
        let server = ServerContext(
            configuration: configuration, log: log, notifier: notifier, store: store)
        let wake = WakePipe()
        guard startSignalThread(server: server, wake: wake) else {
            log.error("cannot start the signal thread", ("error", errnoText()))
            return 1
        }
        notifier.ready(status: server.dispatcher.statusLine())
        log.notice(
            "ready", ("socket", listener.path ?? "activated fd \(listener.fd)"),
            ("banks", "\(server.dispatcher.bankCount())"))
        let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let loopCount =
            configuration.eventLoops > 0
            ? configuration.eventLoops : EventLoops.defaultCount(cores: cores)
        let loops = EventLoops(server: server, count: loopCount)
        AcceptLoop(server: server, listener: listener, wake: wake, loops: loops).run()
        return shutDown(server: server, listener: listener, store: store)
    }

    private func openStore() throws -> Store {
        var options = StoreOptions()
        if let size = configuration.mapSize { options.initialMapSize = size }
        if let cap = configuration.mapCap { options.mapCap = cap }
        options.sync = Dispatcher.storeSync(configuration.sync)
        return try Store(
            directory: configuration.stateDirectory + "/" + Lifecycle.databaseDirectory,
            options: options)
    }

    /// A socket passed by the service manager, or one we bind at the configured path.
    private func makeListener() throws(StartupError) -> Listener {
        let passed = SocketActivation.listeningSockets()
        for fd in passed.unusable {
            log.warning(
                "ignoring a passed descriptor that is not a listening Unix socket",
                ("fd", "\(fd)"))
            close(fd)
        }
        if let fd = passed.usable.first {
            for extra in passed.usable.dropFirst() {
                log.warning("ignoring an extra passed socket", ("fd", "\(extra)"))
                close(extra)
            }
            log.info("using the socket passed by the service manager", ("fd", "\(fd)"))
            return Listener(activatedFD: fd)
        }
        let listener = try Listener(
            path: configuration.socketPath, mode: configuration.socketMode,
            group: configuration.socketGroup)
        log.info(
            "listening", ("socket", configuration.socketPath),
            ("mode", String(configuration.socketMode, radix: 8)))
        return listener
    }

    /// Stop accepting, let in-flight requests finish (new ones get `-SHUTDOWN`), then commit,
    /// sync and close the store.
    ///
    /// The drain lasts until the last connection is gone, at most 10 s, or until a second stop
    /// signal. Connections still open then are shut down and get 2 s more to go. The store is
    /// closed even if some are still busy: a query computes on a snapshot, which outlives the
    /// store, and a write already queued is committed first (`Store.close()` serves the queue
    /// before it stops; later ones fail with `closed`): only those writes, and a backup
    /// under way, are waited for.
    private func shutDown(server: ServerContext, listener: Listener, store: Store) -> Int32 {
        listener.close()
        let grace = monotonicNanoseconds() + 10_000_000_000
        while server.connections.count > 0, !server.isStoppingNow,
            monotonicNanoseconds() < grace
        {
            usleep(10_000)
        }
        if server.connections.count > 0 {
            log.warning(
                server.isStoppingNow
                    ? "closing connections still busy after a second stop signal"
                    : "closing connections still busy after the grace period",
                ("connections", "\(server.connections.count)"))
            server.connections.shutdownAll()
            let hard = monotonicNanoseconds() + 2_000_000_000
            while server.connections.count > 0, monotonicNanoseconds() < hard { usleep(10_000) }
        }
        store.close()
        log.notice("stopped", ("connections_served", "\(server.connections.accepted)"))
        return 0
    }

    /// A thread that turns stop signals into an orderly shutdown.
    private func startSignalThread(server: ServerContext, wake: WakePipe) -> Bool {
        startThread(stackBytes: 256 << 10) {
            StopSignals.unblockInThisThread()
            while true {
                let received = StopSignals.wait()
                if received == SIGHUP {
                    server.log.notice("SIGHUP ignored: restart the daemon to apply new settings")
                    continue
                }
                let name = received == SIGTERM ? "SIGTERM" : "SIGINT"
                if server.isStopping {
                    server.log.warning(
                        "second stop signal: closing connections now", ("signal", name))
                    server.requestStopNow()
                    server.connections.shutdownAll()
                    continue
                }
                server.notifier.stopping(status: "stopping")
                server.log.notice("stopping", ("signal", name))
                server.requestStop()
                wake.signal()
            }
        }
    }
}

// MARK: - The accept loop

/// Accepts connections and keeps the service manager informed. `WATCHDOG=1` is sent from here,
/// and only while this loop, every event loop (each went round recently) and the store (it
/// answers a read) are alive.
private struct AcceptLoop {
    let server: ServerContext
    let listener: Listener
    let wake: WakePipe
    let loops: EventLoops

    func run() {
        let interval = server.notifier.watchdogInterval
        let tickMilliseconds = Int32(min(1000, max(1, (interval ?? 1_000_000) / 1000)))
        var nextWatchdog = monotonicNanoseconds()
        var lastStatus = ""
        var fds = [
            pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0),
        ]
        while !server.isStopping {
            let ready = poll(&fds, nfds_t(fds.count), tickMilliseconds)
            if ready > 0, fds[0].revents & Int16(POLLIN) != 0 { acceptOne() }
            if let interval, monotonicNanoseconds() >= nextWatchdog {
                if !loops.alive(within: max(2_000_000_000, interval * 1000)) {
                    server.log.error("an event loop is stuck; withholding the watchdog keep-alive")
                } else if server.dispatcher.healthy() {
                    server.notifier.watchdog()
                } else {
                    server.log.error("store check failed; withholding the watchdog keep-alive")
                }
                nextWatchdog = monotonicNanoseconds() + interval * 1000
            }
            let status = server.dispatcher.statusLine()
            if status != lastStatus {
                server.notifier.status(status)
                lastStatus = status
            }
        }
    }

    private func acceptOne() {
        guard let fd = listener.accept() else {
            if errno != EAGAIN, errno != EINTR, errno != ECONNABORTED {
                server.log.warning("accept failed", ("error", errnoText()))
                if errno == EMFILE || errno == ENFILE { usleep(100_000) }
            }
            return
        }
        guard let peer = peerCredentials(of: fd) else {
            server.log.warning("no peer credentials; closing", ("error", errnoText()))
            close(fd)
            return
        }
        let role = server.configuration.roles.role(for: peer)
        guard let role else {
            server.log.notice(
                "refusing a peer without a role", ("uid", "\(peer.uid)"), ("pid", "\(peer.pid)"))
            reject(fd, WireError(.perm, "uid \(peer.uid) has no role on this server"))
            return
        }
        guard let id = server.connections.add(fd: fd, limit: server.configuration.maxConnections)
        else {
            server.log.warning(
                "connection limit reached", ("limit", "\(server.configuration.maxConnections)"))
            reject(fd, WireError.busy(limit: server.configuration.maxConnections))
            return
        }
        let session = Session(id: id, peer: peer, role: role)
        server.log.debug(
            "connection opened", ("conn", "\(id)"), ("uid", "\(peer.uid)"),
            ("pid", "\(peer.pid)"), ("role", "\(role)"))
        loops.add(Connection(fd: fd, session: session, server: server))
    }

    private func reject(_ fd: Int32, _ error: WireError) {
        var bytes: [UInt8] = []
        error.toReply().encode(into: &bytes)
        _ = bytes.withUnsafeBytes { csys_send_all(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}

// MARK: - Small system helpers

/// A pipe whose read end the accept loop polls, so another thread can wake it.
final class WakePipe: Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }
}

/// `mkdir -p` with mode 0750 for the directories it creates.
func makeDirectory(_ path: String) throws(StartupError) {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        prefix += part
        if mkdir(prefix, 0o750) != 0, errno != EEXIST {
            throw StartupError(message: "cannot create \(prefix): \(errnoText())")
        }
        prefix += "/"
    }
}

/// `path` made absolute and free of symbolic links, or unchanged when it cannot be resolved.
func absolutePath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}

func currentEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        pointer += 1
    }
    return result
}

func writeStdout(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { csys_write_all(1, $0.baseAddress, $0.count) }
}

func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { csys_write_all(2, $0.baseAddress, $0.count) }
}
