#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorManifest

/// A job's `user`, `group`, `umask` and `rlimits` as the spawn shim takes them
/// (`director_spawn_identity`), and the messages of their failures.
///
/// Names are resolved here, in the daemon, at every spawn: the child is a clone sharing the
/// daemon's memory and may make raw system calls only (no NSS), and resolving each time
/// follows changes to the user database as a fresh `su` would.
enum SpawnIdentity {
    /// Calls `body` with the shim's identity (nil for a job that sets none, which then costs
    /// nothing); `failed` gets the RLIMIT number a failed setrlimit reported.
    static func with(
        _ identity: ProcessIdentity, _ body: (UnsafeMutablePointer<director_spawn_identity>?) -> Int32,
        failed: (Int32) -> Void
    ) throws(SpawnError) -> Int32 {
        guard !identity.isInherited else { return body(nil) }
        let credentials: UserDatabase.Credentials?
        do {
            credentials = try UserDatabase.resolve(user: identity.user, group: identity.group)
        } catch {
            throw SpawnError(code: .badUser, message: "\(error.key): \(error.message)", errno: EINVAL)
        }
        let limits = identity.rlimits.map {
            director_rlimit(resource: $0.resource.number, soft: $0.soft, hard: $0.hard)
        }
        let groups = credentials?.groups ?? []
        // A daemon that cannot switch users runs children as itself: its own ids are then
        // not set again (setgroups would be refused even for its own groups).
        let setIDs = credentials.map { c in
            UserDatabase.canSwitchUsers || c.uid != geteuid() || c.gid != getegid()
        } ?? false
        return groups.withUnsafeBufferPointer { groupBuffer in
            limits.withUnsafeBufferPointer { limitBuffer in
                var shim = director_spawn_identity(
                    set_ids: setIDs ? 1 : 0, uid: credentials?.uid ?? 0, gid: credentials?.gid ?? 0,
                    groups: groupBuffer.baseAddress, group_count: Int32(groupBuffer.count),
                    umask: identity.umask.map { Int32($0) } ?? -1,
                    limits: limitBuffer.baseAddress, limit_count: Int32(limitBuffer.count), failed_resource: -1)
                let rc = body(&shim)
                if shim.failed_resource >= 0 { failed(shim.failed_resource) }
                return rc
            }
        }
    }

    /// The message of a failure in one of the identity steps, or nil for other steps.
    static func failure(_ code: Int32, step: Int32, identity: ProcessIdentity, resource: Int32) -> SpawnError? {
        let text = errorText(code)
        switch step {
        case Int32(DIRECTOR_SPAWN_STEP_RLIMIT):
            let limit = identity.rlimits.first { $0.resource.number == resource }
            let name = limit.map { "rlimits.\($0.resource.rawValue)" } ?? "rlimits"
            let value = limit.map { " \(ResourceLimit.text($0.soft))/\(ResourceLimit.text($0.hard))" } ?? ""
            return SpawnError(code: .badLimit, message: "setrlimit \(name)\(value): \(text)", errno: code)
        case Int32(DIRECTOR_SPAWN_STEP_SETGROUPS):
            return SpawnError(code: .badUser, message: "setgroups for user \(identity.user ?? "-"): \(text)", errno: code)
        case Int32(DIRECTOR_SPAWN_STEP_SETGID):
            return SpawnError(code: .badUser, message: "setgid to group \(identity.group ?? identity.user ?? "-"): \(text)", errno: code)
        case Int32(DIRECTOR_SPAWN_STEP_SETUID):
            return SpawnError(code: .badUser, message: "setuid to user \(identity.user ?? "-"): \(text)", errno: code)
        default:
            return nil
        }
    }
}
