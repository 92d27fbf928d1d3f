// `engram ingest`: time series to feature patterns, streamed into a bank, resumably.

enum IngestCommand {
    static func run(_ context: CommandContext) throws {
        // TODO(#7): build on EngramFeatures once its program evaluator and CSV reader land.
        throw CLIError(
            .unavailable, "ingest is not available in this build",
            hint: "store precomputed patterns with 'engram store BANK --csv FILE'")
    }
}
