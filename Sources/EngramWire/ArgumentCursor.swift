// Reading a request's arguments one by one, with the error messages of the grammar.

/// A position in a request's arguments; the verb is argument 0.
struct ArgumentCursor {
    let verb: Command.Verb
    let arguments: Arguments
    var index = 1

    init(verb: Command.Verb, arguments: Arguments) {
        self.verb = verb
        self.arguments = arguments
    }

    var remaining: Int { arguments.count - index }

    mutating func next() -> [UInt8]? {
        guard index < arguments.count else { return nil }
        defer { index += 1 }
        return arguments[index]
    }

    /// The next argument, or `ARGS` naming what is missing.
    mutating func required(_ what: String) throws(WireError) -> [UInt8] {
        guard let argument = next() else {
            throw WireError(.args, "\(verb) is missing its \(what); usage: \(verb.usage)")
        }
        return argument
    }

    /// Checks that every argument was used.
    func finish() throws(WireError) {
        guard index < arguments.count else { return }
        throw WireError(
            .args,
            "unexpected argument \(WireError.quote(arguments[index])) for \(verb)"
                + "; usage: \(verb.usage)")
    }

    /// Reads `NAME value...` options until the end: names are case-insensitive, each may be
    /// given once, and `body` reads the value(s) of the option it is passed (upper case).
    mutating func options(
        _ names: [String],
        _ body: (String, inout ArgumentCursor) throws(WireError) -> Void
    ) throws(WireError) {
        var seen: Set<String> = []
        while let word = next() {
            let name = Command.upper(word)
            guard names.contains(name) else {
                let known = names.isEmpty ? "none" : names.joined(separator: " ")
                throw WireError(
                    .args,
                    "unknown option \(WireError.quote(word)) for \(verb); options: \(known)")
            }
            guard seen.insert(name).inserted else {
                throw WireError(.args, "option \(name) given twice")
            }
            try body(name, &self)
        }
    }

    // MARK: - Typed values

    mutating func text(_ what: String, maxBytes: Int) throws(WireError) -> String {
        let bytes = try required(what)
        guard bytes.count <= maxBytes else {
            throw WireError(
                .badValue, "\(what) of \(bytes.count) bytes; at most \(maxBytes) are accepted")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw WireError(.args, "\(what) \(WireError.quote(bytes)) is not valid UTF-8")
        }
        return text
    }

    mutating func bankName() throws(WireError) -> String {
        try name("bank name")
    }

    /// A bank name or job id: `[A-Za-z0-9._-]{1,64}`.
    mutating func name(_ what: String) throws(WireError) -> String {
        let bytes = try required(what)
        return try ArgumentCursor.validName(bytes, what)
    }

    static func validName(_ bytes: [UInt8], _ what: String) throws(WireError) -> String {
        guard (1...64).contains(bytes.count), bytes.allSatisfy(isNameByte) else {
            throw WireError(
                .badName,
                "invalid \(what) \(WireError.quote(bytes)); use 1 to 64 of A-Z a-z 0-9 . _ -")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `text` is a valid bank name or job id.
    static func isValidName(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy(isNameByte)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }

    /// A decimal integer in `minimum...maximum`.
    mutating func integer(
        _ what: String, minimum: Int, maximum: Int = Int.max
    ) throws(WireError) -> Int {
        let bytes = try required(what)
        guard let value = ArgumentCursor.integerValue(bytes) else {
            throw WireError(
                .badValue, "\(what) expects an integer, got \(WireError.quote(bytes))")
        }
        guard value >= minimum, value <= maximum else {
            let range =
                maximum == Int.max ? "≥ \(minimum)" : "between \(minimum) and \(maximum)"
            throw WireError(.badValue, "\(what) must be \(range), got \(value)")
        }
        return value
    }

    /// `-?digits` with no sign `+`, no spaces, no overflow.
    static func integerValue(_ bytes: [UInt8]) -> Int? {
        ReplyDecoder.signedDecimal(bytes[...])
    }

    /// A finite decimal real.
    mutating func real(_ what: String) throws(WireError) -> Double {
        let bytes = try required(what)
        guard let value = FloatText.parseDouble(bytes) else {
            throw WireError(
                .badValue,
                "\(what) expects a finite decimal number, got \(WireError.quote(bytes))")
        }
        return value
    }

    mutating func positiveReal(_ what: String) throws(WireError) -> Double {
        let value = try real(what)
        guard value > 0 else {
            throw WireError(.badValue, "\(what) must be > 0, got \(FloatText.format(value))")
        }
        return value
    }

    mutating func format() throws(WireError) -> VectorFormat {
        let bytes = try required("FORMAT")
        guard let format = VectorFormat(rawValue: Command.upper(bytes).lowercased()) else {
            throw WireError(
                .badValue, "unknown FORMAT \(WireError.quote(bytes)); use text or bin")
        }
        return format
    }

    mutating func normalization() throws(WireError) -> VectorNormalization {
        let bytes = try required("NORMALIZE")
        guard let value = VectorNormalization(rawValue: Command.upper(bytes).lowercased())
        else {
            throw WireError(
                .badValue, "unknown NORMALIZE \(WireError.quote(bytes)); use none or l2")
        }
        return value
    }

    /// `MASK bits`: one character per component, `1` known, `0` unknown.
    mutating func mask() throws(WireError) -> [Bool] {
        let bytes = try required("MASK")
        var known: [Bool] = []
        known.reserveCapacity(bytes.count)
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "1"): known.append(true)
            case UInt8(ascii: "0"): known.append(false)
            default:
                throw WireError(
                    .badValue,
                    "MASK character \(index + 1) is \(WireError.quote([byte])); write one 1 "
                        + "(known) or 0 (unknown) per component")
            }
        }
        guard !known.isEmpty else {
            throw WireError(.badValue, "empty MASK; write one 1 or 0 per component")
        }
        return known
    }
}
