import DirectorTable
import Dispatch
import Foundation
import PostgresNIO
import Synchronization

/// Reads the cluster table and sends commands to nodes: what `director ps|events --cluster`
/// and `director start|stop|restart --cluster` use. It never writes a node's rows.
public final class ClusterReader: Sendable {
    /// One node as `director_nodes` has it, with the database's view of its lease.
    public struct Node: Sendable, Hashable {
        /// The node's name.
        public var node: String
        /// Its daemon's epoch.
        public var epoch: Int64
        /// Its daemon's pid (on its host).
        public var pid: Int64?
        /// `up`, `down` (past its lease, marked by the reaper) or `stopped` (shut down).
        public var status: String
        /// Milliseconds since its last heartbeat, by the database's clock.
        public var heartbeatAgeMillis: Int64
        /// Its lease in milliseconds.
        public var leaseMillis: Int64
        /// Events its mirror could not send.
        public var eventsDropped: Int64

        /// True when the node is not known to be up now: marked down, stopped, or past its
        /// lease though nobody marked it yet. Its children are shown as `unknown`.
        public var isStale: Bool { status != "up" || heartbeatAgeMillis > leaseMillis }

        /// True when the node's children are shown as `unknown`: it is down (marked, or past
        /// its lease), not cleanly stopped (a stopped daemon's last rows are its final state).
        public var showsUnknown: Bool { status == "down" || (status == "up" && heartbeatAgeMillis > leaseMillis) }
    }

    /// A child row with its node.
    public struct Child: Sendable, Hashable {
        /// The owning node.
        public var node: String
        /// The record, exactly as the node's LMDB table holds it.
        public var record: ChildRecord
        /// The record's JSON text as stored.
        public var json: String
    }

    private let session: PostgresSession
    /// Where PostgreSQL is.
    public let location: ClusterLocation

    /// Connects (the schema must exist: a daemon creates it).
    public init(_ location: ClusterLocation) throws(ClusterError) {
        self.location = location
        session = try PostgresSession(location.configuration)
    }

    /// Every node, by name.
    public func nodes() throws(ClusterError) -> [Node] {
        let rows = try session.run("""
            SELECT node, epoch, pid::bigint, status,
                   (extract(epoch FROM now() - coalesce(heartbeat_at, '-infinity')) * 1000)::bigint,
                   (extract(epoch FROM lease) * 1000)::bigint, events_dropped
            FROM director_nodes ORDER BY node
            """)
        return try rows.map { (row) throws(ClusterError) in
            Node(
                node: try Column.text(row, 0), epoch: try Column.int(row, 1), pid: try Column.optionalInt(row, 2),
                status: try Column.text(row, 3), heartbeatAgeMillis: try Column.int(row, 4),
                leaseMillis: try Column.int(row, 5), eventsDropped: try Column.int(row, 6))
        }
    }

    /// Every child (of `node` when given), ordered by node, then id in byte order.
    public func children(node: String? = nil) throws(ClusterError) -> [Child] {
        let rows: [PostgresRow]
        if let node {
            rows = try session.run("SELECT node, record::text FROM director_children WHERE node = \(node)")
        } else {
            rows = try session.run("SELECT node, record::text FROM director_children")
        }
        var out: [Child] = []
        out.reserveCapacity(rows.count)
        for row in rows {
            let text = try Column.text(row, 1)
            do {
                let record = try ChildRecord(json: try JSONValue.parse(text))
                out.append(Child(node: try Column.text(row, 0), record: record, json: text))
            } catch {
                throw ClusterError(.query, "a child row is not a child record: \(error)")
            }
        }
        return out.sorted { $0.node != $1.node ? $0.node < $1.node : TableKey.precedes($0.record.id, $1.record.id) }
    }

    /// Events after `cursor` (the last seq seen per node; a node absent from it: all its
    /// events), in the order they happened, at most `limit`.
    public func events(after cursor: [String: UInt64], limit: Int = 10_000) throws(ClusterError) -> [EventEntry] {
        let nodes = Array(cursor.keys)
        let seqs = nodes.map { Int64(cursor[$0]!) }
        let most = Int64(limit)
        let rows = try session.run("""
            SELECT e.seq, (extract(epoch FROM e.at) * 1000)::bigint, e.id, e.kind, e.detail, e.node
            FROM director_events e LEFT JOIN unnest(\(nodes)::text[], \(seqs)::bigint[]) AS c(node, seq) ON c.node = e.node
            WHERE e.seq > coalesce(c.seq, 0)
            ORDER BY e.at, e.node, e.seq LIMIT \(most)
            """)
        return try rows.map { (row) throws(ClusterError) in
            EventEntry(
                seq: UInt64(try Column.int(row, 0)), at: try Column.int(row, 1), id: try Column.text(row, 2),
                kind: try Column.text(row, 3), detail: try Column.text(row, 4), node: try Column.text(row, 5))
        }
    }

    /// The newest `count` events of the whole cluster, oldest first.
    public func lastEvents(_ count: Int) throws(ClusterError) -> [EventEntry] {
        let most = Int64(count)
        let rows = try session.run("""
            SELECT * FROM (SELECT seq, (extract(epoch FROM at) * 1000)::bigint AS at_ms, id, kind, detail, node, at
                           FROM director_events ORDER BY at DESC, node DESC, seq DESC LIMIT \(most)) last
            ORDER BY at, node, seq
            """)
        return try rows.map { (row) throws(ClusterError) in
            EventEntry(
                seq: UInt64(try Column.int(row, 0)), at: try Column.int(row, 1), id: try Column.text(row, 2),
                kind: try Column.text(row, 3), detail: try Column.text(row, 4), node: try Column.text(row, 5))
        }
    }

    /// Calls `wake` on every new event's notification (LISTEN director_events); readers then
    /// catch up with `events(after:)`, so a lost notification costs latency, never events.
    public func listenForEvents(_ wake: @escaping @Sendable () -> Void) throws(ClusterError) {
        session.raw.addListener(channel: "director_events") { _, _ in wake() }
        try session.run("LISTEN director_events")
    }

    /// Inserts a command for `node` and waits for its answer, at most `timeout`. Refused at
    /// once when the node is unknown or not up (past its lease): nothing would carry it out.
    public func send(_ op: String, ids: [String], to node: String, timeout: Duration = .seconds(10)) throws(ClusterError) -> ClusterCommand.Outcome {
        guard let info = try nodes().first(where: { $0.node == node }) else {
            throw ClusterError(.nodeDown, "node \(node) is not in the cluster at \(location)")
        }
        if info.isStale {
            throw ClusterError(.nodeDown, "node \(node) is \(info.status == "up" ? "down" : info.status): last heartbeat \(info.heartbeatAgeMillis / 1000) s ago (lease \(info.leaseMillis / 1000) s); nothing can carry out \(op)")
        }
        let command = ClusterCommand(seq: 0, op: op, ids: ids).opJSON.serialized()
        guard let row = try session.run("INSERT INTO director_commands (node, op) VALUES (\(node), \(command)::jsonb) RETURNING seq").first else {
            throw ClusterError(.query, "no command number returned")
        }
        let seq = try Column.int(row, 0)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let answer = try session.run("SELECT result::text FROM director_commands WHERE seq = \(seq) AND result IS NOT NULL").first {
                let text = try Column.text(answer, 0)
                return ClusterCommand.Outcome(json: (try? JSONValue.parse(text)) ?? .null)
            }
            usleep(50_000)
        }
        // Withdraw it unless the node took it meanwhile (then it may still be carried out).
        let withdrawn = try session.run("DELETE FROM director_commands WHERE seq = \(seq) AND taken_at IS NULL RETURNING seq")
        let seconds = timeout.components.seconds
        throw ClusterError(.timeout, withdrawn.isEmpty
            ? "node \(node) took command \(seq) but did not answer within \(seconds) s"
            : "node \(node) did not take command \(seq) within \(seconds) s (withdrawn); is its daemon running with --cluster?")
    }
}
