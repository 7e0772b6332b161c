import DirectorTable

/// What `director ps --cluster` prints: `ChildListing`'s columns after a NODE column, with
/// the STATE of every child of a node not known to be up shown as `unknown` (its last
/// recorded state may no longer be true; DESIGN §9: never shown as stopped).
public enum ClusterListing {
    /// The column titles.
    public static let columns = ["NODE"] + ChildListing.columns

    /// An aligned table of `(node, record)` rows, in the order given; `unknown(node)` tells
    /// whether that node's children are shown as `unknown` (and without uptime).
    public static func render(_ rows: [(node: String, record: ChildRecord)], now: UnixMillis, unknown: (String) -> Bool) -> String {
        TextTable.render(header: columns, rows: rows.map { row in
            var cells = ChildListing.row(row.record, now: now)
            if unknown(row.node) {
                cells[1] = "unknown"
                cells[3] = "-"
            }
            return [row.node] + cells
        })
    }
}
