@testable import DirectorTable
import Testing

/// The writer's backlog: rows coalesce, events keep their order within a window, a failed
/// piece goes back ahead of newer changes.
@Suite struct TableBacklogTests {
    private func row(_ id: String, restarts: Int) -> TableChange {
        var record = Fixture.child(id)
        record.restarts = restarts
        return .upsertChild(record)
    }

    private func event(_ n: Int) -> TableChange {
        .appendEvent(NewEvent(at: Int64(n), id: "g/j/0", kind: "exit", detail: "n=\(n)"))
    }

    private func restarts(_ changes: [TableChange]) -> [String: Int] {
        var result: [String: Int] = [:]
        for case .upsertChild(let r) in changes { result[r.id] = r.restarts }
        return result
    }

    private func details(_ changes: [TableChange]) -> [String] {
        changes.compactMap { if case .appendEvent(let e) = $0 { e.detail } else { nil } }
    }

    @Test func onlyTheNewestRowOfAChildIsKept() {
        var backlog = TableBacklog()
        for n in 0..<10_000 { backlog.add([row("g/j/\(n % 3)", restarts: n)]) }
        backlog.add(.deleteChild(id: "g/j/2"))
        #expect(backlog.rowCount == 3)
        let piece = backlog.take().changes
        #expect(restarts(piece) == ["g/j/0": 9999, "g/j/1": 9997])
        #expect(piece.contains(.deleteChild(id: "g/j/2")))
        #expect(backlog.isEmpty)
    }

    @Test func eventsBeyondTheWindowAreDroppedAndCountedInOneNote() {
        var backlog = TableBacklog(eventWindow: 100)
        for n in 0..<250 { backlog.add(event(n)) }
        #expect(backlog.eventCount == 100)
        let piece = backlog.take().changes
        let notes = piece.compactMap { if case .appendEvent(let e) = $0, e.kind == "events_dropped" { e } else { nil } }
        #expect(notes.count == 1)
        #expect(notes.first?.detail == "150 events dropped while the table could not be written")
        #expect(notes.first?.at == 0, "dated at the first dropped event")
        // The newest 100 survive, in order, after the note.
        #expect(details(piece).dropFirst() == ArraySlice((150..<250).map { "n=\($0)" }))
        #expect(backlog.isEmpty)
    }

    @Test func aFailedPieceGoesBackAheadOfNewerChangesAndNewerRowsWin() {
        var backlog = TableBacklog(eventWindow: 10)
        backlog.add([row("a/b/0", restarts: 1), row("a/b/1", restarts: 1), event(1), event(2)])
        let piece = backlog.take(upTo: 3)
        #expect(piece.changes.count == 3)
        backlog.add([row("a/b/0", restarts: 2), event(3)])
        backlog.restore(piece)
        let all = backlog.take().changes
        #expect(restarts(all) == ["a/b/0": 2, "a/b/1": 1], "the newer row of a/b/0 wins")
        #expect(details(all) == ["n=1", "n=2", "n=3"], "events keep their order")
    }

    @Test func piecesTakeRowsFirstThenEventsAndSumToTheWhole() {
        var backlog = TableBacklog()
        backlog.add((0..<10).map { row("g/j/\($0)", restarts: 0) } + (0..<10).map(event))
        var taken: [TableChange] = []
        var pieces = 0
        while !backlog.isEmpty && pieces < 100 {
            taken += backlog.take(upTo: 3).changes
            pieces += 1
        }
        #expect(pieces == 7)
        #expect(taken.count == 20)
        #expect(details(taken) == (0..<10).map { "n=\($0)" })
    }

    @Test func aRestoredNoteIsCountedAgainNotDuplicated() {
        var backlog = TableBacklog(eventWindow: 5)
        for n in 0..<8 { backlog.add(event(n)) }
        let piece = backlog.take(upTo: 2)
        backlog.restore(piece)
        for n in 8..<10 { backlog.add(event(n)) }
        let all = backlog.take().changes
        let notes = all.compactMap { if case .appendEvent(let e) = $0, e.kind == "events_dropped" { e.detail } else { nil } }
        #expect(notes == ["5 events dropped while the table could not be written"])
        #expect(details(all).dropFirst() == ArraySlice((5..<10).map { "n=\($0)" }))
    }
}
