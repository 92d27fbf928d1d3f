import CEngramSys
import EngramWire
import Glibc
import Synchronization

/// Who is on the other end of a connection.
struct Session: Sendable {
    let id: UInt64
    let peer: PeerCredentials
    let role: Command.Role
}

/// One client connection: its request decoder, its pending output, and the two ways it is
/// served.
///
/// An event loop serves it while that costs no waiting (``serveReady()``): it reads what has
/// arrived without blocking, answers the requests that need neither the writer nor a query
/// (`PING`, `GET`, `INFO`, errors …) and sends their replies without blocking. A single
/// `COMPLETE` is queued in the query pool, which owns the connection until the answer: the
/// worker that computed it appends the reply and goes on serving the connection as a loop
/// would, then hands it on with ``resume``. Everything else — a write waiting for its commit,
/// a reply the client is slow to take — moves the connection to a handler thread
/// (``serveBlocking(_:)``), which may block; the connection returns to its loop afterwards.
/// Requests are answered strictly in order in every case.
///
/// Ownership: one thread at a time. The loop's epoll registration is one-shot, so no event is
/// delivered while a thread owns the connection; whoever owns it last closes it.
final class Connection: @unchecked Sendable {
    static let readSize = 64 << 10
    /// Pending output is sent once it passes this; a client that does not read then holds
    /// its handler thread, which keeps reading its requests up to the configuration's
    /// `maxPendingBytes`.
    static let flushThreshold = 256 << 10

    /// What the event loop does next with a connection it served.
    enum Next {
        /// Wait for more input.
        case rearm
        /// Back to the loop at once, to serve requests already read: a query worker that
        /// answered one leaves the next ones of a pipeline to the loop, so that parsing them
        /// runs beside the queries rather than on the worker.
        case serveAgain
        /// Move to a handler thread, with the request that needs one (if any).
        case handOff(Arguments?)
        /// Nothing: a query worker owns the connection until its `COMPLETE` is answered,
        /// then passes the next step to ``resume``.
        case queued
        /// Close now.
        case close
    }

    let fd: Int32
    let session: Session
    /// True while the connection waits in its loop's epoll set; claimed with a
    /// compare-and-exchange by whoever takes it out (an event, or the shutdown sweep).
    let armed = Atomic<Bool>(false)
    /// Where a query worker hands the connection on after answering its `COMPLETE`; set by
    /// the event loops before the connection is first armed.
    var resume: (@Sendable (Connection, Next) -> Void)?
    private let server: ServerContext
    private var decoder: RequestDecoder
    private var output: [UInt8] = []
    private var sawEnd = false
    /// Set when ``flush()`` read input while it waited to send.
    private var readDuringFlush = false
    private var closing = false
    /// The reply encoding negotiated by `HELLO` (RESP2 until a client asks for 3); every
    /// reply on this connection, whichever thread answers it, is encoded with it.
    private var dialect: ReplyDialect = .resp2
    private let input = UnsafeMutableRawBufferPointer.allocate(
        byteCount: Connection.readSize, alignment: 16)

    init(fd: Int32, session: Session, server: ServerContext) {
        self.fd = fd
        self.session = session
        self.server = server
        self.decoder = RequestDecoder(limits: server.wireLimits)
    }

    deinit { input.deallocate() }

    // MARK: - On the event loop

    /// Reads what has arrived (unless `reading` is false) and answers what can be answered
    /// without waiting.
    ///
    /// `reading` is false after a query's answer when nothing more has been read: the client
    /// is waiting for its reply and has sent nothing more, so a read would only cost a system
    /// call to learn that; anything it did send wakes the loop when the connection is re-armed.
    func serveReady(reading: Bool = true) -> Next {
        while reading {
            let count = recv(fd, input.baseAddress, input.count, Int32(MSG_DONTWAIT))
            if count > 0 {
                decoder.feed(UnsafeRawBufferPointer(rebasing: input[0..<count]))
                if count < input.count { break }
            } else if count == 0 {
                sawEnd = true
                break
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                break
            } else {
                return .close
            }
        }
        while true {
            let arguments: Arguments
            do {
                guard let next = try decoder.next() else { break }
                arguments = next
            } catch {
                closeAfter(error)
                return .handOff(nil)
            }
            if server.isStopping {
                closeAfter(.shuttingDown)
                return .handOff(nil)
            }
            let keepOpen: Bool
            let verb = Command.Verb(arguments[0])
            if verb == .complete {  // to the query pool, which owns the connection until then
                guard let answered = startQuery(arguments) else { return .queued }
                keepOpen = answered
            } else if Connection.waits(verb) {
                return .handOff(arguments)
            } else {
                keepOpen = answer(arguments)
            }
            if !keepOpen {
                closing = true
                return .handOff(nil)
            }
            if output.count >= Connection.flushThreshold {
                switch sendWithoutWaiting() {
                case .sent: break
                case .pending: return .handOff(nil)
                case .failed: return .close
                }
            }
        }
        if sawEnd { return .handOff(nil) }
        switch sendWithoutWaiting() {
        case .sent: return .rearm
        case .pending: return .handOff(nil)
        case .failed: return .close
        }
    }

    /// Queues a `COMPLETE`. Returns nil when it was queued (the pool owns the connection
    /// now); when it was answered at once, whether the connection stays open, as ``answer(_:)``.
    private func startQuery(_ arguments: Arguments) -> Bool? {
        let started = monotonicNanoseconds()
        let immediate = server.dispatcher.start(
            arguments, session: session, abandoned: { [self] in peerHungUp() }
        ) { [self] outcome in
            let keepOpen = finish(arguments, outcome, started: started)
            if !keepOpen { closing = true }
            resume?(self, keepOpen ? afterQuery() : .handOff(nil))
        }
        return immediate.map { finish(arguments, $0, started: started) }
    }

    /// The next step once a query's answer is in `output`, on the worker that answered it.
    private func afterQuery() -> Next {
        guard decoder.bufferedByteCount > 0 else { return serveReady(reading: false) }
        switch sendWithoutWaiting() {
        case .sent: return .serveAgain
        case .pending: return .handOff(nil)
        case .failed: return .close
        }
    }

    /// Whether the client closed its end entirely. A Unix stream socket reports POLLHUP only
    /// then: a client that only shut down its sending side (`nc -N`) still gets its replies.
    private func peerHungUp() -> Bool {
        var watch = pollfd(fd: fd, events: 0, revents: 0)
        return poll(&watch, 1, 0) == 1 && watch.revents & Int16(POLLHUP) != 0
    }

    /// Commands that wait for the writer thread, the query pool or a backup.
    static func waits(_ verb: Command.Verb?) -> Bool {
        switch verb {
        case .store, .mstore, .jobSet, .bankCreate, .bankDrop, .backup, .complete, .mcomplete:
            true
        default: false
        }
    }

    private enum Sent { case sent, pending, failed }

    /// One non-blocking send of `output[offset...]`: bytes sent, or -1 with errno set. Never
    /// raises SIGPIPE.
    private func sendOutput(from offset: Int) -> Int {
        output.withUnsafeBytes { raw in
            send(
                fd, raw.baseAddress! + offset, raw.count - offset,
                Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        }
    }

    private func sendWithoutWaiting() -> Sent {
        var offset = 0
        defer { if offset > 0 { output.removeSubrange(0..<offset) } }
        while offset < output.count {
            let sent = sendOutput(from: offset)
            if sent > 0 {
                offset += sent
            } else if sent < 0, errno == EINTR {
                continue
            } else if sent < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                return .pending
            } else {
                return .failed
            }
        }
        return .sent
    }

    // MARK: - On a handler thread

    /// Answers `first`, then every request already buffered, blocking as needed; sends all
    /// pending output. Returns true when the connection goes back to its event loop.
    func serveBlocking(_ first: Arguments?) -> Bool {
        if closing {
            _ = flush()
            return false
        }
        if let first {
            if server.isStopping {
                closeAfter(.shuttingDown)
                _ = flush()
                return false
            }
            guard answer(first) else {
                _ = flush()
                return false
            }
            if output.count >= Connection.flushThreshold, !flush() { return false }
        }
        guard serveBuffered() else { return false }
        if server.isStopping {
            sendShutdown()
            return false
        }
        return true
    }

    /// `-SHUTDOWN` to an idle connection at the end of a drain (best effort, never blocks).
    func sendShutdown() {
        output.removeAll()
        WireError.shuttingDown.toReply().encode(into: &output, dialect: dialect)
        _ = sendWithoutWaiting()
    }

    /// Answers every complete request in the decoder. Returns false when the connection must
    /// close (terminal error, `QUIT`, shutdown, the end of the input, or a peer that went away).
    private func serveBuffered() -> Bool {
        while true {
            let atEnd = sawEnd
            readDuringFlush = false
            var keepOpen = true
            while keepOpen {
                let arguments: Arguments
                do {
                    guard let next = atEnd ? try decoder.finish() : try decoder.next() else {
                        break
                    }
                    arguments = next
                } catch {
                    closeAfter(error)
                    keepOpen = false
                    break
                }
                if server.isStopping {
                    closeAfter(.shuttingDown)
                    keepOpen = false
                    break
                }
                keepOpen = answer(arguments)
                if output.count >= Connection.flushThreshold, !flush() { return false }
            }
            guard flush(), keepOpen else { return false }
            // Requests read while replies waited to be sent have no epoll event left to wake
            // the loop: answer them before giving the connection back.
            if readDuringFlush { continue }
            return !atEnd
        }
    }

    // MARK: - Requests and output

    /// Runs one request and appends its reply; false when the connection must close after it.
    private func answer(_ arguments: Arguments) -> Bool {
        let started = monotonicNanoseconds()
        if let compatible = RedisCompatibility.reply(
            to: arguments, connection: session.id, dialect: &dialect)
        {
            output += compatible
            return true
        }
        return finish(
            arguments, server.dispatcher.handle(arguments, session: session), started: started)
    }

    /// Appends the reply of a request that began at `started` (a reply over the size limit
    /// becomes `REPLYTOOBIG`) and counts it; false when the connection must close after it.
    private func finish(
        _ arguments: Arguments, _ outcome: Dispatcher.Outcome, started: UInt64
    ) -> Bool {
        let before = output.count
        outcome.reply.encode(into: &output, dialect: dialect)
        let size = output.count - before
        if size > server.wireLimits.maxReplyBytes {
            output.removeSubrange(before...)
            WireError.replyTooBig(size, limit: server.wireLimits.maxReplyBytes)
                .toReply().encode(into: &output, dialect: dialect)
        }
        let elapsed = monotonicNanoseconds() &- started
        server.statistics.record(
            command: RequestCounters.index(of: arguments[0]), nanoseconds: elapsed,
            failed: outcome.reply.isError, shard: Int(session.id))
        return !outcome.close
    }

    /// Appends a terminal error; the connection closes once it is sent.
    private func closeAfter(_ error: WireError) {
        error.toReply().encode(into: &output, dialect: dialect)
        closing = true
        if error.code != .shutdown {
            server.log.info(
                "closing connection after a framing error", ("conn", "\(session.id)"),
                ("code", error.code.rawValue))
        }
    }

    /// Sends the pending output, waiting while the client does not take it. Meanwhile the
    /// client's input is still read (into the decoder, answered later in order): a client that
    /// writes a long pipeline before reading any reply would otherwise block in its `send`
    /// while we block in ours. A client that leaves more than `maxPendingBytes` of requests
    /// and replies pending is closed, as Redis's client-output-buffer-limit does. False when
    /// the connection must close (that limit, EPIPE, ECONNRESET); the daemon never sees
    /// SIGPIPE (MSG_NOSIGNAL).
    private func flush() -> Bool {
        guard !output.isEmpty else { return true }
        let sent = sendAll()
        if output.capacity > 4 * Connection.flushThreshold {
            output = []
        } else {
            output.removeAll(keepingCapacity: true)
        }
        return sent
    }

    private func sendAll() -> Bool {
        var offset = 0
        while offset < output.count {
            let sent = sendOutput(from: offset)
            if sent > 0 {
                offset += sent
                continue
            }
            guard sent < 0, errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK else {
                return false
            }
            if errno == EINTR { continue }
            var events = Int16(POLLOUT)
            if !sawEnd { events |= Int16(POLLIN) }
            var watch = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&watch, 1, -1)
            if ready < 0, errno != EINTR { return false }
            if watch.revents & Int16(POLLIN) != 0, !sawEnd {
                guard readWhileSending(pending: output.count - offset) else { return false }
            }
        }
        return true
    }

    /// Reads what the client sent while its replies wait; false when it must be closed.
    private func readWhileSending(pending: Int) -> Bool {
        let count = recv(fd, input.baseAddress, input.count, Int32(MSG_DONTWAIT))
        if count > 0 {
            decoder.feed(UnsafeRawBufferPointer(rebasing: input[0..<count]))
            readDuringFlush = true
            guard decoder.bufferedByteCount + pending <= server.configuration.maxPendingBytes
            else {
                server.log.warning(
                    "closing a connection that does not read its replies",
                    ("conn", "\(session.id)"),
                    ("pending_bytes", "\(decoder.bufferedByteCount + pending)"))
                return false
            }
        } else if count == 0 {
            sawEnd = true
            readDuringFlush = true
        } else if errno != EINTR, errno != EAGAIN, errno != EWOULDBLOCK {
            return false
        }
        return true
    }
}
