// Which socket the client connects to when it is not told.

#if canImport(Glibc)
    import Glibc
#endif

/// The rule that picks engramd's socket: `--socket`, then `ENGRAM_SOCKET`, then
/// `./engram-state/engramd.sock` if that exists (a daemon run by hand from this folder with
/// its defaults), then `/run/engramd/engramd.sock` (the systemd service).
enum SocketPath {
    static let localDefault = "engram-state/engramd.sock"
    static let systemDefault = "/run/engramd/engramd.sock"

    static func resolve(option: String?, environment: [String: String]) -> String {
        if let option { return option }
        if let fromEnvironment = environment["ENGRAM_SOCKET"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        if access(localDefault, F_OK) == 0 {
            return localDefault
        }
        return systemDefault
    }
}
