/// OTP's restart intensity: a sliding window of the instants at which restarts were decided.
/// More than `intensity` restarts within `period` means the supervisor fails.
public struct RestartIntensity: Sendable, Hashable {
    /// Restarts allowed within `period`.
    public var intensity: Int
    /// The window length.
    public var period: Duration
    // Only the newest `intensity + 1` instants can matter, so the buffer stays small.
    private var stamps: [Instant] = []

    /// Creates an empty window.
    public init(intensity: Int, period: Duration) {
        self.intensity = intensity
        self.period = period
    }

    /// Records a restart at `now`; returns true when the window now holds more than
    /// `intensity` restarts (the supervisor must fail).
    public mutating func record(at now: Instant) -> Bool {
        prune(at: now)
        stamps.append(now)
        if stamps.count - 1 > intensity { stamps.removeFirst(stamps.count - 1 - intensity) }
        return stamps.count > intensity
    }

    /// Restarts counted within the window ending at `now`.
    public func count(at now: Instant) -> Int {
        stamps.reduce(0) { $0 + (Self.within(period, $1, now) ? 1 : 0) }
    }

    /// Forgets every restart (a supervisor restarted whole starts with a fresh history).
    public mutating func reset() { stamps.removeAll() }

    private mutating func prune(at now: Instant) {
        if let keep = stamps.firstIndex(where: { Self.within(period, $0, now) }) {
            stamps.removeFirst(keep)
        } else {
            stamps.removeAll()
        }
    }

    // OTP: a restart at `t` counts while `now - t < period`.
    private static func within(_ period: Duration, _ t: Instant, _ now: Instant) -> Bool {
        now - t < period
    }
}
