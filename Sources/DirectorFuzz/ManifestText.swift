/// A light, forgiving scan of manifest-shaped bytes: where lines, keys and values are.
///
/// It is not a YAML parser (the input is usually broken); it only finds good places for the
/// mutator to aim at, such as "the value after `delay:`" or "the line holding `- name:`".
struct ManifestText {
    /// A `key: value` or `- value` position on one line.
    struct Slot {
        /// The key before the colon; nil for a list item.
        var key: String?
        /// Where the key is.
        var keyRange: Range<Int>?
        /// Where the value is (possibly empty).
        var valueRange: Range<Int>
        /// The line the slot is on.
        var line: Int
    }

    let bytes: [UInt8]
    /// Each line's bytes, without its `\n`.
    let lines: [Range<Int>]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var lines: [Range<Int>] = []
        var start = 0
        for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            lines.append(start..<i)
            start = i + 1
        }
        lines.append(start..<bytes.count)
        self.lines = lines
    }

    /// How many spaces start the line.
    func indentation(ofLine line: Int) -> Int {
        lines[line].prefix { bytes[$0] == UInt8(ascii: " ") }.count
    }

    /// Every `key: value` and `- value` slot, in text order.
    var slots: [Slot] {
        var found: [Slot] = []
        for (number, range) in lines.enumerated() {
            let firstNonSpace = range.first { bytes[$0] != UInt8(ascii: " ") } ?? range.upperBound
            if firstNonSpace + 1 < range.upperBound, bytes[firstNonSpace] == UInt8(ascii: "-"),
                bytes[firstNonSpace + 1] == UInt8(ascii: " ")
            {
                let start = firstNonSpace + 2
                found.append(Slot(key: nil, keyRange: nil, valueRange: start..<valueEnd(from: start, in: range), line: number))
            }
            for colon in range where bytes[colon] == UInt8(ascii: ":") {
                guard colon + 1 == range.upperBound || bytes[colon + 1] == UInt8(ascii: " ") else { continue }
                var keyStart = colon
                while keyStart > range.lowerBound, Self.isKeyByte(bytes[keyStart - 1]) { keyStart -= 1 }
                guard keyStart < colon else { continue }
                var start = colon + 1
                while start < range.upperBound, bytes[start] == UInt8(ascii: " ") { start += 1 }
                found.append(Slot(
                    key: String(decoding: bytes[keyStart..<colon], as: UTF8.self), keyRange: keyStart..<colon,
                    valueRange: start..<valueEnd(from: start, in: range), line: number))
            }
        }
        return found
    }

    /// Lines that name a job (`- name: x` or `name: x`), for inserting sibling keys.
    var nameLines: [Int] {
        slots.filter { $0.key == "name" }.map(\.line)
    }

    /// The end of a value starting at `start`: a whole bracketed collection, the next flow
    /// separator when inside one, or the end of the line.
    private func valueEnd(from start: Int, in line: Range<Int>) -> Int {
        guard start < line.upperBound else { return start }
        let open = bytes[start]
        if open == UInt8(ascii: "[") || open == UInt8(ascii: "{") {
            var depth = 0
            for i in start..<line.upperBound {
                switch bytes[i] {
                case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default: break
                }
            }
            return line.upperBound
        }
        let insideFlow = bytes[line.lowerBound..<start].contains { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "[") }
        if insideFlow,
            let end = (start..<line.upperBound).first(where: { [UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(bytes[$0]) })
        {
            return end
        }
        var end = line.upperBound
        while end > start, bytes[end - 1] == UInt8(ascii: " ") { end -= 1 }
        return end
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}
