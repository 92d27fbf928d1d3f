import Foundation
import Testing

/// Compares text with a golden file in `Golden/` beside this file. With
/// `ENGRAM_UPDATE_GOLDEN=1` in the environment, writes the file instead (then review the diff).
enum Golden {
    static func check(
        _ actual: String, _ name: String, filePath: String = #filePath,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let directory = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        let url = directory.appendingPathComponent("Golden").appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["ENGRAM_UPDATE_GOLDEN"] == "1" {
            try? actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record("missing golden file \(url.path)", sourceLocation: sourceLocation)
            return
        }
        #expect(actual == expected, "differs from \(name)", sourceLocation: sourceLocation)
    }
}
