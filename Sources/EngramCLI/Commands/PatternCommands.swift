// `engram get` and `engram show`: a stored pattern as numbers or as a picture.

import EngramWire

enum PatternCommands {
    static func get(_ context: CommandContext) throws {
        let pattern = try fetch(context)
        if context.globals.json {
            context.emit(pattern.json)
            return
        }
        var rows: [(String, String)] = [("seq", String(pattern.seq))]
        rows.append(("label", Format.label(pattern.label)))
        rows.append(("time", Format.time(pattern.time)))
        rows.append(("dim", String(pattern.pattern.count)))
        context.console.out(Format.fields(rows) + "pattern:\n" + Format.vector(pattern.pattern))
    }

    static func show(_ context: CommandContext) throws {
        let given = try context.arguments.string("shape").map { (text) throws(CLIError) in
            try PictureShape.parse(text, command: context.name)
        }
        let pattern = try fetch(context)
        let shape = try PictureShape.resolve(
            given, dimension: pattern.pattern.count, command: context.name)
        if context.globals.json {
            context.emit(
                .object([
                    ("seq", .int(pattern.seq)), ("label", .optionalString(pattern.label)),
                    ("shape", .array([.int(shape.height), .int(shape.width)])),
                    ("pattern", .floats(pattern.pattern)),
                ]))
            return
        }
        let bank = context.positional(0) ?? ""
        context.console.out(
            "\(bank) #\(pattern.seq)  label \(Format.label(pattern.label))\n"
                + Picture.render(pattern.pattern, shape: shape))
    }

    private static func fetch(_ context: CommandContext) throws -> PatternObject {
        let bank = context.positional(0) ?? ""
        let text = context.positional(1) ?? ""
        guard let seq = Int(text), seq >= 1 else {
            throw CLIError.usage(
                "SEQ must be a sequence number ≥ 1, got '\(text)'", command: context.name)
        }
        return try Replies.pattern(context.connect().call(["GET", bank, String(seq)]))
    }
}
