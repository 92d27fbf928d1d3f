// Every command's spec: names, arguments, options, help and examples.

/// The specs of all commands, in the order `engram help` lists them.
enum CommandCatalog {
    static let all: [CommandSpec] = [
        ping, bankCreate, bankList, bankInfo, bankDrop, store, get, complete, show, ingest,
        forecast, jobs, backup, stats, help,
    ]

    static let ping = CommandSpec(
        path: ["ping"], synopsis: [], summary: "check that engramd answers, and how fast",
        examples: ["engram ping", "engram --socket /run/engramd/engramd.sock ping"])

    static let bankCreate = CommandSpec(
        path: ["bank", "create"],
        synopsis: [
            "NAME", "--dim D", "[--mode sparsemax|softmax|entmax]", "[--alpha A]", "[--beta B]",
            "[--normalize none|l2]", "[--meta TEXT]",
        ],
        summary: "create a memory bank of patterns of one dimension",
        discussion: """
            The mode is the normalizer of the retrieval (sparsemax by default; entmax needs
            --alpha in (1, 2]). β is the inverse temperature: larger is sharper. With
            --normalize l2, patterns and queries are scaled to unit length before retrieval.
            """,
        positionals: [PositionalSpec(name: "NAME", help: "letters, digits, '.', '_', '-'; 1-64")],
        options: [
            .value("dim", "D", "dimension of every pattern (required)"),
            .value("mode", "M", "sparsemax (default), softmax or entmax"),
            .value("alpha", "A", "entmax α in (1, 2]"),
            .value("beta", "B", "inverse temperature β > 0"),
            .value("normalize", "N", "none (default) or l2"),
            .value("meta", "TEXT", "free text kept with the bank"),
        ],
        examples: [
            "engram bank create digits --dim 64 --beta 2",
            "engram bank create faces --dim 4096 --mode entmax --alpha 1.5 --normalize l2",
        ])

    static let bankList = CommandSpec(
        path: ["bank", "list"], synopsis: [], summary: "list the banks with their sizes",
        examples: ["engram bank list", "engram bank list --json"])

    static let bankInfo = CommandSpec(
        path: ["bank", "info"], synopsis: ["NAME"], summary: "show one bank's settings and size",
        positionals: [PositionalSpec(name: "NAME", help: "the bank")],
        examples: ["engram bank info digits"])

    static let bankDrop = CommandSpec(
        path: ["bank", "drop"], synopsis: ["NAME", "--yes"],
        summary: "delete a bank and every pattern in it",
        discussion: "This cannot be undone; --yes confirms it.",
        positionals: [PositionalSpec(name: "NAME", help: "the bank")],
        options: [.flag("yes", "confirm that the bank's patterns are to be deleted")],
        examples: ["engram bank drop scratch --yes"])

    static let store = CommandSpec(
        path: ["store"],
        synopsis: [
            "BANK", "VECTOR", "[--label TEXT]", "|", "BANK", "--csv FILE", "[--header]",
            "[--label-column N]",
        ],
        summary: "store one pattern, or every row of a CSV file",
        discussion: """
            One pattern prints its new sequence number. With --csv, every row is checked first
            (a bad row stores nothing), then rows are sent in batches; it prints the first and
            last sequence numbers and the count. --label-column counts from 1, or from the end
            when negative (-1 = the last column).
            """,
        positionals: [
            PositionalSpec(name: "BANK", help: "the bank"),
            PositionalSpec(
                name: "VECTOR", help: "comma-separated numbers: 0,0.5,1", optional: true),
        ],
        options: [
            .value("label", "TEXT", "a label stored with the pattern"),
            .value("csv", "FILE", "store every row of FILE ('-' for stdin)"),
            .flag("header", "the first line of the CSV is a header"),
            .value("label-column", "N", "the CSV column holding the label"),
            .value("batch", "ROWS", "rows per request (default 1000)"),
        ],
        examples: [
            "engram store tiny 1,0,0 --label x",
            "engram store digits --csv data/digits.csv --label-column -1",
        ])

    static let get = CommandSpec(
        path: ["get"], synopsis: ["BANK", "SEQ"], summary: "print a stored pattern",
        positionals: [
            PositionalSpec(name: "BANK", help: "the bank"),
            PositionalSpec(name: "SEQ", help: "sequence number, from 1"),
        ],
        examples: ["engram get digits 42", "engram get digits 42 --json"])

    static let completionOptions: [OptionSpec] = [
        .value("mode", "M", "normalizer for this query: sparsemax, softmax or entmax"),
        .value("alpha", "A", "entmax α in (1, 2]"),
        .value("beta", "B", "inverse temperature β > 0"),
        .value("steps", "N", "at most N update steps (default 1)"),
        .value("tol", "T", "stop when weights change by at most T"),
        .value("top", "K", "report at most K supporting patterns"),
        .value("as-of", "SEQ", "answer over the first SEQ patterns only"),
    ]

    static let complete = CommandSpec(
        path: ["complete"],
        synopsis: [
            "BANK", "VECTOR", "[--mode M]", "[--alpha A]", "[--beta B]", "[--steps N]",
            "[--tol T]", "[--top K]", "[--as-of SEQ]", "[--show [--shape HxW]]", "|", "BANK",
            "--csv FILE", "…",
        ],
        summary: "complete a noisy or partial pattern from the memories in a bank",
        discussion: """
            '?' marks an unknown component; known components stay as given. The answer shows
            the completed pattern, the stored patterns that support it with their weights, the
            energy, the steps taken, whether it converged, and whether the recall is exact.
            With --csv, one completion per row ('?' or a blank cell is unknown); --json then
            prints one JSON document per line.
            """,
        positionals: [
            PositionalSpec(name: "BANK", help: "the bank"),
            PositionalSpec(
                name: "VECTOR", help: "comma-separated numbers, '?' = unknown",
                optional: true),
        ],
        options: completionOptions + [
            .flag("show", "draw the completed pattern as a picture"),
            .value("shape", "HxW", "picture shape (default: square)"),
            .value("csv", "FILE", "complete every row of FILE ('-' for stdin)"),
            .flag("header", "the first line of the CSV is a header"),
            .value("label-column", "N", "a CSV column of expected labels, compared with answers"),
            .value("batch", "ROWS", "rows per request (default 256)"),
        ],
        examples: [
            "engram complete tiny 1,?,?",
            "engram complete digits 0,0,5,13,9,1,0,0,…,?,?,? --show",
            "engram complete digits --csv queries.csv --label-column -1 --json",
        ])

    static let show = CommandSpec(
        path: ["show"], synopsis: ["BANK", "SEQ", "[--shape HxW]"],
        summary: "draw a stored pattern as a grey-scale picture",
        discussion: """
            Each component is a cell shaded from ' ' (the pattern's minimum) through ░ ▒ ▓ to █
            (its maximum). The shape is square unless --shape says otherwise.
            """,
        positionals: [
            PositionalSpec(name: "BANK", help: "the bank"),
            PositionalSpec(name: "SEQ", help: "sequence number, from 1"),
        ],
        options: [.value("shape", "HxW", "picture shape (default: square)")],
        examples: ["engram show digits 1", "engram show wide 3 --shape 4x16"])

    static let ingest = CommandSpec(
        path: ["ingest"],
        synopsis: [
            "BANK", "--csv FILE", "[--program FILE]", "[--horizon H --target COL[,COL…]]",
            "[--background]",
        ],
        summary: "turn a time-series CSV into feature patterns and store them, resumably",
        discussion: """
            Each row becomes the feature vector of a feature program (the default program when
            --program is not given), followed by the next H values of the target columns when
            --horizon is given. The bank is created when missing. Progress is committed with
            the patterns, so running the same ingest again resumes where it stopped.
            """,
        positionals: [PositionalSpec(name: "BANK", help: "the bank (created when missing)")],
        options: [
            .value("csv", "FILE", "the series: a CSV with a header (required)"),
            .value("program", "FILE", "a feature program (default: the built-in one)"),
            .value("horizon", "H", "append the next H values of the targets"),
            .value("target", "COLS", "comma-separated target column names"),
            .value(
                "target-encoding", "increment|level",
                "store y(t+h) − y(t) (default) or y(t+h)"),
            .value("time-column", "COL", "the time column, kept as the label"),
            .value("channels", "COLS", "the columns '*' stands for (default: all but time)"),
            .value("train-rows", "N", "fit the normalization on patterns of the first N rows"),
            .value("train-fraction", "F", "…or on the first fraction F of patterns (0.5)"),
            .value("beta", "B", "β of a bank created by ingest"),
            .value("batch", "ROWS", "patterns per request (default 1000)"),
            .flag("background", "detach and write progress to a log file"),
            OptionSpec(
                name: "detached-log", valueName: "FILE", help: "internal", hidden: true),
        ],
        examples: [
            "engram ingest co2 --csv data/co2.csv --horizon 4 --target co2",
            "engram ingest macro --csv data/macrodata.csv --program macro.fp --background",
        ])

    static let forecast = CommandSpec(
        path: ["forecast"], synopsis: ["BANK", "--csv FILE"],
        summary: "forecast from the recent rows of a series, with the moments it drew on",
        discussion: """
            Computes the features of the last row of FILE with the bank's stored program and
            normalization, completes them with the horizon unknown, and prints the forecast in
            the original units with the supporting historical moments and their weights.
            """,
        positionals: [PositionalSpec(name: "BANK", help: "a bank made by 'engram ingest'")],
        options: [.value("csv", "FILE", "recent rows of the series, same columns (required)")]
            + completionOptions.filter { $0.name != "as-of" },
        examples: [
            "engram forecast co2 --csv recent.csv", "engram forecast co2 --csv r.csv --json",
        ])

    static let jobs = CommandSpec(
        path: ["jobs"], synopsis: [],
        summary: "list ingestion jobs: state, rows, rate, skipped rows",
        examples: ["engram jobs", "engram jobs --json"])

    static let backup = CommandSpec(
        path: ["backup"], synopsis: ["DIR"],
        summary: "write a compact, consistent copy of the store while engramd serves",
        discussion: """
            DIR is written by the daemon, on its machine; a relative DIR is taken under
            engramd's state directory. It must be new or empty.
            """,
        positionals: [PositionalSpec(name: "DIR", help: "an empty or new directory")],
        examples: ["engram backup /var/backups/engram-$(date +%F)"])

    static let stats = CommandSpec(
        path: ["stats"], synopsis: [], summary: "show per-command counts and latencies, bank sizes",
        examples: ["engram stats", "engram stats --json"])

    static let help = CommandSpec(
        path: ["help"], synopsis: ["[COMMAND]"], summary: "show help for engram or a command",
        positionals: [PositionalSpec(name: "COMMAND", help: "a command", optional: true)],
        examples: ["engram help", "engram help complete"])
}
