// What `director ps` and `director events` add on a table several daemons share (DESIGN
// §4.1): the node of each row. Kept apart from the single-daemon listings, which stay as
// they are when a table has one node.

extension ChildListing {
    /// `render(children:now:)` with a first column `NODE` (`-` for a row without a node).
    public static func render(
        children: [ChildRecord], now: UnixMillis, showingNodes: Bool, isGone: (ChildRecord) -> Bool = { _ in false }
    ) -> String {
        guard showingNodes else { return render(children: children, now: now, isGone: isGone) }
        return TextTable.render(
            header: ["NODE"] + columns, rows: children.map { [$0.node ?? "-"] + row($0, now: now, gone: isGone($0)) })
    }

    /// True when the rows come from more than one node, where `ps` shows the NODE column
    /// without being asked.
    public static func hasSeveralNodes(_ children: [ChildRecord]) -> Bool {
        guard let first = children.first?.node else { return children.contains { $0.node != nil } }
        return children.contains { $0.node != first }
    }
}

extension EventListing {
    /// `SEQ AT NODE ID KIND DETAIL` (`-` for an event without a node), one line.
    public static func line(_ e: EventEntry, showingNode: Bool) -> String {
        guard showingNode else { return line(e) }
        var out = "\(e.seq) \(RFC3339.format(e.at)) \(e.node ?? "-") \(e.id.isEmpty ? "-" : e.id) \(e.kind)"
        if !e.detail.isEmpty { out += " " + e.detail }
        return out
    }
}

extension ChildListing {
    /// What `director ps --table DIR [--node NAME] [PREFIX]` prints: as
    /// `render(from:prefix:now:order:)`, only the children of `node` when given, with the
    /// NODE column when `showingNodes` or when the rows come from more than one node.
    public static func render(
        from table: any ChildTableReader, prefix: String?, now: UnixMillis, order: ([String]) -> [Int] = keyOrder,
        node: String?, showingNodes: Bool, isGone: (ChildRecord) -> Bool = { _ in false }
    ) throws(TableError) -> String {
        var children = try table.children(prefix: prefix)
        let show = showingNodes || hasSeveralNodes(children)
        if let node { children = children.filter { $0.node == node } }
        let rows = arranged(children, id: \.id, order)
        return render(children: rows, now: now, showingNodes: show, isGone: isGone)
            + (try failedGroupLines(table, prefix: prefix, node: node))
    }
}
