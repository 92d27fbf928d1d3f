import Glibc
import Testing

@testable import EngramServer

@Suite struct ListenerTests {
    let directory: String = {
        var template = Array(("/tmp/engram-lt-" + String(repeating: "X", count: 6)).utf8CString)
        return String(cString: mkdtemp(&template)!)
    }()

    func connects(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return withAddress(path) { connect(fd, $0, $1) } == 0
    }

    @Test func bindsWithModeAndRemovesItsNodeAtClose() throws {
        let path = directory + "/a.sock"
        let listener = try Listener(path: path, mode: 0o600, group: nil)
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(connects(path))
        listener.close()
        #expect(access(path, F_OK) != 0)
    }

    @Test func replacesAStaleSocketButNotALiveOneOrAFile() throws {
        let path = directory + "/b.sock"
        let first = try Listener(path: path, mode: 0o600, group: nil)
        #expect(throws: StartupError.self) { try Listener(path: path, mode: 0o600, group: nil) }
        Glibc.close(first.fd)  // leaves the node behind, like a crashed daemon
        let second = try Listener(path: path, mode: 0o600, group: nil)
        #expect(connects(path))
        second.close()

        let file = directory + "/plain"
        close(open(file, O_CREAT | O_WRONLY, 0o600))
        #expect(throws: StartupError.self) { try Listener(path: file, mode: 0o600, group: nil) }
        #expect(access(file, F_OK) == 0)
    }

    @Test func refusesOverlongPaths() {
        let path = directory + "/" + String(repeating: "x", count: 110)
        #expect(throws: StartupError.self) { try Listener(path: path, mode: 0o600, group: nil) }
    }

    @Test func peerCredentialsAreOurs() throws {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        let peer = try #require(peerCredentials(of: pair[0]))
        #expect(peer.uid == getuid())
        #expect(peer.gid == getgid())
        #expect(peer.pid == getpid())
    }
}
