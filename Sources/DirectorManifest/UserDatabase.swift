import Glibc

/// The user and group database (NSS, through glibc's reentrant calls) and whether this
/// process may switch users. The loader checks `user`/`group` with it; the runtime resolves
/// them again at each spawn, because the database may change while the daemon runs and the
/// child (a vfork-style clone) can make raw system calls only.
package enum UserDatabase {
    /// The numeric identity a child switches to.
    package struct Credentials: Sendable, Hashable {
        /// The uid (real, effective and saved).
        package var uid: UInt32
        /// The gid (real, effective and saved).
        package var gid: UInt32
        /// Supplementary groups (`setgroups`), the primary one included.
        package var groups: [UInt32]
    }

    /// Resolves `user` and `group` (names or numbers). `group` defaults to the user's
    /// primary group; supplementary groups come from the group database (`getgrouplist`).
    /// With only `group`, the uid stays the daemon's and the groups are just that one.
    /// Nil when neither is set. Throws a sentence naming what is unknown.
    package static func resolve(user: String?, group: String?) throws(Problem) -> Credentials? {
        guard user != nil || group != nil else { return nil }
        var gid: UInt32?
        if let group {
            guard let g = groupID(group) else { throw Problem(key: "group", message: "unknown group `\(group)`") }
            gid = g
        }
        guard let user else {
            return Credentials(uid: geteuid(), gid: gid!, groups: [gid!])
        }
        guard let entry = userEntry(user) else {
            if let uid = UInt32(user), let gid {
                return Credentials(uid: uid, gid: gid, groups: [gid])
            }
            let hint = UInt32(user) != nil ? "; a uid without an entry needs `group`" : ""
            throw Problem(key: "user", message: "unknown user `\(user)`\(hint)")
        }
        let primary = gid ?? entry.gid
        return Credentials(uid: entry.uid, gid: primary, groups: groupList(entry.name, primary))
    }

    /// Why `user` or `group` does not resolve; `key` names the one at fault.
    package struct Problem: Error, Sendable {
        /// `user` or `group`.
        package var key: String
        /// For people.
        package var message: String
    }

    /// True when this process may take another uid and gid: it holds CAP_SETUID and
    /// CAP_SETGID in its effective set (root normally does; root in a user namespace
    /// without them does not).
    package static var canSwitchUsers: Bool {
        guard let capabilities = effectiveCapabilities() else { return geteuid() == 0 }
        let setgid: UInt64 = 1 << 6, setuid: UInt64 = 1 << 7
        return capabilities & (setgid | setuid) == setgid | setuid
    }

    /// `CapEff` of /proc/self/status, or nil when it cannot be read.
    private static func effectiveCapabilities() -> UInt64? {
        guard let bytes = try? FileSystem.read("/proc/self/status", limit: 1 << 20) else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmingWhitespace(), radix: 16)
        }
        return nil
    }

    private static func userEntry(_ text: String) -> (name: String, uid: UInt32, gid: UInt32)? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let rc: Int32 = if let uid = UInt32(text) {
            getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
        } else {
            getpwnam_r(text, &entry, &buffer, buffer.count, &result)
        }
        guard rc == 0, let found = result?.pointee else { return nil }
        return (String(cString: found.pw_name), found.pw_uid, found.pw_gid)
    }

    private static func groupID(_ text: String) -> UInt32? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 64 * 1024)
        if let gid = UInt32(text) {
            // A number is a gid whether or not the database names it (as chgrp takes it).
            return gid
        }
        guard getgrnam_r(text, &entry, &buffer, buffer.count, &result) == 0, let found = result?.pointee else { return nil }
        return found.gr_gid
    }

    /// The user's groups with `primary` first.
    private static func groupList(_ name: String, _ primary: UInt32) -> [UInt32] {
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var n = count
            if getgrouplist(name, primary, &groups, &n) >= 0 {
                return Array(groups.prefix(Int(n)))
            }
            guard n > count else { return [primary] }
            count = n
        }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
