// Dispatch from a parsed command to the code that runs it.

/// The runners of all commands.
enum Commands {
    static func run(_ context: CommandContext) throws {
        switch context.spec.path {
        case ["ping"]: try ServerCommands.ping(context)
        case ["bank", "create"]: try BankCommands.create(context)
        case ["bank", "list"]: try BankCommands.list(context)
        case ["bank", "info"]: try BankCommands.info(context)
        case ["bank", "drop"]: try BankCommands.drop(context)
        case ["store"]: try StoreCommand.run(context)
        case ["get"]: try PatternCommands.get(context)
        case ["show"]: try PatternCommands.show(context)
        case ["complete"]: try CompleteCommand.run(context)
        case ["ingest"]: try IngestCommand.run(context)
        case ["forecast"]: try ForecastCommand.run(context)
        case ["jobs"]: try ServerCommands.jobs(context)
        case ["backup"]: try ServerCommands.backup(context)
        case ["stats"]: try ServerCommands.stats(context)
        default:
            preconditionFailure("BUG IN engram (please report): no runner for \(context.name)")
        }
    }
}
