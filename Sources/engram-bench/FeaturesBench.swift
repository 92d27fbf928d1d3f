/// The features benchmark suite of `make bench`.
enum FeaturesBench {
    static func run(_ arguments: [String]) throws {
        print("features: no benchmark yet")
    }
}
