public import EngramWire
import Glibc

/// A set of user or group ids, or every id (`*` in configuration).
public struct IDSet: Sendable, Equatable {
    public var everyone: Bool
    public var ids: Set<UInt32>

    public init(everyone: Bool = false, ids: Set<UInt32> = []) {
        self.everyone = everyone
        self.ids = ids
    }

    public func contains(_ id: UInt32) -> Bool { everyone || ids.contains(id) }

    public func containsAny(_ candidates: [UInt32]) -> Bool {
        everyone || candidates.contains { ids.contains($0) }
    }
}

/// The credentials the kernel recorded for a peer when it connected (SO_PEERCRED, and
/// SO_PEERGROUPS for supplementary groups). They cannot be forged by the peer.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

/// Maps peer credentials to a role (EngramWire's `Role`: read < write < admin), or to none.
///
/// A peer gets the highest role whose uid list holds its uid or whose gid list holds its
/// primary or any supplementary group. The default makes root and the daemon's own user
/// administrators and gives everyone else nothing: opening the socket to others is a
/// deliberate act (`reader-gids = …`), not an accident of a permissive socket mode.
public struct RolePolicy: Sendable, Equatable {
    public var adminUIDs: IDSet
    public var adminGIDs: IDSet
    public var writerUIDs: IDSet
    public var writerGIDs: IDSet
    public var readerUIDs: IDSet
    public var readerGIDs: IDSet

    public init(
        adminUIDs: IDSet, adminGIDs: IDSet = IDSet(), writerUIDs: IDSet = IDSet(),
        writerGIDs: IDSet = IDSet(), readerUIDs: IDSet = IDSet(), readerGIDs: IDSet = IDSet()
    ) {
        self.adminUIDs = adminUIDs
        self.adminGIDs = adminGIDs
        self.writerUIDs = writerUIDs
        self.writerGIDs = writerGIDs
        self.readerUIDs = readerUIDs
        self.readerGIDs = readerGIDs
    }

    /// Root and `daemonUID` are admins; nobody else has a role.
    public static func defaultPolicy(daemonUID: UInt32? = nil) -> RolePolicy {
        RolePolicy(adminUIDs: IDSet(ids: [0, daemonUID ?? getuid()]))
    }

    /// The peer's role, or nil when it has none (it is then refused at accept).
    public func role(for peer: PeerCredentials) -> Command.Role? {
        let groups = [peer.gid] + peer.groups
        if adminUIDs.contains(peer.uid) || adminGIDs.containsAny(groups) { return .admin }
        if writerUIDs.contains(peer.uid) || writerGIDs.containsAny(groups) { return .write }
        if readerUIDs.contains(peer.uid) || readerGIDs.containsAny(groups) { return .read }
        return nil
    }
}
