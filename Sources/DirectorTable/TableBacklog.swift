/// Table changes waiting to be committed, kept in bounded memory however long the table
/// cannot be written (a full disk, a failing device).
///
/// Only the newest value of a row matters to a reader, so rows (children, groups, specs,
/// meta) coalesce: a child restarting 10 000 times while the disk is full costs one pending
/// row, not 10 000. Events are history and keep their order, but only the newest
/// `eventWindow` are kept (the table itself keeps no more than that); older ones are dropped
/// and counted, and the next commit appends one `events_dropped` event that says how many.
///
/// A value type with no I/O: the writer thread owns one and takes pieces of it to commit.
package struct TableBacklog: Sendable {
    /// What a row change is keyed by: a later change of the same key replaces an earlier one.
    private enum RowKey: Hashable, Sendable {
        case child(String)
        case group(String)
        case spec(String)
        case meta(MetaKey)
        /// A merge keeps its own slot: it must not replace (or be replaced by) a plain
        /// `setMeta`, and only a later merge of the same part supersedes it.
        case merge(MetaKey, String)
    }

    /// Rows by key, and the order their keys first arrived (stable pieces, oldest first).
    private var rows: [RowKey: TableChange] = [:]
    private var rowOrder: [RowKey] = []
    /// Events, oldest first; `eventHead` of them are already taken.
    private var events: [NewEvent] = []
    private var eventHead = 0
    /// Events dropped beyond the window and not yet reported.
    private(set) var droppedEvents = 0
    /// When the oldest dropped event happened (the note is dated there).
    private var firstDropAt: UnixMillis?

    /// The most events kept.
    package let eventWindow: Int

    /// An empty backlog keeping at most `eventWindow` events.
    package init(eventWindow: Int = 10_000) {
        precondition(eventWindow > 0, "eventWindow must be positive")
        self.eventWindow = eventWindow
    }

    /// True when nothing waits.
    package var isEmpty: Bool { rows.isEmpty && eventCount == 0 && droppedEvents == 0 }

    /// Pending row changes (after coalescing).
    package var rowCount: Int { rows.count }

    /// Pending events.
    package var eventCount: Int { events.count - eventHead }

    /// Changes a full commit would apply now.
    package var count: Int { rowCount + eventCount + (droppedEvents > 0 ? 1 : 0) }

    /// Adds changes in the order they happened.
    package mutating func add(_ changes: [TableChange]) {
        for change in changes { add(change) }
    }

    /// Adds one change.
    package mutating func add(_ change: TableChange) {
        let key: RowKey
        switch change {
        case .appendEvent(let event):
            appendEvent(event)
            return
        case .upsertChild(let record): key = .child(record.id)
        case .deleteChild(let id): key = .child(id)
        case .upsertGroup(let record): key = .group(record.key)
        case .deleteGroup(let path): key = .group(path)
        case .putSpec(let jobKey, _), .deleteSpec(let jobKey): key = .spec(jobKey)
        case .setMeta(let metaKey, _): key = .meta(metaKey)
        case .mergeMeta(let metaKey, let merge):
            switch merge {
            case .node(let info): key = .merge(metaKey, "node:" + info.node)
            case .decisions: key = .merge(metaKey, "decisions")
            }
        }
        if rows.updateValue(change, forKey: key) == nil { rowOrder.append(key) }
    }

    private mutating func appendEvent(_ event: NewEvent) {
        events.append(event)
        guard eventCount > eventWindow else { return }
        if firstDropAt == nil { firstDropAt = events[eventHead].at }
        eventHead += 1
        droppedEvents += 1
        compactEvents()
    }

    private mutating func compactEvents() {
        if eventHead > 4096 && eventHead * 2 > events.count {
            events.removeFirst(eventHead)
            eventHead = 0
        }
    }

    /// Changes taken to commit in one transaction.
    package struct Piece: Sendable {
        /// What to apply, in order.
        package var changes: [TableChange] = []
        /// The dropped-events count the piece's `events_dropped` note reports (0: no note).
        fileprivate var dropped = 0
        fileprivate var droppedAt: UnixMillis?
    }

    /// Takes up to `limit` changes to commit in one transaction: rows first (oldest key
    /// first), then the `events_dropped` note if one is due, then events in order. Put them
    /// back with `restore` if the commit fails.
    package mutating func take(upTo limit: Int = .max) -> Piece {
        var piece = Piece()
        let rowTake = min(limit, rowOrder.count)
        if rowTake > 0 {
            piece.changes.reserveCapacity(min(limit, count))
            for key in rowOrder.prefix(rowTake) { piece.changes.append(rows.removeValue(forKey: key)!) }
            rowOrder.removeFirst(rowTake)
            // A dictionary never shrinks: after the start of a large pool (a row per child)
            // its storage would stay at that size for good. Give it back once drained.
            if rows.isEmpty && rows.capacity > 1024 {
                rows = [:]
                rowOrder = []
            }
        }
        if piece.changes.count < limit, droppedEvents > 0 {
            piece.changes.append(.appendEvent(NewEvent(
                at: firstDropAt ?? 0, id: "", kind: "events_dropped",
                detail: "\(droppedEvents) events dropped while the table could not be written")))
            (piece.dropped, piece.droppedAt) = (droppedEvents, firstDropAt)
            droppedEvents = 0
            firstDropAt = nil
        }
        let eventTake = min(limit - piece.changes.count, eventCount)
        if eventTake > 0 {
            for event in events[eventHead..<(eventHead + eventTake)] { piece.changes.append(.appendEvent(event)) }
            eventHead += eventTake
            if eventHead == events.count {
                events.removeAll(keepingCapacity: events.capacity <= 1024)
                eventHead = 0
            } else {
                compactEvents()
            }
        }
        return piece
    }

    /// Puts back a piece whose commit failed, ahead of what arrived since: a newer change of
    /// the same row wins, events keep their order, and the window still holds.
    package mutating func restore(_ piece: Piece) {
        let newer = self
        self = TableBacklog(eventWindow: eventWindow)
        (droppedEvents, firstDropAt) = (piece.dropped, piece.droppedAt)
        for change in piece.changes {
            // The note is counted again (above), not kept as an event.
            if case .appendEvent(let e) = change, e.kind == "events_dropped", piece.dropped > 0 { continue }
            add(change)
        }
        add(newer.rowOrder.map { newer.rows[$0]! })
        for event in newer.events[newer.eventHead...] { appendEvent(event) }
        droppedEvents += newer.droppedEvents
        if let at = newer.firstDropAt { firstDropAt = min(firstDropAt ?? at, at) }
    }
}
