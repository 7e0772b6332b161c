import DirectorCore
import DirectorManifest

/// Applies one ``MutationKind`` to manifest bytes, drawing every choice from a
/// ``SplitMix64``, so the same generator state always gives the same output.
public struct Mutator: Sendable {
    /// Other inputs, for ``MutationKind/spliceLine``.
    public var donors: [[UInt8]]

    /// Creates a mutator that splices lines from `donors`.
    public init(donors: [[UInt8]]) { self.donors = donors }

    /// Returns `bytes` changed by one mutation of `kind`. A manifest-aware mutation that
    /// finds nothing to aim at falls back to inserting its value somewhere.
    public func apply(_ kind: MutationKind, to bytes: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var out = bytes
        let text = ManifestText(bytes)
        switch kind {
        case .flipByte:
            guard !out.isEmpty else { return [rng.pick(EdgeValues.interestingBytes)] }
            let at = rng.below(out.count)
            for _ in 0..<rng.within(1...3) { out[at] ^= 1 << UInt8(rng.below(8)) }
        case .insertBytes:
            let inserted = (0..<rng.within(1...4)).map { _ in
                rng.chance(75) ? rng.pick(EdgeValues.interestingBytes) : UInt8(truncatingIfNeeded: rng.next())
            }
            out.insert(contentsOf: inserted, at: rng.below(out.count + 1))
        case .deleteSpan:
            guard !out.isEmpty else { return out }
            if rng.chance(30), let line = nonEmptyLine(text, &rng) {
                out.removeSubrange(line.lowerBound..<min(line.upperBound + 1, out.count))
            } else {
                let start = rng.below(out.count)
                out.removeSubrange(start..<min(out.count, start + rng.within(1...32)))
            }
        case .duplicateSpan:
            guard !out.isEmpty else { return out }
            let start = rng.below(out.count)
            let span = Array(out[start..<min(out.count, start + rng.within(1...64))])
            out.insert(contentsOf: span, at: start + span.count)
        case .spliceLine:
            let donor = donors.isEmpty ? bytes : rng.pick(donors)
            let donorText = ManifestText(donor)
            var line = Array(donor[rng.pick(donorText.lines)])
            if rng.chance(30) { line = Array(repeating: UInt8(ascii: " "), count: rng.within(0...8)) + line.drop { $0 == UInt8(ascii: " ") } }
            let target = rng.pick(text.lines)
            if rng.chance(50) {
                out.replaceSubrange(target, with: line)
            } else {
                out.insert(contentsOf: line + [UInt8(ascii: "\n")], at: target.lowerBound)
            }
        case .swapKey:
            let keyed = text.slots.compactMap(\.keyRange)
            guard !keyed.isEmpty else { return insertLine(Array("\(rng.pick(EdgeValues.keys)): x".utf8), text, &rng) }
            out.replaceSubrange(rng.pick(keyed), with: Array(rng.pick(EdgeValues.keys).utf8))
        case .boundaryScalar:
            let value: [UInt8]
            if rng.chance(10) {
                let length = rng.pick(EdgeValues.longStringLengths + [YAMLParser.maxBytes + 1])
                let quote: [UInt8] = rng.chance(50) ? [UInt8(ascii: "\"")] : []
                let unit = Array(rng.pick(["a", "é", "🚀", "x "]).utf8)
                value = quote + Array(Array(repeating: unit, count: length / unit.count).joined()) + quote
            } else {
                value = rng.pick(EdgeValues.scalars)
            }
            out = replaceValue(in: text, with: value, &rng)
        case .reindent:
            let line = rng.pick(text.lines)
            let indent = text.indentation(ofLine: text.lines.firstIndex(of: line)!)
            let newIndent = rng.chance(50) ? max(0, indent + rng.pick([-2, -1, 1, 2])) : rng.within(0...12)
            out.replaceSubrange(line.lowerBound..<(line.lowerBound + indent), with: Array(repeating: UInt8(ascii: " "), count: newIndent))
        case .insertTab:
            let line = rng.pick(text.lines)
            let indent = text.indentation(ofLine: text.lines.firstIndex(of: line)!)
            let at = rng.pick([line.lowerBound, line.lowerBound + indent, line.lowerBound + rng.below(line.count + 1)])
            out.insert(contentsOf: rng.chance(70) ? [0x09] : [0x09, 0x09], at: at)
        case .nodeProperty:
            let property = rng.pick(["&a ", "*a", "!!str ", "!!int ", "!local ", "!<tag:yaml.org,2002:str> ", "&a [x] ", "<<: *a", "? "])
            let slot = text.slots.isEmpty ? nil : rng.pick(text.slots)
            out.insert(contentsOf: Array(property.utf8), at: slot?.valueRange.lowerBound ?? rng.below(out.count + 1))
        case .deepNesting:
            out = replaceValue(in: text, with: nesting(&rng), &rng)
        case .template:
            let template = rng.pick(EdgeValues.templates)
            let aimed = text.slots.filter { ["command", "cwd"].contains($0.key) || ($0.key?.first?.isUppercase ?? false) }
            if let slot = aimed.isEmpty ? nil : rng.pick(aimed),
                rng.chance(50), slot.valueRange.count > 1, out[slot.valueRange.lowerBound] == UInt8(ascii: "\"")
            {
                out.insert(contentsOf: Array(template.utf8), at: slot.valueRange.lowerBound + 1)
            } else {
                let value = Array("\"x\(template)y\"".utf8)
                if let slot = aimed.isEmpty ? nil : rng.pick(aimed) {
                    out.replaceSubrange(slot.valueRange, with: value)
                } else {
                    out = setKey(rng.pick(["command", "cwd"]), value, text, &rng)
                }
            }
        case .durationEdge:
            out = setKey(rng.pick(EdgeValues.durationKeys), Array(rng.pick(EdgeValues.durations).utf8), text, &rng)
        case .regexEdge:
            let pattern = Array(singleQuoted(rng.pick(EdgeValues.regexes)).utf8)
            let filters = text.slots.filter { $0.key == "include" || $0.key == "exclude" }
            if let slot = filters.isEmpty || rng.chance(30) ? nil : rng.pick(filters) {
                out.replaceSubrange(slot.valueRange, with: [UInt8(ascii: "[")] + pattern + [UInt8(ascii: "]")])
            } else {
                let stream = rng.pick(["stdout", "stderr"])
                let list = rng.pick(["include", "exclude"])
                out = insertLine(Array("log: {\(stream): {\(list): [".utf8) + pattern + Array("]}}".utf8), text, &rng)
            }
        case .signalName:
            let name = Array(rng.pick(EdgeValues.signals).utf8)
            let signals = text.slots.filter { $0.key == "signal" }
            if let slot = signals.isEmpty || rng.chance(20) ? nil : rng.pick(signals) {
                out.replaceSubrange(slot.valueRange, with: name)
            } else {
                out = insertLine(Array("shutdown: {signal: ".utf8) + name + [UInt8(ascii: "}")], text, &rng)
            }
        case .invalidUTF8:
            let slot = text.slots.isEmpty || rng.chance(30) ? nil : rng.pick(text.slots)
            let at = slot.map { $0.valueRange.lowerBound + rng.below($0.valueRange.count + 1) } ?? rng.below(out.count + 1)
            out.insert(contentsOf: rng.pick(EdgeValues.invalidUTF8), at: at)
        }
        return out
    }

    /// A line with at least one byte, if any.
    private func nonEmptyLine(_ text: ManifestText, _ rng: inout SplitMix64) -> Range<Int>? {
        let lines = text.lines.filter { !$0.isEmpty }
        return lines.isEmpty ? nil : rng.pick(lines)
    }

    /// Replaces a random slot's value, or appends `edge: VALUE` when there is none.
    private func replaceValue(in text: ManifestText, with value: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var out = text.bytes
        let slots = text.slots
        guard !slots.isEmpty else { return out + Array("\nedge: ".utf8) + value }
        out.replaceSubrange(rng.pick(slots).valueRange, with: value)
        return out
    }

    /// Sets `key` to `value`: replaces an existing occurrence of the key, else adds the key
    /// next to a job's `name:`.
    private func setKey(_ key: String, _ value: [UInt8], _ text: ManifestText, _ rng: inout SplitMix64) -> [UInt8] {
        let existing = text.slots.filter { $0.key == key }
        guard existing.isEmpty || rng.chance(15) else {
            var out = text.bytes
            out.replaceSubrange(rng.pick(existing).valueRange, with: value)
            return out
        }
        return insertLine(Array("\(key): ".utf8) + value, text, &rng)
    }

    /// Inserts `line` as a sibling of a job's `name:` key (same indentation), or at the top
    /// level when no job is found.
    private func insertLine(_ line: [UInt8], _ text: ManifestText, _ rng: inout SplitMix64) -> [UInt8] {
        var out = text.bytes
        let names = text.nameLines
        guard !names.isEmpty else {
            let needsBreak = !(out.last.map { $0 == UInt8(ascii: "\n") } ?? true)
            return out + (needsBreak ? [UInt8(ascii: "\n")] : []) + line + [UInt8(ascii: "\n")]
        }
        let lineNumber = rng.pick(names)
        let range = text.lines[lineNumber]
        let slotStart = text.slots.first { $0.line == lineNumber && $0.key == "name" }?.keyRange?.lowerBound ?? range.lowerBound
        let indent = Array(repeating: UInt8(ascii: " "), count: slotStart - range.lowerBound)
        let insertAt = min(range.upperBound + 1, out.count)
        let prefix: [UInt8] = insertAt == out.count && out.last != UInt8(ascii: "\n") ? [UInt8(ascii: "\n")] : []
        out.insert(contentsOf: prefix + indent + line + [UInt8(ascii: "\n")], at: insertAt)
        return out
    }

    /// Nested collections around the depth limit: flow lists, flow mappings, unclosed
    /// brackets, or an indented block burst.
    private func nesting(_ rng: inout SplitMix64) -> [UInt8] {
        let depth = rng.pick([8, YAMLParser.maxDepth - 1, YAMLParser.maxDepth, YAMLParser.maxDepth + 1, 200, 1_000])
        switch rng.below(4) {
        case 0:
            return Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
        case 1:
            return Array(String(repeating: "{a: ", count: depth).utf8) + [UInt8(ascii: "x")]
                + Array(repeating: UInt8(ascii: "}"), count: depth)
        case 2:
            return Array(repeating: UInt8(ascii: "["), count: depth)
        default:
            var block: [UInt8] = []
            for level in 0..<min(depth, 200) {
                block += [UInt8(ascii: "\n")] + Array(repeating: UInt8(ascii: " "), count: 2 * level + 2) + Array("k:".utf8)
            }
            return block + Array(" v".utf8)
        }
    }

    /// `'text'` with inner quotes doubled, as YAML writes them.
    private func singleQuoted(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
    }
}
