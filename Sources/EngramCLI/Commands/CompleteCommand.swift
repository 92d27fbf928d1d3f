// `engram complete`: one query from the command line, or one per row of a CSV file.

import EngramWire

enum CompleteCommand {
    static let pipelineDepth = 2

    static func run(_ context: CommandContext) throws {
        let bank = context.positional(0) ?? ""
        let options = try retrievalOptions(context)
        let shape = try context.arguments.string("shape").map { (text) throws(CLIError) in
            try PictureShape.parse(text, command: context.name)
        }
        if shape != nil, !context.arguments.flag("show") {
            throw CLIError.usage("option '--shape' needs --show", command: context.name)
        }

        switch (context.positional(1), context.arguments.string("csv")) {
        case (let vector?, nil):
            for option in ["header", "label-column", "batch"]
            where context.arguments.values[option] != nil || context.arguments.flag(option) {
                throw CLIError.usage("option '--\(option)' needs --csv", command: context.name)
            }
            try completeOne(context, bank: bank, vector: vector, options: options, shape: shape)
        case (nil, let path?):
            if context.arguments.flag("show") {
                throw CLIError.usage("option '--show' is for one VECTOR", command: context.name)
            }
            try completeCSV(context, bank: bank, path: path, options: options)
        case (nil, nil):
            throw CLIError.usage("give a VECTOR or --csv FILE", command: context.name)
        case (.some, .some):
            throw CLIError.usage("give a VECTOR or --csv FILE, not both", command: context.name)
        }
    }

    /// The `COMPLETE` options from the command line, checked for form (ranges are the
    /// daemon's to judge, so there is one rule).
    static func retrievalOptions(_ context: CommandContext) throws(CLIError) -> [String] {
        let arguments = context.arguments
        var options: [String] = []
        if let mode = try arguments.choice(
            "mode", ["sparsemax", "softmax", "entmax"], command: context.name)
        {
            options += ["MODE", mode]
        }
        if let alpha = try arguments.double("alpha", command: context.name) {
            options += ["ALPHA", NumberFormat.double(alpha)]
        }
        if let beta = try arguments.double("beta", command: context.name) {
            options += ["BETA", NumberFormat.double(beta)]
        }
        if let steps = try arguments.int("steps", in: 1...1_000_000, command: context.name) {
            options += ["STEPS", String(steps)]
        }
        if let tolerance = try arguments.double("tol", command: context.name) {
            options += ["TOL", NumberFormat.double(tolerance)]
        }
        if let top = try arguments.int("top", in: 1...1_000_000, command: context.name) {
            options += ["TOP", String(top)]
        }
        if arguments.values["as-of"] != nil,
            let asOf = try arguments.int("as-of", in: 0...Int.max, command: context.name)
        {
            options += ["ASOF", String(asOf)]
        }
        return options
    }

    static func queryText(_ values: [Float?]) -> String {
        let known = values.map { $0 != nil }
        let text = VectorText.encode(values.map { $0 ?? 0 }, known: known)
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: - One query

    private static func completeOne(
        _ context: CommandContext, bank: String, vector: String, options: [String],
        shape: PictureShape?
    ) throws {
        let values = try VectorParser.parse(vector, allowUnknown: true)
        let reply = try context.connect().call(["COMPLETE", bank, queryText(values)] + options)
        let completion = try Replies.completion(reply)

        var resolvedShape: PictureShape?
        if context.arguments.flag("show") {
            resolvedShape = try PictureShape.resolve(
                shape, dimension: completion.pattern.count, command: context.name)
        }
        if context.globals.json {
            context.emit(completion.json)
        } else {
            context.console.out(
                render(
                    completion, unknown: values.filter { $0 == nil }.count,
                    shape: resolvedShape))
        }
    }

    /// The human form of one completion.
    static func render(_ completion: CompletionObject, unknown: Int, shape: PictureShape?) -> String
    {
        let count = completion.pattern.count
        let components = count == 1 ? "component" : "components"
        let verb = unknown == 1 ? "was" : "were"
        var out = "completed pattern (\(count) \(components), \(unknown) \(verb) unknown):\n"
        out += Format.vector(completion.pattern)
        if let shape {
            out += Picture.render(completion.pattern, shape: shape)
        }

        let noun = completion.support.count == 1 ? "pattern" : "patterns"
        out += "\nsupport (\(completion.support.count) stored \(noun)):\n"
        var table = Table([.right("SEQ"), .left("LABEL"), .right("WEIGHT")])
        for entry in completion.sortedSupport {
            table.append([
                String(entry.seq), Format.label(entry.label), NumberFormat.short(entry.weight),
            ])
        }
        out += table.rendered().split(separator: "\n").map { "  " + $0 + "\n" }.joined()

        out +=
            "\n"
            + Format.fields([
                ("energy", NumberFormat.short(completion.energy, digits: 6)),
                ("steps", String(completion.steps)),
                ("converged", Format.yesNo(completion.converged)),
                ("exact", Format.yesNo(completion.exact)),
                ("as of", "seq \(completion.asOf)"),
            ])
        return out
    }

    // MARK: - A CSV file of queries

    private static func completeCSV(
        _ context: CommandContext, bank: String, path: String, options: [String]
    ) throws {
        let format = try StoreCommand.csvFormat(context, allowUnknown: true)
        var batchSize =
            try context.arguments.int("batch", in: 1...10_000, command: context.name) ?? 256
        let client = try context.connect()
        let info = try Replies.bank(client.call(["BANK.INFO", bank]))
        var total: Int?
        if path != "-" {
            total = try StoreCommand.validate(
                path: path, format: format, dimension: info.dimension)
        }

        let reader = try PatternCSVReader(path: path, format: format)
        let progress = ProgressBar(
            console: context.console, label: "complete \(bank)", enabled: context.showsProgress)
        var results = BulkCompletionReport(expectLabels: format.labelColumn != nil)
        var pending: [[PatternRow]] = []

        func emit(_ rows: [PatternRow], _ answers: [Reply]) throws(CLIError) {
            guard answers.count == rows.count else {
                throw Replies.malformed("MCOMPLETE reply", "wrong number of completions")
            }
            for (row, answer) in zip(rows, answers) {
                let completion = try Replies.completion(answer)
                if context.globals.json {
                    context.emit(results.json(row: row, completion))
                }
                results.add(row: row, completion)
            }
            progress.update(rows: results.count, total: total)
        }

        func collect() throws(CLIError) {
            let reply = try client.receive()
            guard Self.isTimeout(reply) else {
                try emit(pending.removeFirst(), Replies.array(value(reply), of: "MCOMPLETE reply"))
                return
            }
            // A batch ran over the daemon's time budget: take the replies already on their
            // way, then answer the timed-out batches in halves, keeping the rows in order;
            // later batches are smaller.
            var replies = [reply]
            for _ in 1..<pending.count { replies.append(try client.receive()) }
            batchSize = max(1, batchSize / 2)
            for reply in replies {
                let rows = pending.removeFirst()
                if Self.isTimeout(reply) {
                    try emit(rows, completeInHalves(client, bank: bank, rows, options))
                } else {
                    try emit(rows, Replies.array(value(reply), of: "MCOMPLETE reply"))
                }
            }
        }

        do {
            while true {
                let rows = try reader.next(upTo: batchSize)
                if rows.isEmpty { break }
                try StoreCommand.checkDimension(rows, dimension: info.dimension, path: path)
                try client.send(Self.request(bank: bank, rows, options))
                pending.append(rows)
                if pending.count >= pipelineDepth { try collect() }
            }
            while !pending.isEmpty { try collect() }
        } catch {
            progress.abandon()
            throw error
        }
        progress.finish(rows: results.count, total: total)
        if !context.globals.json {
            context.console.out(results.rendered())
        }
    }
}

extension CompleteCommand {
    static func isTimeout(_ reply: Reply) -> Bool {
        if case .error("TIMEOUT", _) = reply { return true }
        return false
    }

    /// An error reply as a thrown `daemon` error, anything else as it is.
    static func value(_ reply: Reply) throws(CLIError) -> Reply {
        if case .error(let code, let message) = reply {
            throw CLIError(.daemon(code: code), "\(code): \(message)")
        }
        return reply
    }

    static func request(bank: String, _ rows: [PatternRow], _ options: [String]) -> [String] {
        ["MCOMPLETE", bank, String(rows.count)] + rows.map { queryText($0.values) } + options
    }

    /// Completes `rows` with nothing else in flight, splitting a batch that times out until a
    /// single query does (which is then an error).
    static func completeInHalves(
        _ client: DaemonClient, bank: String, _ rows: [PatternRow], _ options: [String]
    ) throws(CLIError) -> [Reply] {
        try client.send(request(bank: bank, rows, options))
        let reply = try client.receive()
        if isTimeout(reply), rows.count > 1 {
            let middle = rows.count / 2
            return try completeInHalves(client, bank: bank, Array(rows[..<middle]), options)
                + completeInHalves(client, bank: bank, Array(rows[middle...]), options)
        }
        return try Replies.array(value(reply), of: "MCOMPLETE reply")
    }
}

/// The human summary of many completions: one table row each, and label agreement when the CSV
/// carried expected labels.
struct BulkCompletionReport {
    let expectLabels: Bool
    private var table: Table
    private(set) var count = 0
    private var matched = 0

    init(expectLabels: Bool) {
        self.expectLabels = expectLabels
        var columns: [Table.Column] = [.right("ROW")]
        if expectLabels { columns.append(.left("EXPECTED")) }
        columns += [
            .right("SEQ"), .left("LABEL"), .right("WEIGHT"), .right("SUPPORT"), .right("ENERGY"),
            .right("STEPS"), .left("EXACT"),
        ]
        table = Table(columns)
    }

    mutating func add(row: PatternRow, _ completion: CompletionObject) {
        count += 1
        let top = completion.sortedSupport.first
        if expectLabels, let expected = row.label, top?.label == expected { matched += 1 }
        var cells = [String(count)]
        if expectLabels { cells.append(Format.label(row.label)) }
        let seq: String = top.map { String($0.seq) } ?? "-"
        let weight: String = top.map { NumberFormat.short($0.weight) } ?? "-"
        let energy = NumberFormat.short(completion.energy, digits: 6)
        cells.append(contentsOf: [seq, Format.label(top?.label), weight])
        cells.append(contentsOf: [String(completion.support.count), energy])
        cells.append(contentsOf: [String(completion.steps), Format.yesNo(completion.exact)])
        table.append(cells)
    }

    func json(row: PatternRow, _ completion: CompletionObject) -> JSONValue {
        guard case .object(let fields) = completion.json else { return completion.json }
        var members: [(String, JSONValue)] = [("row", .int(count + 1)), ("line", .int(row.line))]
        if expectLabels { members.append(("expected", .optionalString(row.label))) }
        return .object(members + fields)
    }

    func rendered() -> String {
        var out = table.rendered()
        if expectLabels, count > 0 {
            let percent = NumberFormat.short(Double(matched) * 100 / Double(count), digits: 4)
            out += "\nthe top supporting label matched the expected one in \(matched) of "
            out += "\(count) rows (\(percent)%)\n"
        }
        return out
    }
}
