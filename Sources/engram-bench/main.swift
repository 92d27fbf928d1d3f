// engram-bench: prints the benchmark tables of `make bench`. Each layer has its own file here;
// `engram-bench all` runs every suite, `engram-bench NAME…` the named ones.

let suites: [(name: String, run: @Sendable ([String]) throws -> Void)] = [
    ("retrieval", RetrievalBench.run),
    ("store", StoreBench.run),
    ("features", FeaturesBench.run),
    ("server", ServerBench.run),
    ("quality", QualityBench.run),
]

let arguments = Array(CommandLine.arguments.dropFirst())
let wanted = arguments.isEmpty || arguments == ["all"] ? suites.map(\.name) : arguments
for name in wanted {
    guard let suite = suites.first(where: { $0.name == name }) else {
        print("engram-bench: unknown suite '\(name)'; known: \(suites.map(\.name))")
        continue
    }
    print("\n== \(name) ==")
    try suite.run(arguments)
}
