// Table timestamps are RFC 3339 UTC with milliseconds (`2026-11-24T21:00:00.123Z`). The
// conversion is done here by hand so the library needs no Foundation.

/// Milliseconds since the Unix epoch (UTC). Every time the table stores is one of these.
public typealias UnixMillis = Int64

/// Formats and parses the table's RFC 3339 timestamps.
public enum RFC3339 {
    /// `2026-11-24T21:00:00.123Z` for `millis`.
    public static func format(_ millis: UnixMillis) -> String {
        let (days, msOfDay) = floorDivide(millis, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        let hour = msOfDay / 3_600_000
        let minute = msOfDay / 60_000 % 60
        let second = msOfDay / 1000 % 60
        let ms = msOfDay % 1000
        // Every log line and most table rows carry one: 24 ASCII bytes written in place,
        // where joining a dozen small strings was 3 % of the daemon's CPU in a restart storm.
        if (0...9999).contains(year) {
            return String(unsafeUninitializedCapacity: 24) { out in
                func put(_ value: Int64, _ width: Int, at start: Int) {
                    var v = value
                    for i in stride(from: start + width - 1, through: start, by: -1) {
                        out[i] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                        v /= 10
                    }
                }
                put(year, 4, at: 0); out[4] = UInt8(ascii: "-")
                put(month, 2, at: 5); out[7] = UInt8(ascii: "-")
                put(day, 2, at: 8); out[10] = UInt8(ascii: "T")
                put(hour, 2, at: 11); out[13] = UInt8(ascii: ":")
                put(minute, 2, at: 14); out[16] = UInt8(ascii: ":")
                put(second, 2, at: 17); out[19] = UInt8(ascii: ".")
                put(ms, 3, at: 20); out[23] = UInt8(ascii: "Z")
                return 24
            }
        }
        var out = ""
        out.reserveCapacity(24)
        out += pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
        out += "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2)
        out += "." + pad(ms, 3) + "Z"
        return out
    }

    /// The instant `text` names, or nil when it is not RFC 3339. Accepts `Z` or a `±HH:MM`
    /// offset and 0–9 fraction digits (truncated to milliseconds), so timestamps written by
    /// other tools read back too.
    public static func parse(_ text: String) -> UnixMillis? {
        let b = Array(text.utf8)
        var at = 0
        func digits(_ n: Int) -> Int64? {
            guard at + n <= b.count else { return nil }
            var v: Int64 = 0
            for i in 0..<n {
                let c = b[at + i]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int64(c - 0x30)
            }
            at += n
            return v
        }
        func literal(_ options: [UInt8]) -> Bool {
            guard at < b.count, options.contains(b[at]) else { return false }
            at += 1
            return true
        }
        guard let year = digits(4), literal([0x2D]), let month = digits(2), literal([0x2D]), let day = digits(2),
            literal([0x54, 0x74, 0x20]),  // T, t or space
            let hour = digits(2), literal([0x3A]), let minute = digits(2), literal([0x3A]), let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var ms: Int64 = 0
        if literal([0x2E]) {
            var count = 0
            while at < b.count, b[at] >= 0x30, b[at] <= 0x39 {
                if count < 3 { ms = ms * 10 + Int64(b[at] - 0x30) }
                count += 1
                at += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 3) { ms *= 10 }
        }
        var offsetMinutes: Int64 = 0
        if literal([0x5A, 0x7A]) {  // Z or z
        } else if at < b.count, b[at] == 0x2B || b[at] == 0x2D {
            let sign: Int64 = b[at] == 0x2D ? -1 : 1
            at += 1
            guard let oh = digits(2), literal([0x3A]), let om = digits(2), oh < 24, om < 60 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard at == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offsetMinutes * 60
        return seconds * 1000 + ms
    }

    // Howard Hinnant's civil-calendar algorithms (public domain), valid far beyond any
    // date a supervisor will see.
    static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysFromCivil(year y0: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
