import DirectorTable

/// What `director ps --cluster` prints: `director ps`'s columns after a NODE column, with the
/// STATE of every child of a node not known to be up shown as `unknown` (its last recorded
/// state may no longer be true; DESIGN §9: never shown as stopped). CPU and MEM are `-`: they
/// are read from /proc, which only the child's own host has.
public enum ClusterListing {
    /// The column titles of the standard listing.
    public static var columns: [String] { ([ChildColumn.node] + ChildListing.standardColumns).map(\.title) }

    /// The facts of a row of `node`: `unknown` when `unknown(node)`; READY from the record
    /// for a live process (as `ps` shows it), nothing of /proc.
    public static func facts(_ record: ChildRecord, unknown: Bool) -> ChildRowFacts {
        ChildRowFacts(ready: unknown ? nil : record.readyCell, status: record.status, unknown: unknown)
    }

    /// An aligned table of `(node, record)` rows, in the order given, in `columns` after
    /// NODE; `unknown(node)` tells whether that node's children are shown as `unknown`.
    public static func render(
        _ rows: [(node: String, record: ChildRecord)], columns: [ChildColumn] = ChildListing.standardColumns, now: UnixMillis,
        unknown: (String) -> Bool
    ) -> String {
        let records = rows.map { row in
            var r = row.record
            r.node = row.node
            return r
        }
        return ChildListing.render(children: records, columns: [.node] + columns, now: now) { facts($0, unknown: unknown($0.node ?? "")) }
    }
}
