// `engram ingest`: time series to feature patterns, streamed into a bank, resumably.

import EngramFeatures
import EngramWire

#if canImport(Glibc)
    import Glibc
#endif

enum IngestCommand {
    static let pipelineDepth = 4

    /// Everything an ingestion needs, read from the command line.
    struct Plan {
        var bank: String
        var csv: String
        /// The absolute path of the CSV: the job's source and part of its id.
        var source: String
        var programPath: String?
        var horizon: Int
        var targets: [String]
        /// nil: the existing bank's encoding, or `.increment` for a new bank.
        var targetEncoding: TargetEncoding?
        var timeColumn: String?
        var channels: [String]?
        var trainRows: Int?
        var trainFraction: Double?
        var beta: Double?
        var batchSize: Int
    }

    static func run(_ context: CommandContext) throws {
        let plan = try readPlan(context)
        if context.arguments.flag("background") {
            try Detach.spawn(
                context,
                jobID: FeatureSupport.jobID(
                    bank: plan.bank, source: plan.source))
            return
        }
        try ingest(context, plan)
    }

    private static func readPlan(_ context: CommandContext) throws(CLIError) -> Plan {
        let arguments = context.arguments
        let csv = try arguments.requiredString("csv", command: context.name)
        let horizon = try arguments.int("horizon", in: 1...10_000, command: context.name)
        let targets = arguments.string("target").map {
            $0.split(separator: ",").map { String($0.trimmingSpaces) }
        }
        guard (horizon == nil) == (targets == nil) else {
            throw CLIError.usage("--horizon and --target go together", command: context.name)
        }
        guard access(csv, R_OK) == 0 else {
            throw CLIError(.io, "cannot read \(csv): \(UnixSocket.reason(errno))")
        }
        return Plan(
            bank: context.positional(0) ?? "", csv: csv, source: absolute(csv),
            programPath: arguments.string("program"), horizon: horizon ?? 0,
            targets: targets ?? [],
            targetEncoding: try arguments.choice(
                "target-encoding", TargetEncoding.allCases.map(\.rawValue),
                command: context.name
            ).flatMap(TargetEncoding.init(rawValue:)),
            timeColumn: arguments.string("time-column"),
            channels: arguments.string("channels").map {
                $0.split(separator: ",").map { String($0.trimmingSpaces) }
            },
            trainRows: try arguments.int("train-rows", in: 1...Int.max, command: context.name),
            trainFraction: try fraction(context),
            beta: try arguments.double("beta", command: context.name),
            batchSize: try arguments.int("batch", in: 1...100_000, command: context.name)
                ?? 1000)
    }

    private static func fraction(_ context: CommandContext) throws(CLIError) -> Double? {
        guard let value = try context.arguments.double("train-fraction", command: context.name)
        else { return nil }
        guard value > 0, value <= 1 else {
            throw CLIError.usage(
                "option '--train-fraction' must be in (0, 1], got \(value)", command: context.name)
        }
        if context.arguments.values["train-rows"] != nil {
            throw CLIError.usage(
                "give --train-rows or --train-fraction, not both", command: context.name)
        }
        return value
    }

    // MARK: - The ingestion

    private static func ingest(_ context: CommandContext, _ plan: Plan) throws {
        let requested = try requestedSpec(plan)
        let client = try context.connect()
        let jobID = FeatureSupport.jobID(bank: plan.bank, source: plan.source)

        let (spec, created) = try prepareBank(context, client: client, plan: plan, requested)
        let job = try settledJob(client, id: jobID)
        let total = try FeatureSupport.run(plan.csv) { try countRows(plan.csv) }

        // A finished job over the same rows has nothing left to do; a file that has grown
        // since (a series with new rows) continues after the stored patterns, which the
        // longer file reproduces exactly because features are causal and the normalization
        // is the stored one.
        if let job, job.state == .done, !created, job.total == total {
            context.note("\(plan.csv) is already ingested into \(plan.bank) (job \(jobID))")
            report(context, plan: plan, jobID: jobID, job: job)
            return
        }
        let resumeAfter = created ? 0 : (job?.rows ?? 0)
        if resumeAfter > 0 {
            context.note("resuming job \(jobID) after \(resumeAfter) stored patterns")
        }
        let builder = try FeatureSupport.run(plan.csv) {
            try PatternBuilder(csvPath: plan.csv, spec: spec)
        }
        let progress = ProgressBar(
            console: context.console, label: "ingest \(plan.bank)",
            enabled: context.showsProgress)
        let start = ProgressBar.now()
        var stream = BatchStream(client: client, depth: pipelineDepth)
        var built = 0
        var batch: [Pattern] = []
        // Every batch is a compare-and-set on the job (`IFROWS`): it commits only after the
        // rows this run believes are committed, so a batch of another run (or of a killed
        // one, landing late) between the job read and ours makes ours fail with CONFLICT
        // instead of storing rows twice. The first batch follows the job as read, even one
        // left from a dropped bank of the same name; each later one follows its predecessor.
        var follows = job?.rows ?? 0

        do throws(CLIError) {
            func flush() throws(CLIError) {
                guard !batch.isEmpty else { return }
                let counts = builder.counts
                let rows = built
                let request = MStoreRequest(
                    bank: plan.bank, vectors: batch.map { $0.values.map(Float.init) },
                    encoding: .bin, labels: batch.map { $0.label ?? "row \($0.row + 1)" },
                    progress: IngestProgress(
                        id: jobID, source: plan.source, position: counts.rows, rows: rows,
                        total: total,
                        skipped: counts.warmUp + counts.skippedMissing + counts.tail,
                        ifRows: follows))
                follows = rows
                try stream.send(Command.mstore(request).arguments, rows: batch.count)
                batch.removeAll(keepingCapacity: true)
                progress.update(rows: counts.rows, total: total)
            }

            Interruption.catchSignals()
            defer { Interruption.restoreSignals() }
            while let pattern = try FeatureSupport.run(plan.csv, { try builder.next() }) {
                built += 1
                if built <= resumeAfter { continue }
                batch.append(pattern)
                if batch.count >= plan.batchSize {
                    try flush()
                    if Interruption.requested { break }
                }
            }
            if !Interruption.requested { try flush() }
            try stream.drain()
            if Interruption.requested {
                throw CLIError(
                    .interrupted,
                    "interrupted after \(stream.stored) new patterns (\(built - batch.count) stored "
                        + "by the job in all)")
            }
        } catch {
            progress.abandon()
            if error.kind == .daemon(code: "CONFLICT") { throw conflict(jobID, error) }
            let interrupted = error.kind == .interrupted
            let message =
                interrupted
                ? error.message + "; run the same command to resume"
                : "failed after \(stream.stored) new patterns: \(error.message)"
            try? setJob(client, id: jobID, state: .failed, message: message)
            throw CLIError(
                error.kind, error.message,
                hint: interrupted
                    ? "run the same command again to resume after the last stored batch"
                    : "fix the cause and run the same command again: it resumes after the "
                        + "last stored batch")
        }

        let counts = builder.counts
        progress.finish(rows: counts.rows, total: total)
        let seconds = ProgressBar.now() - start
        let rate = ProgressBar.compact(Double(counts.rows) / max(seconds, 1e-6))
        let message =
            "\(counts.patterns) patterns from \(counts.rows) rows (warm-up \(counts.warmUp), "
            + "missing \(counts.skippedMissing), tail \(counts.tail)); last run \(rate) rows/s"
        try setJob(client, id: jobID, state: .done, message: message)
        report(context, plan: plan, jobID: jobID, job: try existingJob(client, id: jobID))
    }

    /// The feature settings the command line asks for, bound to the CSV's header.
    private static func requestedSpec(_ plan: Plan) throws(CLIError) -> FeatureSpec {
        let programName = plan.programPath ?? "the default program"
        let program = try FeatureSupport.run(programName) { () throws -> FeatureProgram in
            guard let path = plan.programPath else { return FeatureProgram.default }
            return try FeatureProgram(contentsOfFile: path)
        }
        let header = try FeatureSupport.run(plan.csv) { try CSVReader(path: plan.csv).header }
        let timeColumn = plan.timeColumn ?? FeatureSupport.guessTimeColumn(header)

        // Expand the program on its own first: an unknown channel on one of its lines, a
        // duplicate or an empty program is the program's fault, and its line numbers point
        // into the program file, not the CSV.
        let channels = plan.channels ?? header.filter { $0 != timeColumn }
        _ = try FeatureSupport.run(programName) { try program.features(channels: channels) }
        return try FeatureSupport.run(plan.csv) {
            try FeatureSpec(
                program: program, header: header, timeColumn: timeColumn,
                channels: plan.channels, targets: plan.targets, horizon: plan.horizon,
                targetEncoding: plan.targetEncoding ?? .increment)
        }
    }

    /// Creates the bank with the fitted normalization in its metadata, or checks that an
    /// existing one was made with the same settings. Returns the spec to build with.
    private static func prepareBank(
        _ context: CommandContext, client: DaemonClient, plan: Plan, _ requested: FeatureSpec
    ) throws(CLIError) -> (FeatureSpec, created: Bool) {
        if let bank = try bankIfExists(client, plan.bank) {
            let stored = try FeatureSupport.storedSpec(of: bank)
            guard stored.features == requested.features, stored.targets == requested.targets,
                stored.horizon == requested.horizon, stored.timeColumn == requested.timeColumn,
                stored.channels == requested.channels,
                plan.targetEncoding.map({ $0 == stored.targetEncoding }) ?? true
            else {
                throw CLIError(
                    .data,
                    "bank '\(plan.bank)' was made with other feature settings (\(stored.features.count) "
                        + "features, horizon \(stored.horizon), targets "
                        + "\(stored.targets.joined(separator: ",")), target encoding "
                        + "\(stored.targetEncoding.rawValue))",
                    hint: "ingest into a new bank, or give the same program and options")
            }
            guard bank.dimension == stored.dimension else {
                throw CLIError(
                    .data,
                    "bank '\(plan.bank)' has dimension \(bank.dimension); its feature settings "
                        + "make \(stored.dimension)")
            }
            return (stored, false)
        }

        let prefix: TrainingPrefix =
            plan.trainRows.map { .rows($0) } ?? .fraction(plan.trainFraction ?? 0.5)
        let spec = try FeatureSupport.run(plan.csv) {
            try requested.fittingNormalization(csvPath: plan.csv, prefix: prefix)
        }
        var request = ["BANK.CREATE", plan.bank, "DIM", String(spec.dimension)]
        // z-scored components make scores grow with the number of them that a query knows;
        // β = 1/√k keeps a few historical moments in the support instead of one. A forecast
        // query knows only the features (its targets are 0), so k is the feature count.
        let beta = plan.beta ?? 1 / Double(spec.features.count).squareRoot()
        request += ["BETA", NumberFormat.double(beta)]
        request += ["META", spec.json()]
        _ = try client.call(request)
        context.note(
            "created bank \(plan.bank): \(spec.features.count) features"
                + (spec.horizon > 0
                    ? " + \(spec.horizon) steps of \(spec.targets.joined(separator: ","))"
                    : "") + " = dimension \(spec.dimension)")
        return (spec, true)
    }

    /// The bank, or nil when there is none of that name.
    static func bankIfExists(
        _ client: DaemonClient, _ name: String
    ) throws(CLIError)
        -> BankObject?
    {
        do {
            return try Replies.bank(client.call(["BANK.INFO", name]))
        } catch {
            if error.kind == .daemon(code: "NOBANK") { return nil }
            throw error
        }
    }

    /// The error for a batch that engramd refused because the job's committed rows were not
    /// the ones it followed. The job is left as it is: it may belong to a live ingest.
    static func conflict(_ id: String, _ error: CLIError) -> CLIError {
        CLIError(
            error.kind,
            "job \(id) advanced while this ingest ran (\(error.message)); nothing was stored "
                + "twice",
            hint: "another ingest of the same file into the same bank is running ('engram "
                + "jobs'); wait for it, or if none is, run the same command again to resume")
    }

    /// The job's record once nobody is advancing it.
    ///
    /// A killed ingest's last batches may still be in engramd's socket buffer and commit a
    /// moment after the client died. The batches' `IFROWS` keeps a resume from storing them
    /// twice whatever happens (it fails with CONFLICT instead); this wait only makes that
    /// failure rare. A running job whose progress moved within the last second is watched
    /// until it has been still for a second, and one that keeps moving for three seconds
    /// belongs to another live ingest, which is an error.
    static func settledJob(_ client: DaemonClient, id: String) throws(CLIError) -> JobObject? {
        var job = try existingJob(client, id: id)
        let start = ProgressBar.now()
        while let current = job, current.state == .running {
            let quiet = wallClockMillis() - current.updated
            if quiet >= 1000 { break }
            guard ProgressBar.now() - start < 3 else {
                throw CLIError(
                    .unavailable,
                    "job \(id) is being run by another ingest (it moved \(quiet) ms ago)",
                    hint: "wait for it ('engram jobs') or stop it, then run this again")
            }
            usleep(200_000)
            job = try existingJob(client, id: id)
        }
        return job
    }

    static func wallClockMillis() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int(spec.tv_sec) * 1000 + Int(spec.tv_nsec) / 1_000_000
    }

    static func existingJob(_ client: DaemonClient, id: String) throws(CLIError) -> JobObject? {
        let reply = try client.call(["JOB.GET", id])
        if case .bulk(nil) = reply { return nil }
        if case .array(nil) = reply { return nil }
        return try Replies.job(reply)
    }

    private static func setJob(
        _ client: DaemonClient, id: String, state: JobObject.State, message: String
    ) throws(CLIError) {
        let request = JobSetRequest(id: id, state: state, message: String(message.prefix(400)))
        _ = try client.call(Command.jobSet(request).arguments)
    }

    private static func report(
        _ context: CommandContext, plan: Plan, jobID: String, job: JobObject?
    ) {
        if context.globals.json {
            context.emit(job?.json ?? .object([("id", .string(jobID))]))
        } else if let job {
            context.console.out(
                "ingested \(plan.csv) into \(plan.bank) (job \(jobID)): \(job.message)\n")
        }
    }

    /// Data rows in the CSV, for the progress bar and the job's total.
    private static func countRows(_ path: String) throws -> Int {
        let reader = try CSVReader(path: path)
        var rows = 0
        while try reader.next() { rows += 1 }
        return rows
    }

    static func absolute(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// Pipelined `MSTORE` requests on one connection: up to `depth` in flight.
struct BatchStream {
    let client: DaemonClient
    let depth: Int
    private var pending: [Int] = []
    /// Patterns acknowledged so far.
    private(set) var stored = 0

    init(client: DaemonClient, depth: Int) {
        self.client = client
        self.depth = depth
    }

    mutating func send(_ arguments: [[UInt8]], rows: Int) throws(CLIError) {
        try client.send(arguments)
        pending.append(rows)
        if pending.count >= depth { try collect() }
    }

    mutating func drain() throws(CLIError) {
        while !pending.isEmpty { try collect() }
    }

    private mutating func collect() throws(CLIError) {
        _ = try client.receiveValue()
        stored += pending.removeFirst()
    }
}
