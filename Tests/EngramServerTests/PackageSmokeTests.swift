import Testing

@testable import EngramServer

@Test func targetBuilds() {
    #expect(Bool(true))
}
