import Foundation
import Testing

@testable import EngramFeatures

/// numpy (a declared dependency: `make deps` installs it) computes the goldens here, a third
/// implementation besides the streaming evaluator and the Swift reference loop.
let numpyScript = """
    import sys, json
    import numpy as np
    x = np.array(json.loads(sys.stdin.read()), dtype=float)
    out = {}
    for k in (2, 5, 16):
        w = np.lib.stride_tricks.sliding_window_view(x, k)
        pad = [float('nan')] * (k - 1)
        for name, f in (('mean', np.mean), ('std', lambda a, axis: np.std(a, axis=axis, ddof=1)),
                        ('max', np.max), ('min', np.min), ('sum', np.sum)):
            out['win(s,%d,%s)' % (k, name)] = pad + [float(v) for v in f(w, axis=1)]
    d = np.concatenate([[np.nan], np.diff(x)])
    out['d1:s'] = [float(v) for v in d]
    out['lag(s,3)'] = [float('nan')] * 3 + [float(v) for v in x[:-3]]
    print(json.dumps({k: [None if v != v else v for v in vs] for k, vs in out.items()}))
    """

func numpyGoldens(_ series: [Double]) throws -> [String: [Double]] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", numpyScript]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    let json = "[" + series.map { $0.isNaN ? "NaN" : "\($0)" }.joined(separator: ",") + "]"
    input.fileHandleForWriting.write(Data(json.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "python3 with numpy is required (make deps)")
    let decoded = try JSONDecoder().decode([String: [Double?]].self, from: data)
    return decoded.mapValues { $0.map { $0 ?? .nan } }
}

@Test func operatorsMatchNumpy() throws {
    var random = SplitMix(state: 17)
    var series = (0..<400).map { _ in 1e6 + random.normal() }
    for index in [30, 31, 77, 200, 201, 202, 350] { series[index] = .nan }
    let goldens = try numpyGoldens(series)
    let names = goldens.keys.sorted()
    #expect(names.count == 17)
    let columns = try evaluateColumns(names, series)
    for (i, name) in names.enumerated() {
        let golden = try #require(goldens[name])
        #expect(same(columns[i], golden, tolerance: 1e-9), "\(name)")
        // numpy propagates NaN through a window exactly like pandas' min_periods = k.
        #expect(columns[i].filter(\.isNaN).count == golden.filter(\.isNaN).count, "\(name)")
    }
}
