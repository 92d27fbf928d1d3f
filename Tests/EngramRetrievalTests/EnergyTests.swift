import Testing

@testable import EngramRetrieval

/// The reported energy never increases along the dynamics, and brackets the exact energy.
@Suite struct EnergyTests {
    @Test(arguments: RandomCase.normalizers)
    func energyNeverIncreasesAlongSteps(normalizer: Normalizer) throws {
        let seed: UInt64 = 0xE4E1_0001
        print("energy monotonicity \(normalizer): seed \(seed)")
        var generator = SplitMix(seed: seed)
        var multiStep = 0
        for trial in 0..<40 {
            var random = RandomCase.make(&generator, normalizer: normalizer, steps: 1)
            random.parameters.tolerance = 0
            var previousAnswer = Double.infinity
            var previousExact = try Retriever.energy(
                of: random.start.map(Float.init), in: random.bank,
                parameters: random.parameters)
            for steps in 1...8 {
                random.parameters.steps = steps
                let answer = try Retriever.complete(
                    random.query, in: random.bank, parameters: random.parameters)
                let exact = try Retriever.energy(
                    of: answer.pattern, in: random.bank, parameters: random.parameters)
                let slack = 1e-5 * (1 + abs(answer.energy) + abs(previousExact))
                let label = "\(normalizer) trial \(trial) step \(steps)"
                #expect(answer.energy <= previousAnswer + slack, "\(label): answer energy rose")
                #expect(exact <= previousExact + slack, "\(label): exact energy rose")
                #expect(exact <= answer.energy + slack, "\(label): E(x_t) > G(x_t, p_t)")
                #expect(answer.energy <= previousExact + slack, "\(label): G(x_t) > E(x_t-1)")
                if answer.steps > 1 { multiStep += 1 }
                previousAnswer = answer.energy
                previousExact = exact
            }
        }
        #expect(multiStep > 40, "the property was exercised on multi-step runs")
    }

    @Test(arguments: RandomCase.normalizers)
    func exactEnergyMatchesReference(normalizer: Normalizer) throws {
        var generator = SplitMix(seed: 0xE4E1_0002)
        for trial in 0..<30 {
            let random = RandomCase.make(&generator, normalizer: normalizer, steps: 1)
            let state = random.query.values
            let got = try Retriever.energy(
                of: state, in: random.bank, parameters: random.parameters)
            let want = random.reference.energy(state.map(Double.init))
            let scale = 1 + abs(want) + state.map { Double($0 * $0) }.reduce(0, +)
            #expect(abs(got - want) <= 1e-4 * scale, "\(normalizer) trial \(trial)")
        }
    }

    @Test func energyAtAFixedPointEqualsTheAnswerEnergy() throws {
        let bank = try PatternMatrix(values: [1, 0, 0, 1], dimension: 2)
        let parameters = RetrievalParameters(beta: 2, steps: 5)
        let answer = try Retriever.complete(
            Query(values: [0.8, 0.3]), in: bank, parameters: parameters)
        let exact = try Retriever.energy(of: answer.pattern, in: bank, parameters: parameters)
        #expect(answer.converged)
        #expect(abs(answer.energy - exact) < 1e-12)
        #expect(abs(answer.energy - -0.5) < 1e-12, "E(ξ) = −½‖ξ‖² for an isolated pattern")
    }
}
