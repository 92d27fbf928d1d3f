// The size limits that keep one connection from exhausting the daemon's memory.

/// Limits on what one connection may send and receive. Going over a request limit is a
/// terminal `TOOBIG` error (the connection is closed after the reply).
public struct WireLimits: Sendable, Hashable {
    /// Longest inline line, in bytes, without its LF or CRLF terminator. Default 1 MiB
    /// (a 4096-dimension text vector is about 50 KB).
    public var maxInlineLength: Int
    /// Longest bulk string in a RESP request, in bytes. Default 64 MiB.
    public var maxBulkLength: Int
    /// Most arguments in one request (the `N` of `*N`, or inline tokens). Default 1,048,576.
    public var maxArguments: Int
    /// Most bytes of argument data in one request, summed over its arguments.
    /// Default 512 MiB.
    public var maxRequestBytes: Int
    /// Largest encoded reply the server will send; a bigger reply is replaced by a
    /// `TOOBIG` error (the connection stays open). Clients use it as the limit on a single
    /// received reply. Default 256 MiB.
    public var maxReplyBytes: Int

    public init(
        maxInlineLength: Int = 1 << 20,
        maxBulkLength: Int = 64 << 20,
        maxArguments: Int = 1 << 20,
        maxRequestBytes: Int = 512 << 20,
        maxReplyBytes: Int = 256 << 20
    ) {
        self.maxInlineLength = maxInlineLength
        self.maxBulkLength = maxBulkLength
        self.maxArguments = maxArguments
        self.maxRequestBytes = maxRequestBytes
        self.maxReplyBytes = maxReplyBytes
    }

    /// The defaults listed on each property.
    public static let `default` = WireLimits()

    /// Longest RESP header line (`*N` or `$len`) before its CRLF. Anything longer is not a
    /// number we would accept, so it is a framing error found without buffering more.
    static let maxHeaderLength = 32
}
