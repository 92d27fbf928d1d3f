import Glibc

/// Starts a detached OS thread running `body`.
///
/// Connection and writer work blocks in system calls and LMDB locks, so it runs on its own
/// threads rather than on Swift's cooperative pool, which must never block.
///
/// - Returns: false when the system refused a new thread (`EAGAIN`: thread or memory limit).
func startThread(stackBytes: Int = 4 << 20, _ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box: @unchecked Sendable {
        // Immutable after init, handed to exactly one new thread.
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    pthread_attr_setstacksize(&attributes, stackBytes)
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
        &thread, &attributes,
        { raw in
            let box = Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue()
            (box as! Box).body()
            return nil
        }, box)
    if result != 0 {
        Unmanaged<AnyObject>.fromOpaque(box).release()
        return false
    }
    return true
}
