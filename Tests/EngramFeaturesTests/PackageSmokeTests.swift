import Testing

@testable import EngramFeatures

@Test func targetBuilds() {
    #expect(Bool(true))
}
