// What `director ps`, `events` and `count` print. Kept in the library so every tool that
// reads the table shows the same thing.

/// Renders children for people (`director ps`) and as JSON (`director ps --json`).
public enum ChildListing {
    /// The column titles, in order; `STATUS` (sd_notify `STATUS=`) follows them when a listed
    /// child has one.
    public static let columns = ["ID", "STATE", "READY", "PID", "UPTIME", "RESTARTS", "LAST EXIT"]

    /// An aligned table, one line per child under a header line, ending in a newline.
    ///
    /// `isGone` tells whether a row's recorded process no longer exists (the reader checks
    /// `/proc`; this library does not): such a row's PID reads `123 (gone)`, because the row
    /// is what a daemon last wrote, not what runs.
    public static func render(
        children: [ChildRecord], now: UnixMillis, isGone: (ChildRecord) -> Bool = { _ in false }
    ) -> String {
        let withStatus = children.contains { $0.status != nil }
        return TextTable.render(
            header: withStatus ? columns + ["STATUS"] : columns,
            rows: children.map { c in
                let cells = row(c, now: now, gone: isGone(c))
                return withStatus ? cells + [c.status ?? "-"] : cells
            })
    }

    /// One child's cells, in the order of `columns`.
    package static func row(_ c: ChildRecord, now: UnixMillis, gone: Bool = false) -> [String] {
        let uptime: String
        if let started = c.startedAt, c.hasLiveProcess {
            uptime = Elapsed.short(now - started)
        } else {
            uptime = "-"
        }
        let lastExit = c.lastExit.map { "\($0.summary) \(Elapsed.short(now - $0.at)) ago" } ?? "-"
        let pid = c.pid.map { gone ? "\($0) (gone)" : String($0) } ?? "-"
        let ready = c.readyCell ?? "-"
        return [c.id, c.state.rawValue, ready, pid, uptime, String(c.restarts), lastExit]
    }

    /// A JSON array of the child records, one compact line.
    public static func json(children: [ChildRecord]) -> String {
        JSONValue.array(children.map(\.json)).serialized()
    }

    /// The order of the table itself (key order): `order` for `render(from:...)` and
    /// `json(from:...)` when the caller has no other.
    public static func keyOrder(_ ids: [String]) -> [Int] { Array(ids.indices) }

    /// What `director ps [PREFIX]` prints, read from any table: `render(children:now:)` of the
    /// children under `prefix`, then one line for each group the root gave up that `prefix`
    /// concerns (its children are merely `stopped`; the line says why and what to do).
    ///
    /// `order` gets the children's ids and returns their positions in display order; the CLI
    /// passes the tree order of `ChildID` (`api/10` after `api/9`), which this library cannot
    /// parse. Positions rather than a comparator so that each id is parsed once. `isGone` as
    /// in `render(children:now:isGone:)`.
    public static func render(
        from table: any ChildTableReader, prefix: String?, now: UnixMillis, order: ([String]) -> [Int] = keyOrder,
        isGone: (ChildRecord) -> Bool = { _ in false }
    ) throws(TableError) -> String {
        let rows = arranged(try table.children(prefix: prefix), id: \.id, order)
        return render(children: rows, now: now, isGone: isGone) + (try failedGroupLines(table, prefix: prefix))
    }

    /// One line for each group the root gave up that `prefix` concerns (of `node` only, when
    /// given), each ending in a newline: what `director ps` prints under its table.
    public static func failedGroupLines(_ table: any ChildTableReader, prefix: String?, node: String? = nil) throws(TableError) -> String {
        var text = ""
        let wanted = prefix.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        for group in try table.groups() where group.state == .failed && (node == nil || group.node == node) {
            // A group concerns the prefix when one lies inside the other.
            if let wanted, group.path != wanted, !group.path.hasPrefix(wanted + "/"), !wanted.hasPrefix(group.path + "/") {
                continue
            }
            text += "group \(group.path) failed: given up by the root; `director start \(group.path)` starts it again\n"
        }
        return text
    }

    /// What `director ps --json [PREFIX]` prints, without the final newline: the JSON array of
    /// the records under `prefix` in `order` (see `render(from:prefix:now:order:)`), built from
    /// `childrenJSON(prefix:)`, so a table that stores the text passes it on undecoded.
    public static func json(
        from table: any ChildTableReader, prefix: String?, order: ([String]) -> [Int] = keyOrder
    ) throws(TableError) -> String {
        let rows = arranged(try table.childrenJSON(prefix: prefix), id: \.id, order)
        var out = "["
        out.reserveCapacity(rows.reduce(2) { $0 + $1.json.utf8.count + 1 })
        for (i, row) in rows.enumerated() {
            if i > 0 { out += "," }
            out += row.json
        }
        return out + "]"
    }

    /// `items` in the positions `order` gives for their ids. Moving positions, not records:
    /// records are large, and sorting them directly cost more than the comparisons.
    static func arranged<T>(_ items: [T], id: (T) -> String, _ order: ([String]) -> [Int]) -> [T] {
        order(items.map(id)).map { items[$0] }
    }
}

/// Renders events (`director events`).
public enum EventListing {
    /// `SEQ AT ID KIND DETAIL`, one line (no newline). The daemon's own events show `-` as id.
    public static func line(_ e: EventEntry) -> String {
        var out = "\(e.seq) \(RFC3339.format(e.at)) \(e.id.isEmpty ? "-" : e.id) \(e.kind)"
        if !e.detail.isEmpty { out += " " + e.detail }
        return out
    }

    /// One line per event, each ending in a newline.
    public static func render(events: [EventEntry]) -> String {
        events.map { line($0) + "\n" }.joined()
    }

    /// One compact JSON object (no newline), for `--json` (one per line).
    public static func jsonLine(_ e: EventEntry) -> String { e.json.serialized() }
}

/// Renders OTP `count_children` (`director count`).
public enum CountListing {
    /// `specs N`, `active N`, `supervisors N`, `workers N`, one per line, aligned.
    public static func render(_ c: ChildCount) -> String {
        TextTable.render(
            header: nil,
            rows: [
                ["specs", String(c.specs)], ["active", String(c.active)],
                ["supervisors", String(c.supervisors)], ["workers", String(c.workers)],
            ])
    }

    /// `{"specs":N,"active":N,"supervisors":N,"workers":N}`.
    public static func json(_ c: ChildCount) -> String {
        JSONValue.object([
            ("specs", .int(Int64(c.specs))), ("active", .int(Int64(c.active))),
            ("supervisors", .int(Int64(c.supervisors))), ("workers", .int(Int64(c.workers))),
        ]).serialized()
    }
}

/// Short human durations: `45s`, `3m12s`, `3h12m`, `2d4h`.
public enum Elapsed {
    /// `millis` as the two most significant units (`0s` for anything under a second,
    /// negative spans as `0s`: clocks of two processes may disagree slightly).
    public static func short(_ millis: Int64) -> String {
        let s = max(millis, 0) / 1000
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + (s % 60 == 0 ? "" : "\(s % 60)s") }
        if s < 86_400 { return "\(s / 3600)h" + (s / 60 % 60 == 0 ? "" : "\(s / 60 % 60)m") }
        return "\(s / 86_400)d" + (s / 3600 % 24 == 0 ? "" : "\(s / 3600 % 24)h")
    }
}

/// Left-aligned columns separated by two spaces, without trailing spaces.
package enum TextTable {
    /// `style(row, column)` may give an SGR sequence for a body cell: the cell is wrapped in it
    /// and a reset, and padded by its visible width.
    package static func render(header: [String]?, rows: [[String]], style: ((Int, Int) -> String?)? = nil) -> String {
        let all = (header.map { [$0] } ?? []) + rows
        guard let n = all.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: n)
        for row in all {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        let bodyStart = header == nil ? 0 : 1
        for (r, row) in all.enumerated() {
            var line = ""
            for (i, cell) in row.enumerated() {
                if r >= bodyStart, let sgr = style?(r - bodyStart, i) {
                    line += sgr + cell + "\u{1B}[0m"
                } else {
                    line += cell
                }
                if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 2) }
            }
            out += line + "\n"
        }
        return out
    }
}
