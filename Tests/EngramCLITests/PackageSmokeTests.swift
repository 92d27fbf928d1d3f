import Testing

@testable import EngramCLI

@Test func targetBuilds() {
    #expect(Bool(true))
}
