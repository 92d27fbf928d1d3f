// The object shapes of replies, shared by the server (which builds them) and the CLI (which
// reads them). Plain values: strings, integers, reals and vectors only.

// MARK: - Bank

/// A bank, as `BANK.INFO` and `BANK.LIST` report it.
public struct BankObject: Sendable, Hashable {
    public var name: String
    public var dimension: Int
    public var mode: RetrievalMode
    public var beta: Double
    public var normalize: VectorNormalization
    /// Creation time, milliseconds since the Unix epoch.
    public var created: Int
    /// Patterns stored; also the last sequence number.
    public var count: Int
    public var meta: String

    public init(
        name: String, dimension: Int, mode: RetrievalMode, beta: Double,
        normalize: VectorNormalization, created: Int, count: Int, meta: String
    ) {
        self.name = name
        self.dimension = dimension
        self.mode = mode
        self.beta = beta
        self.normalize = normalize
        self.created = created
        self.count = count
        self.meta = meta
    }

    /// `name dim mode alpha beta normalize created count meta`.
    public func toReply() -> Reply {
        .object([
            ("name", .text(name)), ("dim", .integer(dimension)), ("mode", .text(mode.name)),
            ("alpha", .real(mode.alpha)), ("beta", .real(beta)),
            ("normalize", .text(normalize.rawValue)), ("created", .integer(created)),
            ("count", .integer(count)), ("meta", .text(meta)),
        ])
    }

    public init(reply: Reply) throws(WireError) {
        let object = try ReplyObject(reply, kind: "bank")
        name = try object.string("name")
        dimension = try object.integer("dim")
        let modeName = try object.string("mode")
        let alpha = try object.real("alpha")
        do {
            mode = try RetrievalMode(name: modeName, alpha: modeName == "entmax" ? alpha : nil)
        } catch {
            throw WireError(.proto, "bank reply: \(error.message)", closesConnection: false)
        }
        beta = try object.real("beta")
        guard let normalize = VectorNormalization(rawValue: try object.string("normalize"))
        else {
            throw WireError(.proto, "bank reply: unknown normalize", closesConnection: false)
        }
        self.normalize = normalize
        created = try object.integer("created")
        count = try object.integer("count")
        meta = try object.string("meta")
    }
}

// MARK: - Stored pattern

/// A stored pattern, as `GET` reports it.
public struct PatternObject: Sendable, Hashable {
    public var seq: Int
    public var pattern: [Float]
    public var label: String?
    /// Append time, milliseconds since the Unix epoch.
    public var time: Int

    public init(seq: Int, pattern: [Float], label: String?, time: Int) {
        self.seq = seq
        self.pattern = pattern
        self.label = label
        self.time = time
    }

    /// `seq pattern label time`; the label is nil when the pattern has none.
    public func toReply(format: VectorFormat) -> Reply {
        .object([
            ("seq", .integer(seq)), ("pattern", .vector(pattern, format: format)),
            ("label", label.map(Reply.text) ?? .null), ("time", .integer(time)),
        ])
    }

    public init(reply: Reply, format: VectorFormat) throws(WireError) {
        let object = try ReplyObject(reply, kind: "pattern")
        seq = try object.integer("seq")
        pattern = try object.vector("pattern", format: format)
        label = try object.optionalString("label")
        time = try object.integer("time")
    }
}

// MARK: - Completion

/// The answer to one query, as `COMPLETE` (and each element of `MCOMPLETE`) reports it.
public struct CompletionObject: Sendable, Hashable {
    /// The completed pattern.
    public var pattern: [Float]
    /// Supporting patterns, by weight descending then sequence number.
    public var support: [Support]
    public var energy: Double
    public var steps: Int
    public var converged: Bool
    /// Whether the exact-recall condition held (SPEC §2).
    public var exact: Bool
    /// The bank prefix the answer was computed over: its last sequence number.
    public var asOf: Int

    /// One stored pattern that supports a completion, with its weight.
    public struct Support: Sendable, Hashable {
        public var seq: Int
        public var label: String?
        public var weight: Double

        public init(seq: Int, label: String?, weight: Double) {
            self.seq = seq
            self.label = label
            self.weight = weight
        }
    }

    public init(
        pattern: [Float], support: [Support], energy: Double, steps: Int,
        converged: Bool, exact: Bool, asOf: Int
    ) {
        self.pattern = pattern
        self.support = support
        self.energy = energy
        self.steps = steps
        self.converged = converged
        self.exact = exact
        self.asOf = asOf
    }

    /// `pattern support energy steps converged exact as_of`; each support entry is
    /// `*3` of `:seq`, label (bulk or nil) and weight (bulk real).
    public func toReply(format: VectorFormat) -> Reply {
        let entries = support.map { entry in
            Reply.array([
                .integer(entry.seq), entry.label.map(Reply.text) ?? .null, .real(entry.weight),
            ])
        }
        let keys = CompletionObject.keys
        return .array([
            keys[0], .vector(pattern, format: format), keys[1], .array(entries),
            keys[2], .real(energy), keys[3], .integer(steps),
            keys[4], .boolean(converged), keys[5], .boolean(exact), keys[6], .integer(asOf),
        ])
    }

    /// The field names as ready bulk strings, shared by every reply (a completion is the
    /// reply engramd sends most; built from scratch, its keys were half of its allocations).
    /// The same layout as ``Reply/object(_:)``.
    private static let keys = [
        "pattern", "support", "energy", "steps", "converged", "exact", "as_of",
    ].map(Reply.text)

    public init(reply: Reply, format: VectorFormat) throws(WireError) {
        let object = try ReplyObject(reply, kind: "completion")
        pattern = try object.vector("pattern", format: format)
        var support: [Support] = []
        for element in try object.array("support") {
            guard case .array(let triple?) = element, triple.count == 3,
                case .integer(let seq) = triple[0],
                case .bulk(let weightBytes?) = triple[2],
                let weight = FloatText.parseDouble(weightBytes)
            else {
                throw WireError(
                    .proto, "completion reply: malformed support entry", closesConnection: false)
            }
            support.append(Support(seq: seq, label: triple[1].string, weight: weight))
        }
        self.support = support
        energy = try object.real("energy")
        steps = try object.integer("steps")
        converged = try object.boolean("converged")
        exact = try object.boolean("exact")
        asOf = try object.integer("as_of")
    }
}

// MARK: - Job

/// An ingestion job, as `JOBS` and `JOB.GET` report it.
public struct JobObject: Sendable, Hashable {
    public var id: String
    public var bank: String
    public var source: String
    public var position: Int
    public var rows: Int
    public var total: Int?
    public var skipped: Int
    public var state: State
    public var message: String
    /// Last update, milliseconds since the Unix epoch.
    public var updated: Int

    /// The state of an ingestion job.
    public enum State: String, Sendable, Hashable, CaseIterable {
        case running
        case done
        case failed
    }

    public init(
        id: String, bank: String, source: String, position: Int, rows: Int, total: Int?,
        skipped: Int, state: State, message: String, updated: Int
    ) {
        self.id = id
        self.bank = bank
        self.source = source
        self.position = position
        self.rows = rows
        self.total = total
        self.skipped = skipped
        self.state = state
        self.message = message
        self.updated = updated
    }

    /// `id bank source pos rows total skipped state message updated`; `total` is nil when
    /// unknown.
    public func toReply() -> Reply {
        .object([
            ("id", .text(id)), ("bank", .text(bank)), ("source", .text(source)),
            ("pos", .integer(position)), ("rows", .integer(rows)),
            ("total", total.map(Reply.integer) ?? .null), ("skipped", .integer(skipped)),
            ("state", .text(state.rawValue)), ("message", .text(message)),
            ("updated", .integer(updated)),
        ])
    }

    public init(reply: Reply) throws(WireError) {
        let object = try ReplyObject(reply, kind: "job")
        id = try object.string("id")
        bank = try object.string("bank")
        source = try object.string("source")
        position = try object.integer("pos")
        rows = try object.integer("rows")
        total = try object.optionalInteger("total")
        skipped = try object.integer("skipped")
        guard let state = State(rawValue: try object.string("state")) else {
            throw WireError(.proto, "job reply: unknown state", closesConnection: false)
        }
        self.state = state
        message = try object.string("message")
        updated = try object.integer("updated")
    }
}

// MARK: - Server info and statistics

/// The daemon, as `INFO` reports it.
public struct InfoObject: Sendable, Hashable {
    public var version: String
    /// The protocol version: 1.
    public var protocolVersion: Int
    public var pid: Int
    public var uptimeSeconds: Int
    public var banks: Int
    public var connections: Int
    public var stateDirectory: String
    /// Current LMDB map size and its cap, bytes.
    public var mapSize: Int
    public var mapCap: Int
    /// The sync policy: `full`, `nometasync` or `none`.
    public var sync: String

    public static let currentProtocol = 1

    public init(
        version: String, protocolVersion: Int = InfoObject.currentProtocol, pid: Int,
        uptimeSeconds: Int, banks: Int, connections: Int, stateDirectory: String, mapSize: Int,
        mapCap: Int, sync: String
    ) {
        self.version = version
        self.protocolVersion = protocolVersion
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.banks = banks
        self.connections = connections
        self.stateDirectory = stateDirectory
        self.mapSize = mapSize
        self.mapCap = mapCap
        self.sync = sync
    }

    /// `version protocol pid uptime_s banks connections state_dir map_size map_cap sync`.
    public func toReply() -> Reply {
        .object([
            ("version", .text(version)), ("protocol", .integer(protocolVersion)),
            ("pid", .integer(pid)), ("uptime_s", .integer(uptimeSeconds)),
            ("banks", .integer(banks)), ("connections", .integer(connections)),
            ("state_dir", .text(stateDirectory)), ("map_size", .integer(mapSize)),
            ("map_cap", .integer(mapCap)), ("sync", .text(sync)),
        ])
    }

    public init(reply: Reply) throws(WireError) {
        let object = try ReplyObject(reply, kind: "info")
        version = try object.string("version")
        protocolVersion = try object.integer("protocol")
        pid = try object.integer("pid")
        uptimeSeconds = try object.integer("uptime_s")
        banks = try object.integer("banks")
        connections = try object.integer("connections")
        stateDirectory = try object.string("state_dir")
        mapSize = try object.integer("map_size")
        mapCap = try object.integer("map_cap")
        sync = try object.string("sync")
    }
}

/// The daemon's counters, as `STATS` reports them.
public struct StatsObject: Sendable, Hashable {
    /// Per-command counters and latencies.
    public struct CommandEntry: Sendable, Hashable {
        /// The verb, e.g. `COMPLETE`; `OTHER` counts unknown commands.
        public var name: String
        public var calls: Int
        public var errors: Int
        /// Latency percentiles and maximum, microseconds.
        public var p50Micros: Int
        public var p99Micros: Int
        public var maxMicros: Int

        public init(
            name: String, calls: Int, errors: Int, p50Micros: Int, p99Micros: Int,
            maxMicros: Int
        ) {
            self.name = name
            self.calls = calls
            self.errors = errors
            self.p50Micros = p50Micros
            self.p99Micros = p99Micros
            self.maxMicros = maxMicros
        }

        func toReply() -> Reply {
            .object([
                ("name", .text(name)), ("calls", .integer(calls)), ("errors", .integer(errors)),
                ("p50_us", .integer(p50Micros)), ("p99_us", .integer(p99Micros)),
                ("max_us", .integer(maxMicros)),
            ])
        }

        init(reply: Reply) throws(WireError) {
            let object = try ReplyObject(reply, kind: "stats command")
            name = try object.string("name")
            calls = try object.integer("calls")
            errors = try object.integer("errors")
            p50Micros = try object.integer("p50_us")
            p99Micros = try object.integer("p99_us")
            maxMicros = try object.integer("max_us")
        }
    }

    /// A bank's pattern count.
    public struct BankEntry: Sendable, Hashable {
        public var name: String
        public var count: Int

        public init(name: String, count: Int) {
            self.name = name
            self.count = count
        }
    }

    public var uptimeSeconds: Int
    /// Open connections now, and accepted since start.
    public var connections: Int
    public var connectionsTotal: Int
    /// Requests answered since start, and how many of them were errors.
    public var requests: Int
    public var errors: Int
    /// Commands that were called at least once, in verb order.
    public var commands: [CommandEntry]
    /// Each bank's pattern count, by name.
    public var banks: [BankEntry]
    /// Size of the LMDB data file, and the current map size, in bytes.
    public var storeBytes: Int
    public var mapSize: Int

    public init(
        uptimeSeconds: Int, connections: Int, connectionsTotal: Int, requests: Int,
        errors: Int, commands: [CommandEntry], banks: [BankEntry], storeBytes: Int,
        mapSize: Int
    ) {
        self.uptimeSeconds = uptimeSeconds
        self.connections = connections
        self.connectionsTotal = connectionsTotal
        self.requests = requests
        self.errors = errors
        self.commands = commands
        self.banks = banks
        self.storeBytes = storeBytes
        self.mapSize = mapSize
    }

    /// `uptime_s connections connections_total requests errors commands banks store_bytes
    /// map_size`; `commands` is an array of objects `name calls errors p50_us p99_us max_us`,
    /// `banks` an array of objects `name count`.
    public func toReply() -> Reply {
        let banks = banks.map {
            Reply.object([("name", .text($0.name)), ("count", .integer($0.count))])
        }
        return .object([
            ("uptime_s", .integer(uptimeSeconds)), ("connections", .integer(connections)),
            ("connections_total", .integer(connectionsTotal)), ("requests", .integer(requests)),
            ("errors", .integer(errors)), ("commands", .array(commands.map { $0.toReply() })),
            ("banks", .array(banks)), ("store_bytes", .integer(storeBytes)),
            ("map_size", .integer(mapSize)),
        ])
    }

    public init(reply: Reply) throws(WireError) {
        let object = try ReplyObject(reply, kind: "stats")
        uptimeSeconds = try object.integer("uptime_s")
        connections = try object.integer("connections")
        connectionsTotal = try object.integer("connections_total")
        requests = try object.integer("requests")
        errors = try object.integer("errors")
        var commands: [CommandEntry] = []
        for element in try object.array("commands") {
            commands.append(try CommandEntry(reply: element))
        }
        self.commands = commands
        var banks: [BankEntry] = []
        for element in try object.array("banks") {
            let bank = try ReplyObject(element, kind: "stats bank")
            banks.append(BankEntry(name: try bank.string("name"), count: try bank.integer("count")))
        }
        self.banks = banks
        storeBytes = try object.integer("store_bytes")
        mapSize = try object.integer("map_size")
    }
}
