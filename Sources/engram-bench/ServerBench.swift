/// The server benchmark suite of `make bench`.
enum ServerBench {
    static func run(_ arguments: [String]) throws {
        print("server: no benchmark yet")
    }
}
