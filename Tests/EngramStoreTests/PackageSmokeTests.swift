import Testing

@testable import EngramStore

@Test func targetBuilds() {
    #expect(Bool(true))
}
