/// The retrieval benchmark suite of `make bench`.
enum RetrievalBench {
    static func run(_ arguments: [String]) throws {
        print("retrieval: no benchmark yet")
    }
}
