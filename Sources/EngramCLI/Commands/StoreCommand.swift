// `engram store`: one pattern from the command line, or every row of a CSV file in batches.

import EngramWire

enum StoreCommand {
    /// Batches in flight before the client waits for the oldest reply.
    static let pipelineDepth = 4

    static func run(_ context: CommandContext) throws {
        let bank = context.positional(0) ?? ""
        let vector = context.positional(1)
        let csv = context.arguments.string("csv")
        switch (vector, csv) {
        case (let vector?, nil):
            try storeOne(context, bank: bank, vector: vector)
        case (nil, let csv?):
            try storeCSV(context, bank: bank, path: csv)
        case (nil, nil):
            throw CLIError.usage("give a VECTOR or --csv FILE", command: context.name)
        case (.some, .some):
            throw CLIError.usage("give a VECTOR or --csv FILE, not both", command: context.name)
        }
    }

    // MARK: - One pattern

    private static func storeOne(_ context: CommandContext, bank: String, vector: String) throws {
        for option in ["header", "label-column", "batch"]
        where context.arguments.values[option] != nil || context.arguments.flag(option) {
            throw CLIError.usage("option '--\(option)' needs --csv", command: context.name)
        }
        let values = try VectorParser.parseKnown(vector)
        var request = ["STORE", bank, String(decoding: VectorText.encode(values), as: UTF8.self)]
        if let label = context.arguments.string("label") {
            request += ["LABEL", label]
        }
        let reply = try context.connect().call(request)
        let seq = try Replies.integer(reply, "STORE reply")
        if context.globals.json {
            context.emit(.object([("seq", .int(seq))]))
        } else {
            context.console.out("\(seq)\n")
        }
    }

    // MARK: - A CSV file

    private static func storeCSV(_ context: CommandContext, bank: String, path: String) throws {
        if context.arguments.values["label"] != nil {
            throw CLIError.usage(
                "option '--label' is for one VECTOR; with --csv use --label-column",
                command: context.name)
        }
        let format = try csvFormat(context, allowUnknown: false)
        let batchSize =
            try context.arguments.int("batch", in: 1...100_000, command: context.name) ?? 1000

        let client = try context.connect()
        let info = try Replies.bank(client.call(["BANK.INFO", bank]))

        // Check every row before sending any, so a bad row stores nothing (a pipe cannot be
        // read twice and is checked batch by batch instead).
        var total: Int?
        if path != "-" {
            total = try validate(path: path, format: format, dimension: info.dimension)
        }

        let reader = try PatternCSVReader(path: path, format: format)
        let progress = ProgressBar(
            console: context.console, label: "store \(bank)", enabled: context.showsProgress)
        var first: Int?
        var last: Int?
        var stored = 0
        var pending: [Int] = []  // row counts of batches in flight
        var uncertain = 0  // rows of batches answered with a malformed reply

        func collect() throws(CLIError) {
            let rows = pending[0]
            let reply: Reply
            do {
                reply = try client.receiveValue()
            } catch {
                // An error reply answers its batch: nothing of it was stored.
                if case .daemon = error.kind { pending.removeFirst() }
                throw error
            }
            pending.removeFirst()
            guard case .array(let bounds?) = reply, bounds.count == 2,
                case .integer(let low) = bounds[0], case .integer(let high) = bounds[1]
            else {
                uncertain += rows
                throw Replies.malformed("MSTORE reply", "not a pair of sequence numbers")
            }
            first = first ?? low
            last = high
            stored += rows
            progress.update(rows: stored, total: total)
        }

        /// After a failure, reads the replies still owed so acknowledged batches count, and
        /// returns the first error reply received (`-SHUTDOWN` when the daemon stopped, which
        /// says more than the broken pipe a later send hit).
        func drain(after failure: CLIError) -> CLIError? {
            var reply: CLIError?
            while !pending.isEmpty {
                do {
                    try collect()
                } catch {
                    guard case .daemon = error.kind else { return reply }
                    reply = reply ?? error
                }
            }
            // A stopping daemon sends `-SHUTDOWN` to a connection it closes; a failed send
            // means the connection is closed, so reading cannot block.
            if reply == nil, failure.kind == .unavailable,
                case .error(let code, let message)? = try? client.receive()
            {
                reply = CLIError(
                    .daemon(code: code), message.isEmpty ? code : "\(code): \(message)")
            }
            return reply
        }

        do {
            while true {
                let rows = try reader.next(upTo: batchSize)
                if rows.isEmpty { break }
                try checkDimension(rows, dimension: info.dimension, path: path)
                try client.send(
                    request(bank: bank, rows: rows, labelled: format.labelColumn != nil))
                pending.append(rows.count)
                if pending.count >= pipelineDepth { try collect() }
            }
            while !pending.isEmpty { try collect() }
        } catch {
            progress.abandon()
            var failure = error
            if let reply = drain(after: error), failure.kind == .unavailable {
                failure = reply
            }
            failure.hint =
                partialHint(
                    bank: bank, stored: stored, seq: first.flatMap { a in last.map { (a, $0) } },
                    inFlight: pending.reduce(0, +) + uncertain) ?? failure.hint
            throw failure
        }
        progress.finish(rows: stored, total: total)
        report(context, bank: bank, first: first, last: last, count: stored)
    }

    /// What a failed `store --csv` may have left in the bank, or nil when nothing was sent.
    ///
    /// Replies lost with the connection hide batches the daemon may have committed, so the
    /// acknowledged count is a lower bound; re-sending without checking can store rows twice.
    static func partialHint(
        bank: String, stored: Int, seq: (Int, Int)?, inFlight: Int
    ) -> String? {
        guard stored > 0 || inFlight > 0 else { return nil }
        let check = "check 'engram bank info \(bank)' (count) before re-sending any rows"
        let range = seq.map { " (seq \($0.0)..\($0.1))" } ?? ""
        let rows = { (count: Int) in count == 1 ? "1 row" : "\(count) rows" }
        if inFlight == 0 {
            let verb = stored == 1 ? "was" : "were"
            return "\(rows(stored)) \(verb) stored before the failure\(range); \(check)"
        }
        let acknowledged =
            stored > 0
            ? "at least \(rows(stored)) were stored\(range)"
            : "no rows were acknowledged as stored"
        return "\(acknowledged); up to \(rows(inFlight)) more were in flight and may also have "
            + "been committed; \(check)"
    }

    static func csvFormat(
        _ context: CommandContext, allowUnknown: Bool
    ) throws(CLIError)
        -> PatternCSVFormat
    {
        let column = try context.arguments.int("label-column", command: context.name)
        if column == 0 {
            throw CLIError.usage(
                "option '--label-column' counts from 1, or from the end when negative (-1 = last)",
                command: context.name)
        }
        return PatternCSVFormat(
            header: context.arguments.flag("header"), labelColumn: column,
            allowUnknown: allowUnknown)
    }

    /// Reads the whole file once; returns the number of rows.
    static func validate(
        path: String, format: PatternCSVFormat, dimension: Int
    ) throws(CLIError)
        -> Int
    {
        let reader = try PatternCSVReader(path: path, format: format)
        var count = 0
        while let row = try reader.next() {
            try checkDimension([row], dimension: dimension, path: path)
            count += 1
        }
        guard count > 0 else {
            throw CLIError.data("\(path) has no data rows")
        }
        return count
    }

    static func checkDimension(
        _ rows: [PatternRow], dimension: Int, path: String
    )
        throws(CLIError)
    {
        for row in rows where row.values.count != dimension {
            throw CLIError.data(
                "\(path) line \(row.line): \(row.values.count) components; the bank's dimension "
                    + "is \(dimension)",
                hint: "a label column is not a component: set --label-column")
        }
    }

    /// `MSTORE bank n BIN bytes [LABELS l1 … ln]`.
    static func request(bank: String, rows: [PatternRow], labelled: Bool) -> [[UInt8]] {
        var arguments: [[UInt8]] = [
            Array("MSTORE".utf8), Array(bank.utf8), Array(String(rows.count).utf8),
            Array("BIN".utf8), VectorBinary.encode(rows: rows.map { $0.values.map { $0 ?? 0 } }),
        ]
        if labelled {
            arguments.append(Array("LABELS".utf8))
            arguments += rows.map { Array(($0.label ?? "").utf8) }
        }
        return arguments
    }

    private static func report(
        _ context: CommandContext, bank: String, first: Int?, last: Int?, count: Int
    ) {
        if context.globals.json {
            context.emit(
                .object([
                    ("first", first.map(JSONValue.int) ?? .null),
                    ("last", last.map(JSONValue.int) ?? .null), ("count", .int(count)),
                ]))
        } else if let first, let last {
            let noun = count == 1 ? "pattern" : "patterns"
            context.console.out("stored \(count) \(noun) in \(bank): seq \(first)..\(last)\n")
        } else {
            context.console.out("stored 0 patterns in \(bank)\n")
        }
    }
}
