import DirectorTable

/// Records the tests write.
enum Fixture {
    static let now: UnixMillis = 1_795_550_400_000  // 2026-11-24T20:00:00.000Z

    static func child(_ id: String, state: ChildRecord.State = .running, pid: Int32? = 1234, restarts: Int = 0) -> ChildRecord {
        let parts = id.split(separator: "/").map(String.init)
        return ChildRecord(
            id: id, group: parts.dropLast(2).joined(separator: "/"), job: parts[parts.count - 2],
            instance: Int(parts.last!) ?? 0, state: state, pid: pid, pgid: pid, startTicks: pid.map { UInt64($0) * 10 },
            startedAt: pid == nil ? nil : now - 60_000, restarts: restarts,
            lastExit: restarts > 0 ? .init(.signal("KILL"), at: now - 61_000) : nil,
            nextRestartAt: state == .backoff ? now + 1000 : nil, specHash: "0123456789abcdef", updatedAt: now)
    }

    static func event(_ id: String, _ kind: String = "start") -> NewEvent {
        NewEvent(at: now, id: id, kind: kind, detail: "pid=1234")
    }

    /// A table with a bit of everything, for interop tests.
    static func populate(_ table: some ChildTable) throws {
        var changes: [TableChange] = [
            .upsertGroup(GroupRecord(path: "", strategy: .oneForOne, intensity: 3, periodMillis: 60_000, state: .running)),
            .upsertGroup(GroupRecord(path: "web", strategy: .restForOne, intensity: 5, periodMillis: 30_000, restartsInPeriod: 1, state: .running)),
            .putSpec(jobKey: "web/api", spec: .object([("name", .string("api")), ("instances", .int(3))])),
            .setDaemon(DaemonInfo(pid: 4321, startedAt: now - 3_600_000, jobs: "/srv/jobs", version: "0.1.0")),
            .setReload(ReloadInfo(generation: 1, at: now - 3_600_000, ok: true)),
        ]
        for i in 0..<3 {
            changes.append(.upsertChild(child("web/api/\(i)", restarts: i)))
            changes.append(.appendEvent(event("web/api/\(i)")))
        }
        changes.append(.upsertChild(child("web/db/0", state: .backoff, pid: nil, restarts: 1)))
        changes.append(.upsertChild(ChildRecord(
            id: "web/db/1", group: "web", job: "db", instance: 1, state: .waiting,
            lastExit: .init(.code(3), at: now - 12_000, cause: .unhealthy), updatedAt: now)))
        try table.apply(changes)
    }
}
