// `engram bank create|list|info|drop`.

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
        let bank = try BankView(client.call(["BANK.INFO", name]))
        if context.globals.json {
            context.emit(bank.json)
        } else {
            context.console.out("created bank '\(bank.name)'\n" + describe(bank))
        }
    }

    static func list(_ context: CommandContext) throws {
        let reply = try context.connect().call(["BANK.LIST"])
        guard case .array(let elements?) = reply else {
            throw ReplyFields.malformed("bank list", "not an array")
        }
        var banks: [BankView] = []
        for element in elements { banks.append(try BankView(element)) }
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
        let bank = try BankView(context.connect().call(["BANK.INFO", context.positional(0) ?? ""]))
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
        let removed = ReplyFields.int(reply) ?? 0
        if context.globals.json {
            context.emit(.object([("name", .string(name)), ("dropped", .int(removed))]))
        } else {
            let noun = removed == 1 ? "pattern" : "patterns"
            context.console.out("dropped bank '\(name)' and its \(removed) \(noun)\n")
        }
    }

    // MARK: - Rendering

    static func table(_ banks: [BankView]) -> Table {
        var table = Table([
            .left("NAME"), .right("DIM"), .left("MODE"), .right("BETA"), .left("NORMALIZE"),
            .right("COUNT"),
        ])
        for bank in banks {
            table.append([
                bank.name, String(bank.dimension), mode(bank), NumberFormat.double(bank.beta),
                bank.normalize, String(bank.count),
            ])
        }
        return table
    }

    static func describe(_ bank: BankView) -> String {
        var rows: [(String, String)] = [
            ("name", bank.name), ("dim", String(bank.dimension)), ("mode", mode(bank)),
            ("beta", NumberFormat.double(bank.beta)), ("normalize", bank.normalize),
            ("count", String(bank.count)),
        ]
        if let created = bank.created { rows.append(("created", Format.time(created))) }
        if let meta = bank.meta, !meta.isEmpty {
            let shown = meta.count > 60 ? String(meta.prefix(60)) + "… (\(meta.count) chars)" : meta
            rows.append(("meta", shown.replacingNewlines))
        }
        return Format.fields(rows)
    }

    /// `entmax(1.5)` for entmax banks, the bare mode otherwise.
    static func mode(_ bank: BankView) -> String {
        guard bank.mode == "entmax", let alpha = bank.alpha else { return bank.mode }
        return "entmax(\(NumberFormat.double(alpha)))"
    }
}

extension String {
    var replacingNewlines: String {
        String(map { $0.isNewline ? " " : $0 })
    }
}
