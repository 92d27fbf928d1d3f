import Glibc

// MARK: - Command line and config file

extension ServerConfiguration {
    /// Every key of the config file; each is also a flag `--key VALUE` or `--key=VALUE`.
    public static let keys: [(key: String, help: String)] = [
        ("state-dir", "state directory; LMDB in <state-dir>/db (./engram-state, $STATE_DIRECTORY)"),
        ("socket", "socket path when not socket-activated (<state-dir>/engramd.sock)"),
        ("log-level", "error, warning, notice, info or debug (info)"),
        ("map-size", "initial LMDB map size, e.g. 64M or 1G (store default)"),
        ("map-cap", "largest the map may grow to, e.g. 64G (store default)"),
        ("sync", "full, no-meta-sync or none (full)"),
        ("max-connections", "connections served at once; more get -BUSY (256)"),
        ("query-timeout-ms", "time budget of one query, in milliseconds (5000)"),
        ("query-workers", "threads answering COMPLETE in batches (0: one per CPU but one)"),
        ("event-loops", "threads serving connections (0: one per two CPUs, 1 to 4)"),
        ("max-inline-bytes", "longest inline request line, at least 1K (1M)"),
        ("max-bulk-bytes", "longest bulk string in a RESP request, at least 1K (64M)"),
        ("max-arguments", "most arguments in one request (1048576)"),
        ("max-request-bytes", "most argument bytes in one request, at least 1K (512M)"),
        ("max-reply-bytes", "largest reply, at least 64K; a bigger one is -TOOBIG (256M)"),
        ("max-pending-bytes", "unsent replies plus unanswered requests, at least 1M (64M)"),
        ("socket-mode", "octal mode of a socket bound by the daemon (0660)"),
        ("socket-group", "group name or gid of a socket bound by the daemon (daemon's)"),
        ("admin-uids", "users with the admin role (0 and the daemon's own uid)"),
        ("admin-gids", "groups with the admin role (none)"),
        ("writer-uids", "users with the write role (none)"),
        ("writer-gids", "groups with the write role (none)"),
        ("reader-uids", "users with the read role (none)"),
        ("reader-gids", "groups with the read role (none)"),
    ]

    /// The text of `engramd --help`.
    public static var helpText: String {
        var text = """
            usage: engramd [--config FILE] [--KEY VALUE]…

            Serves Engram memory banks on a Unix socket. Flags override the config file
            (lines of `key = value`, `#` starts a comment line). Id lists are comma-separated
            numbers or names, `*` for everyone, empty for nobody.

            options:
              --config FILE            read settings from FILE first
              --help                   show this text
              --version                print the version

            """
        for (key, help) in keys {
            let flag = "--\(key) V"
            let pad = String(repeating: " ", count: max(1, 25 - flag.count))
            text += "  \(flag)\(pad)\(help)\n"
        }
        return text
    }

    /// Parses the command line (without the program name): reads the `--config` file if given,
    /// then applies the flags on top.
    ///
    /// - Throws: ``ConfigurationError`` naming the flag, key or line that is wrong.
    public static func parse(
        arguments: [String], environment: [String: String]
    ) throws(ConfigurationError) -> Invocation {
        var flags: [(key: String, value: String)] = []
        var configFile: String?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--help" || argument == "-h" { return .help }
            if argument == "--version" { return .version }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigurationError("unexpected argument '\(argument)'; see --help")
            }
            var key = String(argument.dropFirst(2))
            var value: String
            if let equals = key.firstIndex(of: "=") {
                value = String(key[key.index(after: equals)...])
                key = String(key[..<equals])
            } else {
                guard index < arguments.count else {
                    throw ConfigurationError("--\(key) needs a value; see --help")
                }
                value = arguments[index]
                index += 1
            }
            if key == "config" {
                configFile = value
            } else {
                flags.append((key, value))
            }
        }

        var configuration = defaults(environment: environment)
        var socketSet = false
        if let configFile {
            configuration.configFile = configFile
            for setting in try readConfigFile(configFile) {
                do {
                    try configuration.apply(key: setting.key, value: setting.value)
                } catch {
                    throw ConfigurationError("\(configFile):\(setting.line): \(error.message)")
                }
                socketSet = socketSet || setting.key == "socket"
            }
        }
        for flag in flags {
            do {
                try configuration.apply(key: flag.key, value: flag.value)
            } catch {
                throw ConfigurationError("--\(flag.key): \(error.message)")
            }
            socketSet = socketSet || flag.key == "socket"
        }
        if !socketSet {
            configuration.socketPath = defaultSocket(
                state: configuration.stateDirectory, environment)
        }
        return .run(configuration)
    }

    /// The `key = value` lines of a config file, with their line numbers.
    static func readConfigFile(
        _ path: String
    ) throws(ConfigurationError)
        -> [(key: String, value: String, line: Int)]
    {
        guard let text = readTextFile(path) else {
            throw ConfigurationError(
                "cannot read config file \(path): \(String(cString: strerror(errno)))")
        }
        return try parseConfigText(text, name: path)
    }

    static func parseConfigText(
        _ text: String, name: String
    ) throws(ConfigurationError)
        -> [(key: String, value: String, line: Int)]
    {
        var settings: [(key: String, value: String, line: Int)] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let line = trimmed(Substring(rawLine))
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError("\(name):\(offset + 1): expected 'key = value'")
            }
            let key = trimmed(line[..<equals])
            let value = trimmed(line[line.index(after: equals)...])
            if key == "config" {
                throw ConfigurationError("\(name):\(offset + 1): 'config' is a flag only")
            }
            settings.append((key, value, offset + 1))
        }
        return settings
    }

    /// Sets one key from its text value.
    mutating func apply(key: String, value: String) throws(ConfigurationError) {
        switch key {
        case "state-dir":
            guard !value.isEmpty else { throw ConfigurationError("empty path") }
            stateDirectory = value
        case "socket":
            guard !value.isEmpty else { throw ConfigurationError("empty path") }
            socketPath = value
        case "log-level":
            guard let level = LogLevel(name: value) else {
                throw ConfigurationError(
                    "unknown level '\(value)'; use error, warning, notice, info or debug")
            }
            logLevel = level
        case "map-size": mapSize = try Self.parseSize(value)
        case "map-cap": mapCap = try Self.parseSize(value)
        case "sync":
            guard let mode = SyncMode(rawValue: value) else {
                throw ConfigurationError("unknown sync '\(value)'; use full, no-meta-sync or none")
            }
            sync = mode
        case "max-connections": maxConnections = try Self.parseCount(value, range: 1...100_000)
        case "query-timeout-ms":
            queryTimeoutMilliseconds = try Self.parseCount(value, range: 1...86_400_000)
        case "query-workers": queryWorkers = try Self.parseCount(value, range: 0...1024)
        case "event-loops": eventLoops = try Self.parseCount(value, range: 0...64)
        case "max-inline-bytes": wireLimits.maxInlineLength = try Self.parseLimit(key, value)
        case "max-bulk-bytes": wireLimits.maxBulkLength = try Self.parseLimit(key, value)
        case "max-arguments":
            wireLimits.maxArguments = try Self.parseCount(value, range: 2...(1 << 30))
        case "max-request-bytes": wireLimits.maxRequestBytes = try Self.parseLimit(key, value)
        case "max-reply-bytes": wireLimits.maxReplyBytes = try Self.parseLimit(key, value)
        case "max-pending-bytes": maxPendingBytes = try Self.parseLimit(key, value)
        case "socket-mode":
            guard let mode = UInt32(value, radix: 8), mode <= 0o777 else {
                throw ConfigurationError("'\(value)' is not an octal mode like 0660")
            }
            socketMode = mode
        case "socket-group": socketGroup = try Self.resolveID(value, group: true)
        case "admin-uids": roles.adminUIDs = try Self.parseIDs(value, group: false)
        case "admin-gids": roles.adminGIDs = try Self.parseIDs(value, group: true)
        case "writer-uids": roles.writerUIDs = try Self.parseIDs(value, group: false)
        case "writer-gids": roles.writerGIDs = try Self.parseIDs(value, group: true)
        case "reader-uids": roles.readerUIDs = try Self.parseIDs(value, group: false)
        case "reader-gids": roles.readerGIDs = try Self.parseIDs(value, group: true)
        default:
            throw ConfigurationError("unknown setting '\(key)'; see engramd --help")
        }
    }

    // MARK: - Value forms

    /// The smallest value of each byte limit. Below them the daemon could not serve ordinary
    /// use (a 64-dimension text vector is about 600 bytes, a completion reply several KiB),
    /// so such a setting is a mistake refused at start rather than a daemon that fails every
    /// request.
    static let minimumLimits: [String: Int] = [
        "max-inline-bytes": 1 << 10,
        "max-bulk-bytes": 1 << 10,
        "max-request-bytes": 1 << 10,
        "max-reply-bytes": 64 << 10,
        "max-pending-bytes": 1 << 20,
    ]

    /// A byte limit: a size (``parseSize(_:)``) no smaller than the key's entry in
    /// ``minimumLimits``.
    ///
    /// - Throws: ``ConfigurationError`` for a malformed size or one under the minimum,
    ///   saying the minimum.
    static func parseLimit(_ key: String, _ text: String) throws(ConfigurationError) -> Int {
        let size = try parseSize(text)
        let minimum = minimumLimits[key] ?? 1
        guard size >= minimum else {
            throw ConfigurationError(
                "'\(text)' is under the minimum of \(sizeText(minimum)) (\(minimum) bytes)")
        }
        return size
    }

    /// A whole number of KiB, MiB… in the unit form `parseSize` reads (`64K`, `1M`).
    static func sizeText(_ bytes: Int) -> String {
        for (unit, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)]
        where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return String(bytes)
    }

    /// Bytes, with an optional binary unit: `65536`, `64K`, `512M`, `1G`, `2T` (also `KiB`…).
    static func parseSize(_ text: String) throws(ConfigurationError) -> Int {
        var digits = text.uppercased()
        if digits.hasSuffix("IB") {
            digits.removeLast(2)
        } else if digits.hasSuffix("B") {
            digits.removeLast()
        }
        var multiplier = 1
        if let unit = digits.last, let shift = ["K": 10, "M": 20, "G": 30, "T": 40][unit] {
            multiplier = 1 << shift
            digits.removeLast()
        }
        let product = Int(digits).map { $0.multipliedReportingOverflow(by: multiplier) }
        guard let product, product.partialValue > 0, !product.overflow else {
            throw ConfigurationError("'\(text)' is not a size like 1073741824, 512M or 64G")
        }
        return product.partialValue
    }

    static func parseCount(
        _ text: String, range: ClosedRange<Int>
    ) throws(ConfigurationError)
        -> Int
    {
        let bounds = "\(range.lowerBound)...\(range.upperBound)"
        guard let number = Int(text) else {
            throw ConfigurationError("'\(text)' is not a whole number; give one in \(bounds)")
        }
        guard range.contains(number) else {
            throw ConfigurationError("'\(text)' is outside \(bounds)")
        }
        return number
    }

    /// `*` (everyone), empty (nobody), or comma-separated ids and names.
    static func parseIDs(_ text: String, group: Bool) throws(ConfigurationError) -> IDSet {
        if trimmed(Substring(text)) == "*" { return IDSet(everyone: true) }
        var ids = Set<UInt32>()
        for part in text.split(separator: ",") {
            let item = trimmed(part)
            if item.isEmpty { continue }
            ids.insert(try resolveID(item, group: group))
        }
        return IDSet(ids: ids)
    }

    /// A numeric id, or a user or group name looked up in the system databases.
    static func resolveID(_ text: String, group: Bool) throws(ConfigurationError) -> UInt32 {
        if let number = UInt32(text) { return number }
        if group, let entry = getgrnam(text) { return entry.pointee.gr_gid }
        if !group, let entry = getpwnam(text) { return entry.pointee.pw_uid }
        throw ConfigurationError("no \(group ? "group" : "user") named '\(text)'")
    }
}

func trimmed(_ text: Substring) -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
    guard let first = text.firstIndex(where: { !isSpace($0) }),
        let last = text.lastIndex(where: { !isSpace($0) })
    else { return "" }
    return String(text[first...last])
}

/// The whole content of a small text file, or nil with errno set.
func readTextFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        if count < 0 { return nil }
        if count == 0 { break }
        bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}
