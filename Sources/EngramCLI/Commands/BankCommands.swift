// `engram bank create|list|info|drop`.

import EngramWire

enum BankCommands {
    static func create(_ context: CommandContext) throws {
        let arguments = context.arguments
        let name = context.positional(0) ?? ""
        let dimension = try arguments.int("dim", in: 1...Int(Int32.max), command: context.name)
        guard let dimension else {
            throw CLIError.usage("missing required option '--dim'", command: context.name)
        }
        var request = ["BANK.CREATE", name, "DIM", String(dimension)]
        if let mode = try arguments.choice(
            "mode", ["sparsemax", "softmax", "entmax"], command: context.name)
        {
            request += ["MODE", mode]
        }
        if let alpha = try arguments.double("alpha", command: context.name) {
            request += ["ALPHA", NumberFormat.double(alpha)]
        }
        if let beta = try arguments.double("beta", command: context.name) {
            request += ["BETA", NumberFormat.double(beta)]
        }
        if let normalize = try arguments.choice(
            "normalize", ["none", "l2"], command: context.name)
        {
            request += ["NORMALIZE", normalize]
        }
        if let meta = arguments.string("meta") {
            request += ["META", meta]
        }

        let client = try context.connect()
        _ = try client.call(request)
        let bank = try Replies.bank(client.call(["BANK.INFO", name]))
        if context.globals.json {
            context.emit(bank.json)
        } else {
            context.console.out("created bank '\(bank.name)'\n" + describe(bank))
        }
    }

    static func list(_ context: CommandContext) throws {
        let reply = try context.connect().call(["BANK.LIST"])
        var banks: [BankObject] = []
        for element in try Replies.array(reply, of: "bank list") {
            banks.append(try Replies.bank(element))
        }
        banks.sort { $0.name < $1.name }

        if context.globals.json {
            context.emit(.array(banks.map(\.json)))
            return
        }
        guard !banks.isEmpty else {
            context.note("no banks; create one with 'engram bank create NAME --dim D'")
            return
        }
        context.console.out(table(banks).rendered())
    }

    static func info(_ context: CommandContext) throws {
        let bank = try Replies.bank(
            context.connect().call(["BANK.INFO", context.positional(0) ?? ""]))
        if context.globals.json {
            context.emit(bank.json)
        } else {
            context.console.out(describe(bank))
        }
    }

    static func drop(_ context: CommandContext) throws {
        let name = context.positional(0) ?? ""
        guard context.arguments.flag("yes") else {
            throw CLIError.usage(
                "dropping bank '\(name)' deletes all its patterns; add --yes to confirm",
                command: context.name)
        }
        let reply = try context.connect().call(["BANK.DROP", name, "CONFIRM"])
        let removed = try Replies.integer(reply, "BANK.DROP reply")
        if context.globals.json {
            context.emit(.object([("name", .string(name)), ("dropped", .int(removed))]))
        } else {
            let noun = removed == 1 ? "pattern" : "patterns"
            context.console.out("dropped bank '\(name)' and its \(removed) \(noun)\n")
        }
    }

    // MARK: - Rendering

    static func table(_ banks: [BankObject]) -> Table {
        var table = Table([
            .left("NAME"), .right("DIM"), .left("MODE"), .right("BETA"), .left("NORMALIZE"),
            .right("COUNT"),
        ])
        for bank in banks {
            table.append([
                bank.name, String(bank.dimension), bank.modeText, NumberFormat.human(bank.beta),
                bank.normalize.rawValue, String(bank.count),
            ])
        }
        return table
    }

    static func describe(_ bank: BankObject) -> String {
        var rows: [(String, String)] = [
            ("name", bank.name), ("dim", String(bank.dimension)), ("mode", bank.modeText),
            ("beta", NumberFormat.human(bank.beta)), ("normalize", bank.normalize.rawValue),
            ("count", String(bank.count)), ("created", Format.time(bank.created)),
        ]
        let meta = bank.meta
        if !meta.isEmpty {
            let shown = meta.count > 60 ? String(meta.prefix(60)) + "… (\(meta.count) chars)" : meta
            rows.append(("meta", shown.replacingNewlines))
        }
        return Format.fields(rows)
    }
}

extension String {
    var replacingNewlines: String {
        String(map { $0.isNewline ? " " : $0 })
    }
}
