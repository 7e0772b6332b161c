#if canImport(Glibc)
import Glibc
#endif

/// Read access to a children table: what `director ps`, `events`, `spec` and `count` need, and
/// what any other tool that only looks at a table needs.
///
/// Every `ChildTable` is a reader (`ChildTable` refines this protocol); so is `TableReader`,
/// which opens an LMDB table another process writes, read-only. Code that only reads should
/// take `any ChildTableReader`, so it works the same on every backend.
///
/// What every implementation guarantees (`DirectorTableTesting.ChildTableConformance` checks
/// it):
/// - Each call sees one committed state: never half of an `apply`.
/// - Lists come in key order, comparing keys as UTF-8 bytes (`TableKey.precedes`).
/// - Prefixes match whole path segments: `web/api` matches `web/api/0`, not `web/apix/0`.
/// - Event sequence numbers are strictly increasing and never reused, also after the oldest
///   events were trimmed and (for a persistent table) after it was reopened.
public protocol ChildTableReader: Sendable {
    /// The child with this id, or nil.
    func child(id: String) throws(TableError) -> ChildRecord?

    /// Children whose id is `prefix` or lies under it on whole path segments (`web/api`
    /// matches `web/api/0`, not `web/apix/0`; a trailing `/` is ignored); all children when
    /// `prefix` is nil or empty. In key order.
    func children(prefix: String?) throws(TableError) -> [ChildRecord]

    /// The same children as `children(prefix:)`, in the same order, each as its record's JSON
    /// text (one compact object, the documented fields; what `director ps --json` prints).
    ///
    /// The default encodes the decoded records (`ChildRecord.json.serialized()`). A table that
    /// stores the text already (LMDB) returns it without decoding, which is several times
    /// faster; its text must decode to the same records.
    func childrenJSON(prefix: String?) throws(TableError) -> [(id: String, json: String)]

    /// Every group, in key order (the root group, path `""`, under the key `/`).
    func groups() throws(TableError) -> [GroupRecord]

    /// OTP `count_children`: `specs` = stored job specs, `active` = children in state
    /// `running`, `supervisors` = groups, `workers` = children.
    func count() throws(TableError) -> ChildCount

    /// The spec stored for job key `group/job`, or nil.
    func spec(jobKey: String) throws(TableError) -> JSONValue?

    /// Every stored job key, in key order.
    func specKeys() throws(TableError) -> [String]

    /// A `meta` value, or nil. Every table has `meta.format` (`tableFormatVersion`).
    func meta(_ key: MetaKey) throws(TableError) -> JSONValue?

    /// Kept events with `seq > since`, oldest first, at most `limit` (none when `limit` is 0
    /// or less). When `since` lies before the oldest kept event, the list starts at that one.
    func events(since: UInt64, limit: Int) throws(TableError) -> [EventEntry]

    /// The highest sequence number ever assigned (0 before the first event). The next event
    /// gets this + 1.
    func lastEventSeq() throws(TableError) -> UInt64

    /// Delivers events with `seq > since` as they are committed, in seq order, until
    /// `shouldStop` returns true (checked before every poll). Returns the last delivered seq,
    /// to resume from. Events trimmed before they were seen are skipped: delivery goes on with
    /// the oldest one kept. An error thrown by `onEvent` stops following and is rethrown.
    ///
    /// The default polls `events(since:limit:)` every `pollInterval`; a table that can be
    /// told of commits may wake sooner.
    @discardableResult
    func followEvents(
        since: UInt64, pollInterval: Duration, until shouldStop: () -> Bool, _ onEvent: (EventEntry) throws -> Void
    ) throws -> UInt64
}

extension ChildTableReader {
    /// Encodes each record of `children(prefix:)`: the same text a table that stores JSON
    /// writes (`ChildRecord.json` keeps the documented field order).
    public func childrenJSON(prefix: String?) throws(TableError) -> [(id: String, json: String)] {
        try children(prefix: prefix).map { ($0.id, $0.json.serialized()) }
    }

    /// Polls `events(since:limit:)` every `pollInterval`, 1 000 events at a time.
    @discardableResult
    public func followEvents(
        since: UInt64, pollInterval: Duration, until shouldStop: () -> Bool, _ onEvent: (EventEntry) throws -> Void
    ) throws -> UInt64 {
        var last = since
        while !shouldStop() {
            let batch = try events(since: last, limit: 1000)
            for e in batch {
                try onEvent(e)
                last = e.seq
            }
            // Only an empty poll waits: a backlog is delivered as fast as it can be read.
            if batch.isEmpty { PollSleep.sleep(pollInterval) }
        }
        return last
    }

    /// `followEvents(since:pollInterval:until:_:)` polling every 150 ms. (A separate method
    /// rather than a default argument: a default argument would bind to this extension and
    /// skip a table's own implementation.)
    @discardableResult
    public func followEvents(
        since: UInt64, until shouldStop: () -> Bool, _ onEvent: (EventEntry) throws -> Void
    ) throws -> UInt64 {
        try followEvents(since: since, pollInterval: .milliseconds(150), until: shouldStop, onEvent)
    }

    /// Every child, in key order.
    public func children() throws(TableError) -> [ChildRecord] { try children(prefix: nil) }

    /// Every event still kept with `seq > since`, oldest first.
    public func events(since: UInt64) throws(TableError) -> [EventEntry] { try events(since: since, limit: .max) }

    /// `meta["daemon"]`, decoded.
    public func daemonInfo() throws(TableError) -> DaemonInfo? {
        guard let v = try meta(.daemon) else { return nil }
        return try DaemonInfo(json: v)
    }

    /// `meta["reload"]`, decoded.
    public func reloadInfo() throws(TableError) -> ReloadInfo? {
        guard let v = try meta(.reload) else { return nil }
        return try ReloadInfo(json: v)
    }
}

/// A sleep that survives signals (`nanosleep` resumed after `EINTR`), without Foundation.
enum PollSleep {
    static func sleep(_ d: Duration) {
        let (seconds, attoseconds) = d.components
        var remaining = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var request = remaining
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}
