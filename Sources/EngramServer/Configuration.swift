public import EngramWire
import Glibc

/// How hard a commit pushes data to disk; maps onto the store's sync policy.
public enum SyncMode: String, Sendable, CaseIterable {
    /// Data and meta pages are flushed at every commit (the default).
    case full
    /// The meta page is not flushed: an OS crash may undo the last commit, never corrupt.
    case noMetaSync = "no-meta-sync"
    /// No flushes: an OS crash loses recent commits; a process crash loses nothing.
    case none
}

/// Everything `engramd` is configured with. Built from defaults, then the config file, then
/// command-line flags, each overriding the one before.
public struct ServerConfiguration: Sendable, Equatable {
    /// The config file that was read, if any.
    public var configFile: String?
    /// Where the LMDB environment lives. Created if missing.
    public var stateDirectory: String
    /// Where to bind the socket when none is passed by socket activation.
    public var socketPath: String
    public var logLevel: LogLevel = .info
    /// Initial map size in bytes; `nil` keeps the store's default.
    public var mapSize: Int?
    /// Largest the map may grow to, in bytes; `nil` keeps the store's default.
    public var mapCap: Int?
    public var sync: SyncMode = .full
    /// Connections beyond this many get `-BUSY` and are closed.
    public var maxConnections: Int = 256
    /// Time budget of one query (`COMPLETE`, `MCOMPLETE`), in milliseconds.
    public var queryTimeoutMilliseconds: Int = 5000
    /// Threads that answer single `COMPLETE` queries in combined batches; 0 means one per
    /// online CPU.
    public var queryWorkers: Int = 0
    /// Threads running event loops (epoll) for connections; 0 means one per online CPU, at
    /// most four.
    public var eventLoops: Int = 0
    /// Request and reply size limits of every connection (see `WireLimits`); going over a
    /// request limit is a terminal `TOOBIG`.
    public var wireLimits: WireLimits = .default
    /// The most a client may leave pending while it does not read its replies: requests read
    /// but not yet answered plus replies not yet sent. Beyond it the connection is closed, as
    /// Redis's client-output-buffer-limit does.
    public var maxPendingBytes: Int = 64 << 20
    /// Permission bits of a socket the daemon binds itself.
    public var socketMode: UInt32 = 0o660
    /// Group of a socket the daemon binds itself; `nil` leaves the daemon's group.
    public var socketGroup: UInt32?
    public var roles: RolePolicy

    /// The defaults: they run unprivileged from any folder.
    ///
    /// - The state directory is `$STATE_DIRECTORY` (its first entry) under systemd, else
    ///   `./engram-state`.
    /// - The socket is `$RUNTIME_DIRECTORY/engramd.sock` under systemd, else
    ///   `<state-dir>/engramd.sock`.
    public static func defaults(environment: [String: String]) -> ServerConfiguration {
        let state =
            firstPath(environment["STATE_DIRECTORY"]) ?? "engram-state"
        return ServerConfiguration(
            stateDirectory: state, socketPath: defaultSocket(state: state, environment),
            roles: .defaultPolicy())
    }

    init(stateDirectory: String, socketPath: String, roles: RolePolicy) {
        self.stateDirectory = stateDirectory
        self.socketPath = socketPath
        self.roles = roles
    }

    static func defaultSocket(state: String, _ environment: [String: String]) -> String {
        if let runtime = firstPath(environment["RUNTIME_DIRECTORY"]) {
            return runtime + "/engramd.sock"
        }
        return state + "/engramd.sock"
    }

    /// systemd passes several directories separated by colons; the first is ours.
    private static func firstPath(_ value: String?) -> String? {
        guard let value, let first = value.split(separator: ":").first, !first.isEmpty else {
            return nil
        }
        return String(first)
    }
}

/// A configuration that cannot be used, with what to change.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// What the command line asks for.
public enum Invocation: Sendable, Equatable {
    case run(ServerConfiguration)
    case help
    case version
}
