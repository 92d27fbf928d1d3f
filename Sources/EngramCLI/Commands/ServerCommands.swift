// `engram ping`, `jobs`, `backup`, `stats`: the daemon as a whole.

import EngramWire

#if canImport(Glibc)
    import Glibc
#endif

enum ServerCommands {
    static func ping(_ context: CommandContext) throws {
        let start = ProgressBar.now()
        let client = try context.connect()
        let reply = try client.call(["PING"])
        let milliseconds = (ProgressBar.now() - start) * 1000
        let answer = reply.string ?? "PONG"
        if context.globals.json {
            context.emit(
                .object([
                    ("reply", .string(answer)), ("socket", .string(client.path)),
                    ("ms", .number(NumberFormat.short(milliseconds, digits: 3))),
                ]))
        } else {
            let time = NumberFormat.short(milliseconds, digits: 3)
            context.console.out("\(answer) from engramd at \(client.path) in \(time) ms\n")
        }
    }

    static func jobs(_ context: CommandContext) throws {
        let client = try context.connect()
        var jobs = try fetchJobs(client)
        if context.globals.json {
            context.emit(.array(jobs.map(\.json)))
            return
        }
        guard !jobs.isEmpty else {
            context.note("no ingestion jobs")
            return
        }

        // The current rate of running jobs comes from two samples half a second apart; a
        // finished job's average rate is in its message.
        var rates: [String: Double] = [:]
        if jobs.contains(where: { $0.state == .running }) {
            let start = ProgressBar.now()
            usleep(500_000)
            let later = try fetchJobs(client)
            let elapsed = ProgressBar.now() - start
            for job in later {
                if let before = jobs.first(where: { $0.id == job.id }), job.state == .running {
                    rates[job.id] = Double(job.position - before.position) / elapsed
                }
            }
            jobs = later
        }
        context.console.out(jobTable(jobs, rates: rates).rendered())
    }

    private static func fetchJobs(_ client: DaemonClient) throws(CLIError) -> [JobObject] {
        var jobs: [JobObject] = []
        for element in try Replies.array(client.call(["JOBS"]), of: "job list") {
            jobs.append(try Replies.job(element))
        }
        return jobs.sorted { $0.id < $1.id }
    }

    /// The jobs as a table; `now` (ms since the epoch) tells a stalled running job.
    static func jobTable(
        _ jobs: [JobObject], rates: [String: Double],
        now: Int = IngestCommand.wallClockMillis()
    ) -> Table {
        var table = Table([
            .left("ID"), .left("BANK"), .left("STATE"), .right("ROWS"), .right("DONE"),
            .right("RATE"), .right("SKIPPED"), .left("UPDATED"), .left("MESSAGE"),
        ])
        for job in jobs {
            var done = "-"
            var rows = String(job.position)
            if let total = job.total, total > 0 {
                let percent = Double(job.position) * 100 / Double(total)
                done = NumberFormat.short(percent, digits: 3) + "%"
                rows += "/\(total)"
            }
            let rate = rates[job.id].map { ProgressBar.compact($0) + "/s" } ?? "-"
            var message = job.message
            let idle = (now - job.updated) / 1000
            if job.state == .running, idle >= 10 {
                // Its ingest was killed (running it again resumes) or is stuck.
                message = "no progress for \(idle) s; if its ingest is gone, run it again"
            }
            table.append([
                job.id, job.bank, job.state.rawValue, rows, done, rate, String(job.skipped),
                Format.time(job.updated), message,
            ])
        }
        return table
    }

    static func backup(_ context: CommandContext) throws {
        let directory = context.positional(0) ?? ""
        let reply = try context.connect().call(["BACKUP", directory])
        // `+OK PATH` (the path the daemon wrote, absolute); older forms: an array or `+OK`.
        var path = directory
        if case .array(let parts?) = reply, let last = parts.last?.string {
            path = last
        } else if let text = reply.string, text.hasPrefix("OK ") {
            path = String(text.dropFirst(3))
        }
        if context.globals.json {
            context.emit(.object([("path", .string(path))]))
        } else {
            context.console.out("backup written to \(path)\n")
        }
    }

    static func stats(_ context: CommandContext) throws {
        let reply = try context.connect().call(["STATS"])
        if context.globals.json {
            context.emit(reply.json)
        } else {
            context.console.out(StatsRenderer.render(reply.json))
        }
    }
}

/// Renders a STATS object: scalars as aligned key-value lines, lists of objects and objects of
/// objects as tables, so new fields from the daemon show without a client change.
enum StatsRenderer {
    static func render(_ value: JSONValue) -> String {
        guard case .object(let members) = value else { return value.rendered() + "\n" }
        var scalars: [(String, String)] = []
        var sections: [String] = []
        for (key, member) in members {
            if let table = table(member) {
                sections.append("\(key):\n" + indent(table.rendered()))
            } else if case .object(let inner) = member, inner.allSatisfy({ isScalar($0.1) }) {
                scalars += inner.map { ("\(key).\($0.0)", text($0.1)) }
            } else {
                scalars.append((key, text(member)))
            }
        }
        var out = Format.fields(scalars)
        for section in sections {
            out += (out.isEmpty ? "" : "\n") + section
        }
        return out
    }

    /// A table for an array of objects, or an object whose values are all objects (the key
    /// becomes the first column).
    private static func table(_ value: JSONValue) -> Table? {
        var rows: [(String?, [(String, JSONValue)])] = []
        switch value {
        case .array(let items) where !items.isEmpty:
            for item in items {
                guard case .object(let fields) = item else { return nil }
                rows.append((nil, fields))
            }
        case .object(let members) where !members.isEmpty:
            for (key, member) in members {
                guard case .object(let fields) = member else { return nil }
                rows.append((key, fields))
            }
        default:
            return nil
        }
        var keys: [String] = []
        for (_, fields) in rows {
            for (key, _) in fields where !keys.contains(key) { keys.append(key) }
        }
        let keyed = rows.first?.0 != nil
        var columns: [Table.Column] = keyed ? [.left("NAME")] : []
        for key in keys {
            let numeric = rows.allSatisfy { row in
                guard let cell = row.1.first(where: { $0.0 == key })?.1 else { return true }
                if case .number = cell { return true }
                return false
            }
            columns.append(numeric ? .right(key.uppercased()) : .left(key.uppercased()))
        }
        var table = Table(columns)
        for (name, fields) in rows {
            var cells = keyed ? [name ?? ""] : []
            cells += keys.map { key in fields.first { $0.0 == key }.map { text($0.1) } ?? "-" }
            table.append(cells)
        }
        return table
    }

    private static func isScalar(_ value: JSONValue) -> Bool {
        switch value {
        case .array, .object: false
        default: true
        }
    }

    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .number(let text) where Int(text) != nil: text
        case .number(let text): Double(text).map { NumberFormat.short($0, digits: 6) } ?? text
        case .null: "-"
        default: value.rendered()
        }
    }

    private static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.isEmpty ? "" : "  " + $0
        }.joined(separator: "\n")
    }
}
