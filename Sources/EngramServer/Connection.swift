import CEngramSys
import EngramWire
import Glibc

/// Who is on the other end of a connection.
struct Session: Sendable {
    let id: UInt64
    let peer: PeerCredentials
    let role: Command.Role
}

/// One client connection, served by its own thread from accept to close.
///
/// The loop reads what the client sent, answers every complete request in order, and sends
/// the answers of one read in one `send` (pipelined requests cost one system call each way).
/// Replies are flushed whenever the pending output passes ``flushThreshold``; a client that
/// does not read blocks that `send`, and so stops its own reading: output per connection is
/// bounded by the threshold plus the largest single reply.
final class Connection {
    static let readSize = 64 << 10
    static let flushThreshold = 256 << 10
    /// How often a thread blocked in `read` looks at the stop flag.
    static let idleCheck = timeval(tv_sec: 0, tv_usec: 200_000)

    private let fd: Int32
    private let session: Session
    private let server: ServerContext
    private var decoder: RequestDecoder
    private var output: [UInt8] = []

    init(fd: Int32, session: Session, server: ServerContext) {
        self.fd = fd
        self.session = session
        self.server = server
        self.decoder = RequestDecoder(limits: server.wireLimits)
        output.reserveCapacity(Connection.flushThreshold)
    }

    /// Serves the connection until the client leaves, a terminal error, `QUIT`, or shutdown;
    /// then removes it from the table and closes the descriptor.
    func run() {
        var timeout = Connection.idleCheck
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let input = UnsafeMutableRawBufferPointer.allocate(
            byteCount: Connection.readSize, alignment: 16)
        defer {
            input.deallocate()
            server.connections.remove(session.id)
            close(fd)
            server.log.debug("connection closed", ("conn", "\(session.id)"))
        }
        while true {
            let count = read(fd, input.baseAddress, input.count)
            if count > 0 {
                decoder.feed(UnsafeRawBufferPointer(rebasing: input[0..<count]))
                guard serveBuffered(atEnd: false) else { return }
            } else if count == 0 {
                _ = serveBuffered(atEnd: true)
                return
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                if server.isStopping {
                    send(WireError.shuttingDown.toReply())
                    return
                }
            } else {
                return
            }
        }
    }

    /// Answers every complete request in the decoder. Returns false when the connection must
    /// close (terminal error, `QUIT`, shutdown, or a peer that went away).
    private func serveBuffered(atEnd: Bool) -> Bool {
        var keepOpen = true
        while keepOpen {
            let arguments: Arguments
            do {
                guard let next = atEnd ? try decoder.finish() : try decoder.next() else { break }
                arguments = next
            } catch {
                append(error.toReply())
                server.log.info(
                    "closing connection after a framing error", ("conn", "\(session.id)"),
                    ("code", error.code.rawValue))
                keepOpen = false
                break
            }
            if server.isStopping {
                append(WireError.shuttingDown.toReply())
                keepOpen = false
                break
            }
            keepOpen = answer(arguments)
            if output.count >= Connection.flushThreshold, !flush() { return false }
        }
        return flush() && keepOpen && !atEnd
    }

    /// Runs one request and appends its reply; false when the connection must close after it.
    private func answer(_ arguments: Arguments) -> Bool {
        let started = monotonicNanoseconds()
        if let compatible = RedisCompatibility.reply(to: arguments, connection: session.id) {
            output += compatible
            return true
        }
        let outcome = server.dispatcher.handle(arguments, session: session)
        let before = output.count
        outcome.reply.encode(into: &output)
        let size = output.count - before
        if size > server.wireLimits.maxReplyBytes {
            output.removeSubrange(before...)
            WireError.replyTooBig(size, limit: server.wireLimits.maxReplyBytes)
                .toReply().encode(into: &output)
        }
        let elapsed = monotonicNanoseconds() &- started
        server.statistics.record(
            command: RequestCounters.index(of: arguments[0]), nanoseconds: elapsed,
            failed: outcome.reply.isError, shard: Int(session.id))
        return !outcome.close
    }

    private func append(_ reply: Reply) {
        reply.encode(into: &output)
    }

    private func send(_ reply: Reply) {
        append(reply)
        _ = flush()
    }

    /// Sends the pending output. False when the peer is gone (EPIPE, ECONNRESET): the
    /// connection then closes quietly; the daemon never sees SIGPIPE (MSG_NOSIGNAL).
    private func flush() -> Bool {
        guard !output.isEmpty else { return true }
        let sent = output.withUnsafeBytes { csys_send_all(fd, $0.baseAddress, $0.count) }
        if output.capacity > 4 * Connection.flushThreshold {
            output = []
            output.reserveCapacity(Connection.flushThreshold)
        } else {
            output.removeAll(keepingCapacity: true)
        }
        return sent == 0
    }
}
