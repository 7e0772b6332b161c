// A worked example of a table backend, for docs/table.md ("Writing a table backend"): the
// whole table in one file of JSON lines. It is deliberately simple (every call reads the
// whole file), and it passes the same conformance suite as the built-in tables.

import DirectorTable
import Foundation
import Synchronization

/// A `ChildTable` kept in one text file, one JSON object per line:
///
/// ```
/// {"last_seq":12}
/// {"db":"meta","key":"format","value":"1"}
/// {"db":"children","key":"web/api/0","value":{"id":"web/api/0",...}}
/// {"db":"events","key":"12","value":{"seq":12,...}}
/// ```
///
/// The recipe, which any backend can follow:
/// 1. Store each change as a row `(db, key, value)`, with the values the record types encode
///    (`ChildRecord.json`, `GroupRecord.json`, ...); decode them when reading.
/// 2. `apply` first checks the keys (`TableKey.validate`), then applies the changes in order
///    to a copy of the current state and commits that copy in one step. Here the step is a
///    `rename` over the old file, which replaces it whole: a reader, in this process or in
///    another, sees the old file or the new one, never half a batch.
/// 3. The next event seq is the stored last seq + 1. The last seq is kept on a line of its
///    own, so numbers are never reused, not even when every event was trimmed.
final class JSONLinesTable: ChildTable {
    /// The file.
    let path: String
    /// How many events are kept.
    let eventCapacity: Int
    /// Read, change, write is one step for the writers of this process. (Writers in other
    /// processes would need a file lock; the daemon's own lock already rules them out.)
    private let writing = Mutex(())

    /// The file's content: rows by database and key, events in seq order.
    private struct Contents {
        var lastSeq: UInt64 = 0
        var rows: [String: [String: JSONValue]] = [:]
        var events: [JSONValue] = []
    }

    /// Opens the table in `path`, creating the file when there is none.
    init(path: String, eventCapacity: Int = 10_000) throws(TableError) {
        precondition(eventCapacity > 0, "eventCapacity must be positive")
        self.path = path
        self.eventCapacity = eventCapacity
        if !FileManager.default.fileExists(atPath: path) {
            // Every table starts with its format, as readers check it.
            try save(Contents(rows: ["meta": [MetaKey.format.rawValue: .string(tableFormatVersion)]]))
        }
    }

    // MARK: Writing

    @discardableResult
    func apply(_ changes: [TableChange]) throws(TableError) -> [UInt64] {
        try TableKey.validate(changes)
        return try writing.withLock { (_) throws(TableError) -> [UInt64] in
            var c = try load()
            var seqs: [UInt64] = []
            for change in changes {
                switch change {
                case .upsertChild(let r): c.rows["children", default: [:]][r.id] = r.json
                case .deleteChild(let id): c.rows["children"]?[id] = nil
                case .upsertGroup(let g): c.rows["groups", default: [:]][g.key] = g.json
                case .deleteGroup(let p): c.rows["groups"]?[p.isEmpty ? GroupRecord.rootKey : p] = nil
                case .setMeta(let k, let v): c.rows["meta", default: [:]][k.rawValue] = v
                case .mergeMeta(let k, let merge): c.rows["meta", default: [:]][k.rawValue] = merge.applied(to: c.rows["meta"]?[k.rawValue])
                case .putSpec(let k, let spec): c.rows["specs", default: [:]][k] = spec
                case .deleteSpec(let k): c.rows["specs"]?[k] = nil
                case .appendEvent(let e):
                    c.lastSeq += 1
                    c.events.append(e.numbered(c.lastSeq).json)
                    seqs.append(c.lastSeq)
                }
            }
            // Trimming belongs to the same commit: readers never see more than the capacity.
            c.events.removeFirst(max(0, c.events.count - eventCapacity))
            try save(c)
            return seqs
        }
    }

    // MARK: Reading

    func child(id: String) throws(TableError) -> ChildRecord? {
        try load().rows["children"]?[id].map { v throws(TableError) in try ChildRecord(json: v) }
    }

    func child(pid: Int32) throws(TableError) -> ChildRecord? {
        try children(prefix: nil).first { $0.pid == pid }
    }

    func children(prefix: String?) throws(TableError) -> [ChildRecord] {
        let p = TableKey.normalizedPrefix(prefix)
        return try sorted("children", try load()).filter { TableKey.id($0.key, isUnder: p) }
            .map { (row) throws(TableError) in try ChildRecord(json: row.value) }
    }

    func childCount() throws(TableError) -> Int { try load().rows["children"]?.count ?? 0 }

    func groups() throws(TableError) -> [GroupRecord] {
        try sorted("groups", try load()).map { (row) throws(TableError) in try GroupRecord(json: row.value) }
    }

    func events(since: UInt64, limit: Int) throws(TableError) -> [EventEntry] {
        guard limit > 0 else { return [] }
        var out: [EventEntry] = []
        for v in try load().events {
            let e = try EventEntry(json: v)
            if e.seq > since { out.append(e) }
            if out.count == limit { break }
        }
        return out
    }

    func lastEventSeq() throws(TableError) -> UInt64 { try load().lastSeq }

    func meta(_ key: MetaKey) throws(TableError) -> JSONValue? { try load().rows["meta"]?[key.rawValue] }

    func spec(jobKey: String) throws(TableError) -> JSONValue? { try load().rows["specs"]?[jobKey] }

    func specKeys() throws(TableError) -> [String] { sorted("specs", try load()).map(\.key) }

    func count() throws(TableError) -> ChildCount {
        let c = try load()
        let children = try sorted("children", c).map { (row) throws(TableError) in try ChildRecord(json: row.value) }
        return ChildCount(
            specs: c.rows["specs"]?.count ?? 0, active: children.count { $0.state == .running },
            supervisors: c.rows["groups"]?.count ?? 0, workers: children.count)
    }

    /// The rows of `db` in key order (UTF-8 bytes, as every table lists them).
    private func sorted(_ db: String, _ c: Contents) -> [(key: String, value: JSONValue)] {
        (c.rows[db] ?? [:]).sorted { TableKey.precedes($0.key, $1.key) }
    }

    // MARK: The file

    /// Reads and decodes the whole file.
    private func load() throws(TableError) -> Contents {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TableError(.notFound, "cannot read the table file \(path)")
        }
        var c = Contents()
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            let place = "\(path):\(n + 1)"
            let v: JSONValue
            do { v = try JSONValue.parse(String(line)) } catch { throw TableError(.damaged, "\(place): \(error)") }
            if let seq = v["last_seq"]?.intValue {
                c.lastSeq = UInt64(seq)
            } else if let db = v["db"]?.stringValue, let key = v["key"]?.stringValue, let value = v["value"] {
                if db == "events" { c.events.append(value) } else { c.rows[db, default: [:]][key] = value }
            } else {
                throw TableError(.damaged, "\(place): expected a last_seq or a db/key/value line")
            }
        }
        return c
    }

    /// Writes `c` to a new file beside the old one, syncs it, and renames it over the old
    /// one: the commit. Until the rename nothing a reader sees has changed; on error the old
    /// file stays as it was.
    private func save(_ c: Contents) throws(TableError) {
        func line(_ db: String, _ key: String, _ value: JSONValue) -> String {
            JSONValue.object([("db", .string(db)), ("key", .string(key)), ("value", value)]).serialized() + "\n"
        }
        var text = JSONValue.object([("last_seq", .int(Int64(c.lastSeq)))]).serialized() + "\n"
        for db in c.rows.keys.sorted() {
            for row in sorted(db, c) { text += line(db, row.key, row.value) }
        }
        for e in c.events { text += line("events", String(e["seq"]?.intValue ?? 0), e) }

        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TableError(.storage, "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw TableError(.storage, "cannot write \(temporary): \(reason)")
            }
            written += n
        }
        // fsync before rename: otherwise an OS crash could leave the new name on empty data.
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw TableError(.storage, "cannot replace \(path): \(reason)")
        }
    }
}
