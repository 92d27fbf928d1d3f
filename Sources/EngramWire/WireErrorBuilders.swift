// The errors the server raises after parsing, with the messages the protocol reference
// shows, so that every path words them the same way.

extension WireError {
    /// `NOBANK`: no bank of that name.
    public static func noBank(_ name: String) -> WireError {
        WireError(
            .noBank,
            "no bank \(quote(name)); BANK.LIST shows the banks, BANK.CREATE makes one")
    }

    /// `EXISTS`: a bank of that name already exists.
    public static func bankExists(_ name: String) -> WireError {
        WireError(
            .exists, "bank \(quote(name)) already exists; BANK.INFO \(name) shows it")
    }

    /// `DIM`: a vector's length differs from the bank's dimension. `vector` numbers the
    /// vector of a batch from 1; `nil` for a single vector.
    public static func dimension(
        got: Int, expected: Int, bank: String, vector: Int? = nil
    ) -> WireError {
        let which = vector.map { "vector \($0) has" } ?? "the vector has"
        return WireError(
            .dim, "\(which) \(got) components; bank \(quote(bank)) has dimension \(expected)")
    }

    /// `NOTFOUND`: no pattern with that sequence number.
    public static func noPattern(seq: Int, bank: String, count: Int) -> WireError {
        let range = count == 0 ? "it is empty" : "its patterns are 1 to \(count)"
        return WireError(.notFound, "bank \(quote(bank)) has no pattern \(seq); \(range)")
    }

    /// `NOTFOUND`: a query over an empty bank (or an empty prefix of it).
    public static func emptyBank(_ bank: String, asOf: Int? = nil) -> WireError {
        let when = asOf.map { " as of \($0)" } ?? ""
        return WireError(
            .notFound, "bank \(quote(bank)) holds no pattern\(when); STORE some first")
    }

    /// `BADVALUE`: `ASOF` past the bank's last sequence number.
    public static func asOfPastEnd(_ asOf: Int, bank: String, count: Int) -> WireError {
        WireError(
            .badValue,
            "ASOF \(asOf) is past bank \(quote(bank))'s last sequence number \(count)")
    }

    /// `NOTFOUND`: no job with that id.
    public static func noJob(_ id: String) -> WireError {
        WireError(.notFound, "no job \(quote(id)); JOBS lists the jobs")
    }

    /// `PERM`: the connection's role is below the command's.
    public static func permission(
        _ verb: Command.Verb, role: String, uid: UInt32? = nil
    ) -> WireError {
        let who = uid.map { " (uid \($0))" } ?? ""
        return WireError(
            .perm,
            "\(verb) needs the \(verb.requiredRole) role; this connection\(who) has \(role)")
    }

    /// `FULL`: the store reached its map cap; nothing was written.
    public static func storeFull(cap: Int) -> WireError {
        WireError(
            .full,
            "the store reached its size cap of \(cap) bytes; nothing was written. Raise the "
                + "map cap in the daemon's configuration, or drop a bank")
    }

    /// `TIMEOUT`: a query ran over its time budget.
    public static func timeout(milliseconds: Int) -> WireError {
        WireError(
            .timeout,
            "the query ran over its \(milliseconds) ms budget; use fewer STEPS or a smaller "
                + "batch")
    }

    /// `TOOBIG` for a reply: the connection stays open.
    public static func replyTooBig(_ size: Int, limit: Int) -> WireError {
        WireError(
            .tooBig,
            "the reply would be \(size) bytes, over the limit of \(limit); ask for less (TOP, "
                + "smaller batches, FORMAT bin)", closesConnection: false)
    }

    /// `BUSY`: the connection limit is reached; closes.
    public static func busy(limit: Int) -> WireError {
        WireError(.busy, "the server has reached its limit of \(limit) connections; retry later")
    }

    /// `SHUTDOWN`: the daemon is stopping; closes.
    public static let shuttingDown = WireError(
        .shutdown, "the daemon is shutting down; retry when it is back")

    /// `INTERNAL`: a bug or an I/O failure. `detail` must not hold secrets; it is sent.
    public static func internalError(_ detail: String) -> WireError {
        WireError(.internal, detail + "; see the daemon log")
    }
}
