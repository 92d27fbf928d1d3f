import EngramCLI
import EngramWire
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A stand-in for engramd on a real Unix socket that answers with scripted replies, for client
/// behaviour a real daemon shows only under load (time budgets). One connection at a time;
/// requests are parsed with the shared grammar, so malformed requests fail the test.
final class FakeDaemon: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let script: @Sendable (Command) -> Script
    private let thread: Thread
    /// Requests seen, guarded by `lock`.
    private var seen: [Command] = []
    private let lock = NSLock()

    /// What the fake does with one request: send these replies (none: the reply is lost),
    /// then close the connection with what the client sent after it unread, if `hangUp`.
    struct Script: Sendable {
        var replies: [Reply]
        var hangUp = false
    }

    convenience init(respond: @escaping @Sendable (Command) -> Reply) throws {
        try self.init(script: { Script(replies: [respond($0)]) })
    }

    init(script: @escaping @Sendable (Command) -> Script) throws {
        path = "/tmp/engram-fake-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        self.script = script
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8) + [0]
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 4) == 0 else {
            throw CLIError(.io, "fake daemon cannot listen on \(path)")
        }
        let box = Box()
        thread = Thread { box.daemon?.serve() }
        box.daemon = self
        thread.start()
    }

    /// Stops accepting (the serving thread ends) and removes the socket file.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(path)
    }

    var requests: [Command] {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }

    private final class Box: @unchecked Sendable { weak var daemon: FakeDaemon? }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var decoder = RequestDecoder()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            decoder.feed(chunk[..<count])
            while let arguments = try? decoder.next() {
                let action: Script
                do {
                    let command = try Command.parse(arguments)
                    lock.lock()
                    seen.append(command)
                    lock.unlock()
                    action = script(command)
                } catch {
                    action = Script(replies: [error.toReply()])
                }
                for reply in action.replies {
                    let bytes = reply.encoded
                    _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
                }
                if action.hangUp { return }
            }
        }
    }
}
