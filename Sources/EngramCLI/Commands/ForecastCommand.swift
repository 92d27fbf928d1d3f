// `engram forecast`: complete the features of the present with the future unknown.

enum ForecastCommand {
    static func run(_ context: CommandContext) throws {
        // TODO(#7): build on EngramFeatures once its program evaluator and CSV reader land.
        throw CLIError(.unavailable, "forecast is not available in this build")
    }
}
