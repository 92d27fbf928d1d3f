// A pattern drawn as a grey-scale picture in the terminal, so a person can see a memory.

/// The height and width a pattern is drawn at.
struct PictureShape: Sendable, Equatable {
    let height: Int
    let width: Int

    var count: Int { height * width }

    /// Reads `HxW` (`8x8`, `28X28`).
    static func parse(_ text: String, command: String) throws(CLIError) -> PictureShape {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let height = Int(parts[0]), let width = Int(parts[1]),
            height > 0, width > 0, height <= 1024, width <= 1024
        else {
            throw .usage("option '--shape' needs HxW such as 8x8, got '\(text)'", command: command)
        }
        return PictureShape(height: height, width: width)
    }

    /// The shape to use for a pattern of `dimension` components: the given one, which must not
    /// need more components than there are, else the square one.
    static func resolve(
        _ given: PictureShape?, dimension: Int, command: String
    ) throws(CLIError) -> PictureShape {
        if let given {
            guard given.count <= dimension else {
                throw .usage(
                    "shape \(given.height)x\(given.width) needs \(given.count) components; "
                        + "the pattern has \(dimension)", command: command)
            }
            return given
        }
        let side = Int(Double(dimension).squareRoot().rounded())
        guard side > 0, side * side == dimension else {
            throw .usage(
                "a pattern of \(dimension) components is not square",
                command: command, hint: "give its shape with --shape HxW")
        }
        return PictureShape(height: side, width: side)
    }
}

/// Renders patterns as block-shaded pictures.
///
/// Each component is one cell drawn with two characters (terminal cells are about twice as
/// tall as wide), from `' '` (lowest) through `░ ▒ ▓` to `█` (highest). Values are scaled
/// between the pattern's own minimum and maximum, in five equal bins, so a digit stored as
/// pixel counts 0..16 and one recovered at unit scale look alike; a constant pattern is drawn
/// against 0..1. A frame marks the edges, and a legend gives the scale.
enum Picture {
    static let shades: [Character] = [" ", "░", "▒", "▓", "█"]

    static func render(_ values: [Float], shape: PictureShape) -> String {
        let cells = Array(values.prefix(shape.count))
        let (low, high) = range(of: cells)

        var out = "┌" + String(repeating: "─", count: shape.width * 2) + "┐\n"
        for row in 0..<shape.height {
            out += "│"
            for column in 0..<shape.width {
                let shade = shades[level(cells[row * shape.width + column], low: low, high: high)]
                out.append(shade)
                out.append(shade)
            }
            out += "│\n"
        }
        out += "└" + String(repeating: "─", count: shape.width * 2) + "┘\n"
        out += "scale: ' ' \(NumberFormat.short(Double(low))) … '█' "
        out += "\(NumberFormat.short(Double(high)))"
        if values.count > shape.count {
            out += "; first \(shape.count) of \(values.count) components"
        }
        return out + "\n"
    }

    private static func range(of values: [Float]) -> (Float, Float) {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max(), high > low else {
            return (0, 1)
        }
        return (low, high)
    }

    private static func level(_ value: Float, low: Float, high: Float) -> Int {
        guard value.isFinite else { return 0 }
        let scaled = (value - low) / (high - low) * Float(shades.count)
        return min(shades.count - 1, max(0, Int(scaled)))
    }
}
