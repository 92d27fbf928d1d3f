import EngramWire

/// Commands that Redis client libraries send on their own when they connect, answered so
/// that those libraries work unchanged. They are not part of the Engram protocol.
///
/// - `HELLO [2|3] …`: redis-py 8 sends `HELLO 3` and checks that the reply is a map whose
///   `proto` is 3. It gets a RESP3 map (`%`); every later reply is RESP2, which RESP3 parsers
///   read as well (objects arrive as flat arrays). `HELLO 2` or a bare `HELLO` gets the same
///   fields as a flat array. Other versions get `-NOPROTO`, as from Redis.
enum RedisCompatibility {
    /// The encoded reply when `arguments` is such a command, else nil.
    static func reply(to arguments: Arguments, connection: UInt64) -> [UInt8]? {
        guard arguments[0].count == 5,
            arguments[0].map({ $0 & 0xDF }).elementsEqual("HELLO".utf8)
        else { return nil }
        let version = arguments.count > 1 ? Int(String(decoding: arguments[1], as: UTF8.self)) : 2
        guard let version, version == 2 || version == 3 else {
            var bytes: [UInt8] = []
            Reply.error(code: "NOPROTO", message: "unsupported protocol version; use 2 or 3")
                .encode(into: &bytes)
            return bytes
        }
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
            Reply.text(key).encode(into: &bytes)
            value.encode(into: &bytes)
        }
        return bytes
    }
}
