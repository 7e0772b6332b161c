/// OTP's restart intensity: a sliding window of the instants at which restarts were decided.
/// More than `intensity` restarts within `period` means the supervisor fails.
///
/// Instants arrive in time order, so the window is a queue: old entries leave from the
/// front (amortised O(1)), and counting is a binary search (O(log n)).
public struct RestartIntensity: Sendable, Hashable {
    /// Restarts allowed within `period`.
    public var intensity: Int
    /// The window length.
    public var period: Duration
    private var stamps: [Instant] = []
    /// Entries before `head` have left the window; they are dropped in batches.
    private var head = 0

    /// Creates an empty window.
    public init(intensity: Int, period: Duration) {
        self.intensity = intensity
        self.period = period
    }

    /// Records a restart at `now`; returns true when the window now holds more than
    /// `intensity` restarts (the supervisor must fail).
    public mutating func record(at now: Instant) -> Bool {
        head = firstInside(at: now)
        // Only the newest `intensity + 1` instants can decide anything.
        if intensity >= 0, stamps.count - head > intensity { head = stamps.count - intensity }
        if head > 64 && head * 2 > stamps.count {
            stamps.removeFirst(head)
            head = 0
        }
        stamps.append(now)
        return stamps.count - head > intensity
    }

    /// Restarts counted within the window ending at `now`.
    public func count(at now: Instant) -> Int { stamps.count - firstInside(at: now) }

    /// Forgets every restart (a supervisor restarted whole starts with a fresh history).
    public mutating func reset() {
        stamps.removeAll()
        head = 0
    }

    /// The index of the oldest entry still inside the window (OTP: `now - t < period`).
    private func firstInside(at now: Instant) -> Int {
        var low = head
        var high = stamps.count
        while low < high {
            let mid = (low + high) / 2
            if now - stamps[mid] < period { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
