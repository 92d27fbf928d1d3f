// `engram forecast`: complete the features of the present with the future unknown.

import EngramFeatures
import EngramWire

enum ForecastCommand {
    static func run(_ context: CommandContext) throws {
        let bankName = context.positional(0) ?? ""
        let csv = try context.arguments.requiredString("csv", command: context.name)
        let options = try CompleteCommand.retrievalOptions(context)
        let client = try context.connect()

        let bank = try Replies.bank(client.call(["BANK.INFO", bankName]))
        let spec = try FeatureSupport.storedSpec(of: bank)
        guard spec.horizon > 0 else {
            throw CLIError(
                .data, "bank '\(bankName)' has no forecast horizon",
                hint: "ingest with --horizon H --target COL to make a forecasting bank")
        }
        let query = try FeatureSupport.run(csv) { try spec.forecastQuery(csvPath: csv) }
        let values = zip(query.values, query.known).map { $1 ? Float($0) : nil }
        let reply = try client.call(
            ["COMPLETE", bankName, CompleteCommand.queryText(values)] + options)
        let completion = try Replies.completion(reply)
        let forecast = spec.forecast(
            fromPattern: completion.pattern.map(Double.init), query: query)

        if context.globals.json {
            context.emit(json(spec: spec, query: query, forecast: forecast, completion))
        } else {
            context.console.out(
                render(spec: spec, query: query, forecast: forecast, completion, csv: csv))
        }
    }

    static func json(
        spec: FeatureSpec, query: ForecastQuery, forecast: [[Double]],
        _ completion: CompletionObject
    ) -> JSONValue {
        let perTarget = spec.targets.enumerated().map { index, target in
            (target, JSONValue.array(forecast.map { .double($0[index]) }))
        }
        return .object([
            ("forecast", .object(perTarget)),
            ("horizon", .int(spec.horizon)), ("from", .optionalString(query.label)),
            (
                "support",
                .array(
                    completion.sortedSupport.map {
                        .object([
                            ("seq", .int($0.seq)), ("label", .optionalString($0.label)),
                            ("weight", .double($0.weight)),
                        ])
                    })
            ),
            ("energy", .double(completion.energy)), ("exact", .bool(completion.exact)),
        ])
    }

    static func render(
        spec: FeatureSpec, query: ForecastQuery, forecast: [[Double]],
        _ completion: CompletionObject, csv: String
    ) -> String {
        let from = query.label.map { "after \($0)" } ?? "after row \(query.row + 1)"
        var out = "forecast \(from) (the last row of \(csv)), \(spec.horizon) steps:\n"
        var table = Table([.right("STEP")] + spec.targets.map { .right($0) })
        for (step, values) in forecast.enumerated() {
            table.append(["+\(step + 1)"] + values.map { NumberFormat.short($0, digits: 6) })
        }
        out += indent(table.rendered())

        let count = completion.support.count
        out += "\ndrawn from \(count) historical \(count == 1 ? "moment" : "moments"):\n"
        var support = Table([.left("LABEL"), .right("SEQ"), .right("WEIGHT")])
        for entry in completion.sortedSupport {
            support.append([
                Format.label(entry.label), String(entry.seq), NumberFormat.short(entry.weight),
            ])
        }
        out += indent(support.rendered())
        out += "\nenergy \(NumberFormat.short(completion.energy, digits: 6)), "
        out += "exact \(Format.yesNo(completion.exact))\n"
        return out
    }

    private static func indent(_ text: String) -> String {
        text.split(separator: "\n").map { "  " + $0 + "\n" }.joined()
    }
}
