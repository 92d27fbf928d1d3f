/// The quality benchmark suite of `make bench`.
enum QualityBench {
    static func run(_ arguments: [String]) throws {
        print("quality: no benchmark yet")
    }
}
