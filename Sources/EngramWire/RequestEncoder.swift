// Client side: an argument list as a RESP2 array of bulk strings.

/// Encodes requests the way `redis-cli` does: `*N\r\n` then `$len\r\n<bytes>\r\n` per
/// argument. Binary-safe, so vectors may travel as `BIN` bulk strings.
public enum RequestEncoder {
    /// Appends the RESP encoding of `arguments` to `buffer`.
    ///
    /// - Complexity: O(total argument bytes).
    public static func encode(_ arguments: Arguments, into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        Reply.appendDecimal(arguments.count, to: &buffer)
        Reply.appendCRLF(to: &buffer)
        for argument in arguments {
            buffer.append(UInt8(ascii: "$"))
            Reply.appendDecimal(argument.count, to: &buffer)
            Reply.appendCRLF(to: &buffer)
            buffer.append(contentsOf: argument)
            Reply.appendCRLF(to: &buffer)
        }
    }

    /// The RESP encoding of `arguments`.
    public static func encode(_ arguments: Arguments) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(arguments.reduce(16) { $0 + $1.count + 16 })
        encode(arguments, into: &buffer)
        return buffer
    }

    /// The RESP encoding of `command` (``Command/arguments``).
    public static func encode(_ command: Command) -> [UInt8] {
        encode(command.arguments)
    }
}
