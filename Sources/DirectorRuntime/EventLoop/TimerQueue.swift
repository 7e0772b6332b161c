import DirectorCore

/// Deadlines keyed by a caller's key, earliest first. Pure: the event loop feeds it the time.
///
/// A binary min-heap with lazy deletion: cancelling or re-arming a key only forgets its live
/// sequence number; stale heap entries are skipped when they surface, and the heap is rebuilt
/// when stale entries outnumber live ones, so re-arming the same key forever stays bounded.
package struct TimerQueue<Key: Hashable> {
    private struct Entry {
        var deadline: Instant
        var sequence: UInt64
        var key: Key
        func precedes(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var heap: [Entry] = []
    private var live: [Key: UInt64] = [:]
    private var lastSequence: UInt64 = 0

    /// An empty queue.
    package init() {}

    /// How many timers are armed.
    package var count: Int { live.count }

    /// True when `key` is armed.
    package func isArmed(_ key: Key) -> Bool { live[key] != nil }

    /// Arms `key` for `deadline`, replacing an earlier arming of the same key. Returns the
    /// arming's sequence number (ties fire in arming order).
    @discardableResult
    package mutating func arm(_ key: Key, at deadline: Instant) -> UInt64 {
        lastSequence += 1
        live[key] = lastSequence
        push(Entry(deadline: deadline, sequence: lastSequence, key: key))
        if heap.count > 64 && heap.count > 2 * live.count { rebuild() }
        return lastSequence
    }

    /// Forgets `key`; cancelling an unarmed key is fine.
    package mutating func cancel(_ key: Key) { live[key] = nil }

    /// The earliest live deadline.
    package mutating func nextDeadline() -> Instant? {
        dropStaleTop()
        return heap.first?.deadline
    }

    /// Removes and returns every timer due at `now`, earliest first, with its sequence number.
    package mutating func popDue(now: Instant) -> [(key: Key, sequence: UInt64)] {
        var due: [(key: Key, sequence: UInt64)] = []
        while true {
            dropStaleTop()
            guard let top = heap.first, top.deadline <= now else { return due }
            popTop()
            live[top.key] = nil
            due.append((top.key, top.sequence))
        }
    }

    private func isLive(_ e: Entry) -> Bool { live[e.key] == e.sequence }

    private mutating func dropStaleTop() {
        while let top = heap.first, !isLive(top) { popTop() }
    }

    private mutating func rebuild() {
        heap = heap.filter(isLive)
        var i = heap.count / 2
        while i > 0 { i -= 1; siftDown(i) }
    }

    private mutating func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].precedes(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func popTop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < heap.count && heap[l].precedes(heap[best]) { best = l }
            if r < heap.count && heap[r].precedes(heap[best]) { best = r }
            if best == i { return }
            heap.swapAt(i, best)
            i = best
        }
    }
}
