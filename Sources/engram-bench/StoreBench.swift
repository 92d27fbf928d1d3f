/// The store benchmark suite of `make bench`.
enum StoreBench {
    static func run(_ arguments: [String]) throws {
        print("store: no benchmark yet")
    }
}
