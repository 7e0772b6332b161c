import Synchronization

/// A `ChildTable` in process memory: the default when Director is embedded, and the
/// reference the LMDB table is checked against. Thread-safe.
public final class InMemoryTable: ChildTable {
    /// How many events are kept.
    public let eventCapacity: Int
    private let storage: Mutex<Storage>

    /// Creates an empty table keeping the newest `eventCapacity` events.
    public init(eventCapacity: Int = 10_000) {
        precondition(eventCapacity > 0, "eventCapacity must be positive")
        self.eventCapacity = eventCapacity
        self.storage = Mutex(Storage())
    }

    private struct Storage {
        var children: [String: ChildRecord] = [:]
        var idByPid: [Int32: String] = [:]
        var groups: [String: GroupRecord] = [:]
        /// Kept events are `events[eventsStart...]`; the dead head is compacted lazily so
        /// trimming one event per append stays O(1).
        var events: [EventEntry] = []
        var eventsStart = 0
        var lastSeq: UInt64 = 0
        var meta: [MetaKey: JSONValue] = [.format: .string(tableFormatVersion)]
        var specs: [String: JSONValue] = [:]

        var keptEvents: ArraySlice<EventEntry> { events[eventsStart...] }

        mutating func setPid(of record: ChildRecord?, id: String) {
            if let old = children[id]?.pid, idByPid[old] == id { idByPid[old] = nil }
            if let pid = record?.pid { idByPid[pid] = id }
        }
    }

    /// Commits `changes` atomically, in order; returns the seqs given to appended events.
    @discardableResult
    public func apply(_ changes: [TableChange]) throws(TableError) -> [UInt64] {
        // Keys are the only thing that can be rejected; checking them all first makes the
        // batch all-or-nothing without copying the storage.
        try TableKey.validate(changes)
        let capacity = eventCapacity
        return storage.withLock { s in
            var seqs: [UInt64] = []
            for change in changes {
                switch change {
                case .upsertChild(let c):
                    s.setPid(of: c, id: c.id)
                    s.children[c.id] = c
                case .deleteChild(let id):
                    s.setPid(of: nil, id: id)
                    s.children[id] = nil
                case .upsertGroup(let g): s.groups[g.key] = g
                case .deleteGroup(let p): s.groups[p.isEmpty ? GroupRecord.rootKey : p] = nil
                case .appendEvent(let e):
                    s.lastSeq += 1
                    s.events.append(e.numbered(s.lastSeq))
                    seqs.append(s.lastSeq)
                case .setMeta(let k, let v): s.meta[k] = v
                case .mergeMeta(let k, let merge): s.meta[k] = merge.applied(to: s.meta[k])
                case .putSpec(let k, let spec): s.specs[k] = spec
                case .deleteSpec(let k): s.specs[k] = nil
                }
            }
            let excess = s.events.count - s.eventsStart - capacity
            if excess > 0 { s.eventsStart += excess }
            if s.eventsStart > capacity {
                s.events.removeFirst(s.eventsStart)
                s.eventsStart = 0
            }
            return seqs
        }
    }

    /// The child with this id.
    public func child(id: String) -> ChildRecord? {
        storage.withLock { $0.children[id] }
    }

    /// The child whose live process has this pid.
    public func child(pid: Int32) -> ChildRecord? {
        storage.withLock { s in s.idByPid[pid].flatMap { s.children[$0] } }
    }

    /// Children under `prefix` on whole path segments, in key order.
    public func children(prefix: String?) -> [ChildRecord] {
        let p = TableKey.normalizedPrefix(prefix)
        return storage.withLock { s in
            s.children.values.filter { TableKey.id($0.id, isUnder: p) }
        }.sorted { TableKey.precedes($0.id, $1.id) }
    }

    /// The number of children.
    public func childCount() -> Int {
        storage.withLock { $0.children.count }
    }

    /// Every group, in key order.
    public func groups() -> [GroupRecord] {
        storage.withLock { Array($0.groups.values) }.sorted { TableKey.precedes($0.key, $1.key) }
    }

    /// Events with `seq > since`, oldest first, at most `limit`.
    public func events(since: UInt64, limit: Int) -> [EventEntry] {
        storage.withLock { s in
            let kept = s.keptEvents
            // Seqs are consecutive in memory, so the first wanted index is computed.
            guard let first = kept.first, limit > 0 else { return [] }
            // Compared as UInt64 before converting: `since` may be any seq, up to UInt64.max.
            let skip = since >= first.seq ? since - first.seq + 1 : 0
            guard skip < UInt64(kept.count) else { return [] }
            let start = kept.startIndex + Int(skip)
            let available = kept.endIndex - start
            return Array(kept[start..<(start + min(available, limit))])
        }
    }

    /// The highest sequence number ever assigned.
    public func lastEventSeq() -> UInt64 {
        storage.withLock { $0.lastSeq }
    }

    /// A `meta` value.
    public func meta(_ key: MetaKey) -> JSONValue? {
        storage.withLock { $0.meta[key] }
    }

    /// The spec stored for job key `group/job`.
    public func spec(jobKey: String) -> JSONValue? {
        storage.withLock { $0.specs[jobKey] }
    }

    /// Every stored job key, in key order.
    public func specKeys() -> [String] {
        storage.withLock { Array($0.specs.keys) }.sorted(by: TableKey.precedes)
    }

    /// OTP `count_children`.
    public func count() -> ChildCount {
        storage.withLock { s in
            ChildCount(
                specs: s.specs.count, active: s.children.values.count { $0.state == .running },
                supervisors: s.groups.count, workers: s.children.count)
        }
    }
}
