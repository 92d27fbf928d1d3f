// What `ingest` and `forecast` share: feature errors as client errors, the bank's stored
// feature settings, and the job id of an ingestion.

import EngramFeatures
import EngramWire

enum FeatureSupport {
    /// Runs a features-layer call, turning its `FeatureError` into a ``CLIError``: a bad
    /// program, CSV or missing data is bad input (65), a bad option is bad usage (64), an
    /// unreadable file is an I/O error (74).
    static func run<T>(_ what: String, _ body: () throws -> T) throws(CLIError) -> T {
        do {
            return try body()
        } catch let error as FeatureError {
            throw convert(error, what: what)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(.data, "\(what): \(error)")
        }
    }

    static func convert(_ error: FeatureError, what: String) -> CLIError {
        var place = what
        if let line = error.line {
            place += " line \(line)"
            if let column = error.column { place += ", column \(column)" }
        }
        var message = "\(place): \(error.message)"
        if let excerpt = error.excerpt {
            message +=
                "\n"
                + excerpt.split(separator: "\n").map { "    " + $0 }.joined(
                    separator: "\n")
        }
        switch error.code {
        case .option: return CLIError(.usage(command: nil), message)
        case .io: return CLIError(.io, message)
        case .spec:
            return CLIError(.data, message, hint: "ingest into a new bank, or drop this one")
        default: return CLIError(.data, message)
        }
    }

    /// The feature settings kept in a bank's metadata by `engram ingest`.
    static func storedSpec(of bank: BankObject) throws(CLIError) -> FeatureSpec {
        guard !bank.meta.isEmpty, let spec = try? FeatureSpec(json: bank.meta) else {
            throw CLIError(
                .data, "bank '\(bank.name)' holds no feature settings",
                hint: "it was not made by 'engram ingest'; ingest into a new bank")
        }
        return spec
    }

    /// A column that looks like a time stamp, used as the time column when none is given:
    /// the first column, when its name is one of the usual ones.
    static func guessTimeColumn(_ header: [String]) -> String? {
        guard let first = header.first else { return nil }
        let usual = ["date", "time", "timestamp", "datetime", "ds", "year", "period", "week"]
        return usual.contains(first.lowercased()) ? first : nil
    }

    /// The job id of ingesting `source` into `bank`: the same inputs give the same id, so a
    /// second run finds the first run's progress and resumes it.
    static func jobID(bank: String, source: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64
        for byte in Array(bank.utf8) + [0] + Array(source.utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        let digits = String(repeating: "0", count: 16 - hex.count) + hex
        return "ingest." + String(bank.prefix(40)) + "." + digits
    }
}
