// Helpers shared by the store tests: temporary directories and deterministic vectors.

import EngramStore
import Foundation

/// A fresh directory under /tmp, removed when the returned object is released.
final class TemporaryDirectory {
    let path: String

    init(_ tag: String = "store") {
        var template = Array("/tmp/engram-\(tag)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(
            decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A path inside the directory that does not exist yet.
    func child(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// SplitMix64: a small seeded generator, so failures can be replayed from a printed seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A deterministic vector for `(seed, index)`.
func vector(_ dimension: Int, seed: UInt64, index: Int) -> [Float] {
    var generator = SeededGenerator(seed: seed &* 1_000_003 &+ UInt64(index))
    return (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
}

func smallOptions(_ initialMapSize: Int = 1 << 20, cap: Int = 1 << 30) -> StoreOptions {
    StoreOptions(initialMapSize: initialMapSize, mapCap: cap)
}
