import DirectorManifest

/// How long a child waits in `backoff` before its restart.
public enum BackoffSchedule {
    /// The delay before restart number `restarts + 1`: the rule's `after` when given, else
    /// the job's backoff (`initial * factor^restarts`, capped at `max`, spread by ±`jitter`),
    /// else the job's fixed `delay`. Draws from `random` only when jitter is non-zero.
    public static func delay(
        job: JobSpec, ruleAfter: Duration?, restarts: Int, random: inout SplitMix64
    ) -> Duration {
        if let ruleAfter { return ruleAfter }
        guard let backoff = job.backoff else { return job.delay }
        return delay(backoff: backoff, restarts: restarts, random: &random)
    }

    /// `initial * factor^restarts` capped at `max`, then multiplied by a factor drawn
    /// uniformly from `1 - jitter ... 1 + jitter`.
    public static func delay(backoff: Backoff, restarts: Int, random: inout SplitMix64) -> Duration {
        let cap = Double(backoff.max.nanosecondsClamped)
        var nanos = Double(backoff.initial.nanosecondsClamped)
        // Multiply step by step so a huge restart count cannot overflow before the cap.
        var step = 0
        while step < restarts && nanos < cap && backoff.factor > 1 {
            nanos *= backoff.factor
            step += 1
        }
        nanos = min(nanos, cap)
        if backoff.jitter > 0 {
            let spread = backoff.jitter * (2 * random.nextUnit() - 1)
            nanos *= 1 + spread
        }
        return .nanoseconds(Int64(max(0, min(nanos, Double(Int64.max / 2)))))
    }
}
