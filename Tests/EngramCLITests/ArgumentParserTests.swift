import Testing

@testable import EngramCLI

@Suite struct ArgumentParserTests {
    let parser = ArgumentParser(commands: CommandCatalog.all)

    private func run(_ line: [String]) throws -> (CommandSpec, ParsedArguments) {
        guard case .run(let spec, let parsed) = try parser.parse(line) else {
            Issue.record("expected a command to run for \(line)")
            throw CLIError.usage("not a run")
        }
        return (spec, parsed)
    }

    @Test func parsesSubcommandWithOptionsAndValues() throws {
        let (spec, parsed) = try run(["bank", "create", "digits", "--dim", "64", "--beta=2"])
        #expect(spec.path == ["bank", "create"])
        #expect(parsed.positionals == ["digits"])
        #expect(parsed.values == ["dim": "64", "beta": "2"])
    }

    @Test func globalOptionsComeBeforeOrAfterTheCommand() throws {
        let (_, before) = try run(["--socket", "/tmp/s", "--json", "bank", "list"])
        let (_, after) = try run(["bank", "list", "--json", "--socket=/tmp/s"])
        #expect(try GlobalOptions(before) == GlobalOptions(after))
        #expect(try GlobalOptions(before).socket == "/tmp/s")
        #expect(try GlobalOptions(before).json)
    }

    @Test func negativeNumbersAndVectorsAreValuesNotOptions() throws {
        let (_, parsed) = try run(["store", "d", "--csv", "x.csv", "--label-column", "-1"])
        #expect(parsed.values["label-column"] == "-1")
        let (_, vector) = try run(["complete", "d", "-0.5,?,2"])
        #expect(vector.positionals == ["d", "-0.5,?,2"])
        let (_, unknownFirst) = try run(["complete", "d", "?,1"])
        #expect(unknownFirst.positionals == ["d", "?,1"])
    }

    @Test func doubleDashEndsOptions() throws {
        let (_, parsed) = try run(["store", "d", "--", "-1,2"])
        #expect(parsed.positionals == ["d", "-1,2"])
    }

    @Test func flagsAreRecorded() throws {
        let (_, parsed) = try run(["bank", "drop", "scratch", "--yes"])
        #expect(parsed.flag("yes"))
    }

    @Test func helpForACommand() throws {
        guard case .help(let spec?, _) = try parser.parse(["complete", "--help"]) else {
            Issue.record("expected help")
            return
        }
        #expect(spec.path == ["complete"])
        guard case .help(let viaHelp?, _) = try parser.parse(["help", "bank", "drop"]) else {
            Issue.record("expected help")
            return
        }
        #expect(viaHelp.path == ["bank", "drop"])
    }

    @Test func familyNeedsASubcommandAndHasHelp() throws {
        #expect(throws: CLIError.self) { try parser.parse(["bank"]) }
        guard case .familyHelp("bank", _) = try parser.parse(["bank", "--help"]) else {
            Issue.record("expected the bank family's help")
            return
        }
    }

    struct BadLine: CustomTestStringConvertible, Sendable {
        let line: [String]
        let message: String
        var testDescription: String { line.joined(separator: " ") }
    }

    @Test(arguments: [
        BadLine(line: ["frob"], message: "unknown command 'frob'"),
        BadLine(line: ["bank", "melt"], message: "unknown subcommand 'bank melt'"),
        BadLine(line: ["bank", "create"], message: "missing NAME"),
        BadLine(line: ["get", "d"], message: "missing SEQ"),
        BadLine(line: ["get", "d", "1", "2"], message: "unexpected argument '2'"),
        BadLine(line: ["bank", "list", "--frob"], message: "unknown option '--frob'"),
        BadLine(line: ["bank", "create", "d", "--dim"], message: "option '--dim' needs a value D"),
        BadLine(
            line: ["bank", "create", "d", "--dim", "2", "--dim", "3"],
            message: "option '--dim' given more than once"),
        BadLine(line: ["bank", "drop", "d", "--yes=1"], message: "option '--yes' takes no value"),
        BadLine(line: ["ping", "-x"], message: "unknown option '-x'"),
    ])
    func rejectsBadLines(_ bad: BadLine) {
        do {
            _ = try parser.parse(bad.line)
            Issue.record("parsed \(bad.line) without an error")
        } catch {
            #expect(error.message.hasPrefix(bad.message), "got '\(error.message)'")
            #expect(error.exitCode == .usage)
        }
    }

    @Test func typedValuesReportTheOption() throws {
        let (spec, parsed) = try run(["complete", "d", "1", "--steps", "zero", "--beta", "nan"])
        #expect(throws: CLIError.self) { try parsed.int("steps", in: 1...9, command: spec.name) }
        #expect(throws: CLIError.self) { try parsed.double("beta", command: spec.name) }
        do {
            _ = try parsed.int("steps", in: 1...9, command: spec.name)
        } catch {
            #expect(error.message == "option '--steps' needs an integer in 1...9, got 'zero'")
            #expect(error.kind == .usage(command: "complete"))
        }
    }
}
