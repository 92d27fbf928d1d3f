// Requests to engramd and their replies, over one connection.

import EngramWire

/// One connection to engramd speaking RESP2.
///
/// Requests may be pipelined: ``send(_:)`` several, then ``receive()`` their replies in order.
/// ``call(_:)`` is send-then-receive with error replies turned into ``CLIError``s of kind
/// `daemon`. Not thread-safe; owned by one command.
final class DaemonClient {
    private let socket: UnixSocket
    private var decoder = ReplyDecoder()
    private var inbox: [UInt8] = []
    /// Requests sent whose replies have not been received.
    private(set) var outstanding = 0

    init(path: String) throws(CLIError) {
        socket = try UnixSocket(path: path)
    }

    var path: String { socket.path }

    /// Sends one request without waiting for its reply.
    func send(_ arguments: [[UInt8]]) throws(CLIError) {
        try socket.send(RequestEncoder.encode(arguments))
        outstanding += 1
    }

    /// Sends one request made of text arguments.
    func send(_ arguments: [String]) throws(CLIError) {
        try send(arguments.map { Array($0.utf8) })
    }

    /// The next reply, error replies included.
    ///
    /// - Throws: `unavailable` when the connection closes or the reply stream is malformed.
    func receive() throws(CLIError) -> Reply {
        while true {
            do {
                if let reply = try decoder.next() {
                    outstanding -= 1
                    return reply
                }
            } catch {
                throw CLIError(
                    .unavailable,
                    "engramd at \(path) sent a malformed reply: \(error.code) \(error.message)")
            }
            inbox.removeAll(keepingCapacity: true)
            guard try socket.receive(into: &inbox) else {
                throw CLIError(
                    .unavailable, "engramd at \(path) closed the connection",
                    hint: "the daemon may be stopping or have hit a limit; see its log")
            }
            decoder.feed(inbox)
        }
    }

    /// The next reply, with an error reply thrown as a `daemon` ``CLIError``.
    func receiveValue() throws(CLIError) -> Reply {
        let reply = try receive()
        if case .error(let code, let message) = reply {
            throw CLIError(.daemon(code: code), message.isEmpty ? code : "\(code): \(message)")
        }
        return reply
    }

    /// Sends a request and waits for its reply.
    func call(_ arguments: [String]) throws(CLIError) -> Reply {
        try send(arguments)
        return try receiveValue()
    }

    /// Sends a request of byte arguments and waits for its reply.
    func call(_ arguments: [[UInt8]]) throws(CLIError) -> Reply {
        try send(arguments)
        return try receiveValue()
    }

    func close() { socket.close() }
}
