import Testing

@testable import EngramWire

@Test func targetBuilds() {
    #expect(Bool(true))
}
