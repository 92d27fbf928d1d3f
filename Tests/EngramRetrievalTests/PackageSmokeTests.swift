import Testing

@testable import EngramRetrieval

@Test func targetBuilds() {
    #expect(Bool(true))
}
