// The inverse of Command.parse: a command as the argument list a client sends.

extension Command {
    /// The request for this command, verb first, in canonical form: upper-case verb and
    /// option names, options in usage order, defaults left out. `Command.parse` of the
    /// result gives back an equal command (tested for every case).
    public var arguments: Arguments {
        var out = ArgumentsBuilder(verb)
        switch self {
        case .ping(let message):
            if let message { out.add(message) }
        case .info, .bankList, .jobs, .stats, .quit:
            break
        case .bankCreate(let spec):
            out.add(spec.name)
            out.add("DIM", spec.dimension)
            if spec.mode != .sparsemax { out.add(mode: spec.mode) }
            if spec.beta != BankCreate.defaultBeta { out.add("BETA", spec.beta) }
            if spec.normalize != .none { out.add("NORMALIZE", spec.normalize.rawValue) }
            if !spec.meta.isEmpty { out.add("META", spec.meta) }
        case .bankInfo(let bank):
            out.add(bank)
        case .bankDrop(let bank):
            out.add(bank)
            out.add("CONFIRM")
        case .store(let request):
            out.add(request.bank)
            out.add(vector: request.vector, encoding: request.encoding)
            if let label = request.label { out.add("LABEL", label) }
        case .mstore(let request):
            addMStore(request, to: &out)
        case .get(let request):
            out.add(request.bank)
            out.add(String(request.seq))
            if request.format != .text { out.add("FORMAT", request.format.rawValue) }
        case .complete(let request), .mcomplete(let request):
            addComplete(request, batch: verb == .mcomplete, to: &out)
        case .jobGet(let id):
            out.add(id)
        case .jobSet(let request):
            out.add(request.id)
            out.add(request.state.rawValue)
            if let message = request.message { out.add("MESSAGE", message) }
        case .backup(let path):
            out.add(path)
        }
        return out.arguments
    }

    private func addMStore(_ request: MStoreRequest, to out: inout ArgumentsBuilder) {
        out.add(request.bank)
        out.add(String(request.vectors.count))
        if request.encoding == .bin {
            out.add("BIN")
            out.add(VectorBinary.encode(rows: request.vectors))
        } else {
            for vector in request.vectors { out.add(VectorText.encode(vector)) }
        }
        if let labels = request.labels {
            out.add("LABELS")
            for label in labels { out.add(label) }
        }
        if let progress = request.progress {
            out.add("JOB", progress.id)
            out.add("POS", progress.position)
            out.add("ROWS", progress.rows)
            if let total = progress.total { out.add("TOTAL", total) }
            if progress.skipped != 0 { out.add("SKIPPED", progress.skipped) }
            if !progress.source.isEmpty { out.add("SOURCE", progress.source) }
            if let ifRows = progress.ifRows { out.add("IFROWS", ifRows) }
        }
    }

    private func addComplete(
        _ request: CompleteRequest, batch: Bool, to out: inout ArgumentsBuilder
    ) {
        out.add(request.bank)
        if batch { out.add(String(request.queries.count)) }
        let mask = request.queries.first?.known
        let binary =
            request.encoding == .bin && request.queries.allSatisfy { $0.known == mask }
        if binary {
            out.add("BIN")
            out.add(VectorBinary.encode(rows: request.queries.map(\.values)))
            if let mask { out.add("MASK", String(mask.map { $0 ? "1" : "0" })) }
        } else {
            for query in request.queries {
                out.add(VectorText.encode(query.values, known: query.known))
            }
        }
        let options = request.options
        if let mode = options.mode { out.add(mode: mode) }
        if let beta = options.beta { out.add("BETA", beta) }
        if let steps = options.steps { out.add("STEPS", steps) }
        if let tolerance = options.tolerance { out.add("TOL", tolerance) }
        if let top = options.top { out.add("TOP", top) }
        if let asOf = options.asOf { out.add("ASOF", asOf) }
        if options.format != .text { out.add("FORMAT", options.format.rawValue) }
    }
}

/// Accumulates arguments.
private struct ArgumentsBuilder {
    var arguments: Arguments

    init(_ verb: Command.Verb) {
        arguments = [Array(verb.rawValue.utf8)]
    }

    mutating func add(_ bytes: [UInt8]) { arguments.append(bytes) }

    mutating func add(_ text: String) { arguments.append(Array(text.utf8)) }

    mutating func add(_ option: String, _ value: String) {
        add(option)
        add(value)
    }

    mutating func add(_ option: String, _ value: Int) {
        add(option)
        add(String(value))
    }

    mutating func add(_ option: String, _ value: Double) {
        add(option)
        add(FloatText.format(value))
    }

    mutating func add(mode: RetrievalMode) {
        switch mode {
        case .sparsemax: add("MODE", "sparsemax")
        case .softmax: add("MODE", "softmax")
        case .entmax(let alpha):
            add("MODE", "entmax")
            add("ALPHA", alpha)
        }
    }

    mutating func add(vector: [Float], encoding: VectorFormat) {
        if encoding == .bin {
            add("BIN")
            add(VectorBinary.encode(vector))
        } else {
            add(VectorText.encode(vector))
        }
    }
}
