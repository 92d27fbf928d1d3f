import EngramWire

/// Commands that Redis client libraries send on their own when they connect, answered so
/// that those libraries work unchanged. They are not part of the Engram protocol.
///
/// - `HELLO [2|3] …`: redis-py 8 sends `HELLO 3` and checks that the reply is a map whose
///   `proto` is 3. It gets a RESP3 map (`%`), and the connection switches to the RESP3
///   dialect: every later reply sends its nil values as `_` (``ReplyDialect/resp3``), since
///   RESP3 parsers misread `$-1` and `*-1`; objects still arrive as flat arrays. `HELLO 2`
///   gets the same fields as a flat array and switches back to RESP2; a bare `HELLO` answers
///   in, and keeps, the current dialect. Other versions get `-NOPROTO`, as from Redis, and
///   change nothing.
/// - `CLIENT SETINFO attribute value` and `CLIENT SETNAME name`: redis-py 5 and later send
///   `SETINFO` twice on every connection (and ignore an error); they get `+OK`, so that the
///   errors in `STATS` count only real ones. Nothing is kept.
enum RedisCompatibility {
    /// The encoded reply when `arguments` is such a command, else nil; `dialect` is the
    /// connection's reply dialect, updated to the one the command negotiated.
    static func reply(
        to arguments: Arguments, connection: UInt64, dialect: inout ReplyDialect
    ) -> [UInt8]? {
        if isClientSetting(arguments) { return Array("+OK\r\n".utf8) }
        guard Command.isKeyword(arguments[0], "HELLO") else { return nil }
        let current = dialect == .resp3 ? 3 : 2
        let version =
            arguments.count > 1 ? Int(String(decoding: arguments[1], as: UTF8.self)) : current
        guard let version, version == 2 || version == 3 else {
            var bytes: [UInt8] = []
            Reply.error(code: "NOPROTO", message: "unsupported protocol version; use 2 or 3")
                .encode(into: &bytes, dialect: dialect)
            return bytes
        }
        dialect = version == 3 ? .resp3 : .resp2
        let fields: [(String, Reply)] = [
            ("server", .text("engramd")), ("version", .text(Dispatcher.version)),
            ("proto", .integer(version)), ("id", .integer(Int(connection))),
            ("mode", .text("standalone")), ("role", .text("master")), ("modules", .array([])),
        ]
        var bytes: [UInt8] = []
        if version == 2 {
            Reply.object(fields).encode(into: &bytes)
            return bytes
        }
        bytes += Array("%\(fields.count)\r\n".utf8)
        for (key, value) in fields {
            Reply.text(key).encode(into: &bytes, dialect: .resp3)
            value.encode(into: &bytes, dialect: .resp3)
        }
        return bytes
    }

    /// `CLIENT SETINFO attribute value` or `CLIENT SETNAME name`.
    private static func isClientSetting(_ arguments: Arguments) -> Bool {
        guard arguments.count >= 3, Command.isKeyword(arguments[0], "CLIENT") else {
            return false
        }
        return arguments.count == 4 && Command.isKeyword(arguments[1], "SETINFO")
            || arguments.count == 3 && Command.isKeyword(arguments[1], "SETNAME")
    }
}
