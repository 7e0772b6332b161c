/// The manifest's duration syntax: a non-negative decimal number and a unit, `250ms`, `1.5s`,
/// `2m`, `1h`. A bare `0` is rejected too (write `0s`): a unit is always required.
public enum DurationText {
    /// Why a text is not a duration.
    public enum Problem: Error, Sendable, Hashable {
        /// A number without a unit.
        case missingUnit
        /// A leading minus sign.
        case negative
        /// Anything else that does not match `NUMBER(ms|s|m|h)`.
        case malformed
        /// More than about 292 years.
        case tooLarge
    }

    /// Parses a duration; the fraction is truncated to whole nanoseconds.
    public static func parse(_ text: String) -> Result<Duration, Problem> {
        if text.hasPrefix("-") { return .failure(.negative) }
        let unitStart = text.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? text.endIndex
        let number = text[..<unitStart]
        let unit = text[unitStart...]
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, parts.count <= 2, !parts[0].isEmpty, parts.allSatisfy({ !$0.isEmpty }) else {
            return .failure(.malformed)
        }
        let nanosPerUnit: Int64
        switch unit {
        case "ms": nanosPerUnit = 1_000_000
        case "s": nanosPerUnit = 1_000_000_000
        case "m": nanosPerUnit = 60_000_000_000
        case "h": nanosPerUnit = 3_600_000_000_000
        case "": return .failure(.missingUnit)
        default: return .failure(.malformed)
        }
        guard parts[0].count <= 18, let whole = Int64(parts[0]) else { return .failure(.tooLarge) }
        let (wholeNanos, overflow) = whole.multipliedReportingOverflow(by: nanosPerUnit)
        if overflow { return .failure(.tooLarge) }
        var fractionNanos: Int64 = 0
        if parts.count == 2 {
            // Digits beyond nanosecond precision cannot matter; keep 18 so the math stays exact.
            var scale = nanosPerUnit
            for digit in parts[1].prefix(18) {
                scale /= 10
                fractionNanos += Int64(digit.wholeNumberValue!) * scale
            }
        }
        let (total, overflow2) = wholeNanos.addingReportingOverflow(fractionNanos)
        if overflow2 { return .failure(.tooLarge) }
        return .success(.nanoseconds(total))
    }

    /// The shortest manifest text for `duration` that parses back to the same value:
    /// `0s`, `250ms`, `5s`, `2m`, `1h`, `1500us` is not a unit so sub-millisecond parts are
    /// written as a decimal of milliseconds (`0.5ms`).
    public static func format(_ duration: Duration) -> String {
        let (seconds, attos) = duration.components
        let nanos = seconds &* 1_000_000_000 &+ attos / 1_000_000_000
        if nanos == 0 { return "0s" }
        for (unit, size) in [("h", Int64(3_600_000_000_000)), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000)]
        where nanos % size == 0 {
            return "\(nanos / size)\(unit)"
        }
        let whole = nanos / 1_000_000
        var fraction = String(nanos % 1_000_000)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)ms"
    }
}
