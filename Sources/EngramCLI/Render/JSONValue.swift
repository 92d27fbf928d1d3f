// A JSON document with keys in the order they were written, so `--json` output is stable.

/// A JSON value. Objects keep their key order; numbers keep the text they were made from, so a
/// Float prints in its shortest exact form rather than as a widened Double.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        lhs.rendered() == rhs.rendered()
    }

    static func int<I: BinaryInteger>(_ value: I) -> JSONValue { .number(String(value)) }

    /// A finite Float as its shortest text; a non-finite one as null.
    static func float(_ value: Float) -> JSONValue {
        value.isFinite ? .number(NumberFormat.float(value)) : .null
    }

    /// A finite Double as its shortest text; a non-finite one as null.
    static func double(_ value: Double) -> JSONValue {
        value.isFinite ? .number(NumberFormat.double(value)) : .null
    }

    static func floats(_ values: [Float]) -> JSONValue { .array(values.map(float)) }

    static func optionalString(_ value: String?) -> JSONValue { value.map(string) ?? .null }

    /// The compact text of the document, on one line.
    func rendered() -> String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let text): out += text
        case .string(let text): Self.writeString(text, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
