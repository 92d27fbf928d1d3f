import Glibc
import Synchronization

/// The open client connections: their descriptors, for the count in `STATUS=`/`INFO` and for
/// forcing stuck connections closed at the end of a shutdown grace period. Thread-safe.
final class ConnectionTable: Sendable {
    private let open = Mutex<[UInt64: Int32]>([:])
    private let nextID = Atomic<UInt64>(1)
    private let total = Atomic<UInt64>(0)

    /// Registers a connection unless `limit` are already open. Returns its id, or nil when full.
    func add(fd: Int32, limit: Int) -> UInt64? {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let added = open.withLock { table -> Bool in
            guard table.count < limit else { return false }
            table[id] = fd
            return true
        }
        guard added else { return nil }
        total.wrappingAdd(1, ordering: .relaxed)
        return id
    }

    /// Removes a connection; the caller closes its descriptor afterwards, so that a forced
    /// shutdown never touches a descriptor number that was already reused.
    func remove(_ id: UInt64) {
        _ = open.withLock { $0.removeValue(forKey: id) }
    }

    var count: Int { open.withLock { $0.count } }

    /// Connections accepted since start.
    var accepted: UInt64 { total.load(ordering: .relaxed) }

    /// Shuts down every open connection in both directions, which wakes threads blocked in
    /// `read` or `send`; they then close their descriptors themselves.
    func shutdownAll() {
        open.withLock { table in
            for fd in table.values { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }
}
