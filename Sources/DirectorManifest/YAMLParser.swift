import CYAML

/// Turns YAML text into one ``YAMLNode`` tree using libyaml's event API.
///
/// The manifest language uses a safe subset of YAML: one document per file, no anchors,
/// aliases or tags, no duplicate keys, at most ``maxDepth`` levels of nesting and at most
/// ``maxBytes`` bytes. Everything else is an error with a file:line:column.
public enum YAMLParser {
    /// Files larger than this (1 MiB) are rejected before parsing.
    public static let maxBytes = 1 << 20
    /// Collections nested deeper than this are rejected (a manifest needs about 10).
    public static let maxDepth = 64

    /// Parses one document. Throws every problem found; syntax errors stop at the first one.
    public static func parse(_ bytes: [UInt8], file: String) throws(ManifestErrors) -> YAMLNode {
        let start = SourceLocation(file: file, line: 1, column: 1)
        guard bytes.count <= maxBytes else {
            throw ManifestErrors([ManifestError(.tooLarge, at: start,
                "file is \(bytes.count) bytes; manifests are limited to \(maxBytes) bytes (1 MiB)")])
        }
        var builder = TreeBuilder(events: EventStream(bytes: bytes, file: file))
        do {
            let root = try builder.document()
            if builder.errors.isEmpty { return root }
        } catch {
            builder.errors.append(error)
        }
        throw ManifestErrors(builder.errors)
    }

    /// Parses a Swift string (always valid UTF-8).
    public static func parse(_ text: String, file: String) throws(ManifestErrors) -> YAMLNode {
        try parse(Array(text.utf8), file: file)
    }
}

/// One libyaml event, copied out of C memory.
private struct Event {
    enum Kind { case streamStart, streamEnd, documentStart, documentEnd, alias, scalar, sequenceStart, sequenceEnd, mappingStart, mappingEnd }
    var kind: Kind
    var location: SourceLocation
    var text = ""
    var style = YAMLNode.ScalarStyle.plain
    var hasAnchor = false
    var hasTag = false
}

/// Owns a libyaml parser and the input it reads (libyaml keeps a pointer to it).
private final class EventStream {
    let file: String
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>

    init(bytes: [UInt8], file: String) {
        self.file = file
        parser = .allocate(capacity: 1)
        yaml_parser_initialize(parser)
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    func next() throws(ManifestError) -> Event {
        var raw = yaml_event_t()
        guard yaml_parser_parse(parser, &raw) == 1 else { throw syntaxError() }
        defer { yaml_event_delete(&raw) }
        var event = Event(kind: .streamEnd, location: location(raw.start_mark))
        switch raw.type {
        case YAML_STREAM_START_EVENT: event.kind = .streamStart
        case YAML_STREAM_END_EVENT: event.kind = .streamEnd
        case YAML_DOCUMENT_START_EVENT: event.kind = .documentStart
        case YAML_DOCUMENT_END_EVENT: event.kind = .documentEnd
        case YAML_ALIAS_EVENT: event.kind = .alias
        case YAML_SCALAR_EVENT:
            let s = raw.data.scalar
            event.kind = .scalar
            event.text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
            event.style = s.style == YAML_PLAIN_SCALAR_STYLE ? .plain : .quoted
            event.hasAnchor = s.anchor != nil
            event.hasTag = s.tag != nil
        case YAML_SEQUENCE_START_EVENT:
            event.kind = .sequenceStart
            event.hasAnchor = raw.data.sequence_start.anchor != nil
            event.hasTag = raw.data.sequence_start.tag != nil
        case YAML_SEQUENCE_END_EVENT: event.kind = .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            event.kind = .mappingStart
            event.hasAnchor = raw.data.mapping_start.anchor != nil
            event.hasTag = raw.data.mapping_start.tag != nil
        case YAML_MAPPING_END_EVENT: event.kind = .mappingEnd
        default: throw ManifestError(.syntax, at: event.location, "unexpected YAML event")
        }
        return event
    }

    private func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: mark.line + 1, column: mark.column + 1)
    }

    /// libyaml's problem text and mark; reader errors (bad UTF-8) only carry a byte offset.
    private func syntaxError() -> ManifestError {
        let p = parser.pointee
        var message = p.problem.map { String(cString: $0) } ?? "invalid YAML"
        if p.error == YAML_READER_ERROR {
            if p.problem_value != -1 {
                // Character problems carry a code point, octet problems a byte.
                let isCodePoint = message.contains("character")
                let hex = String(p.problem_value, radix: 16, uppercase: isCodePoint)
                message += isCodePoint
                    ? " (U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex))"
                    : " (byte 0x\(hex))"
            }
            return ManifestError(.syntax, at: location(ofOffset: p.problem_offset), message)
        }
        if let context = p.context { message += " \(String(cString: context))" }
        return ManifestError(.syntax, at: location(p.problem_mark), message)
    }

    /// Counts lines as libyaml's marks do (`\r\n`, `\r`, `\n`, NEL, LS, PS each end a line),
    /// so reader errors use the same line numbers as every other error.
    private func location(ofOffset offset: Int) -> SourceLocation {
        let bytes = UnsafeBufferPointer(rebasing: input[..<min(offset, input.count)])
        var line = 1
        var column = 1
        var i = 0
        while i < bytes.count {
            let breakLength = YAMLLineBreak.length(at: i, in: bytes)
            if breakLength > 0 {
                line += 1
                column = 1
                i += breakLength
                continue
            }
            if bytes[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return SourceLocation(file: file, line: line, column: column)
    }
}

/// Builds the node tree from events, collecting the problems that do not stop parsing.
private struct TreeBuilder {
    let events: EventStream
    var errors: [ManifestError] = []

    init(events: EventStream) { self.events = events }

    mutating func document() throws(ManifestError) -> YAMLNode {
        _ = try events.next()  // stream start
        let first = try events.next()
        guard first.kind == .documentStart else {
            throw ManifestError(.invalidValue, at: first.location,
                "the file is empty; expected a mapping with `jobs`")
        }
        let root = try node(try events.next(), depth: 1, path: "")
        _ = try events.next()  // document end
        let after = try events.next()
        if after.kind == .documentStart {
            throw ManifestError(.unsupportedYAML, at: after.location,
                "a manifest file holds one YAML document; found a second one")
        }
        return root
    }

    private mutating func node(_ event: Event, depth: Int, path: String) throws(ManifestError) -> YAMLNode {
        let at = event.location
        if event.kind == .alias {
            throw ManifestError(.unsupportedYAML, at: at, keyPath: path, "aliases are not supported")
        }
        if event.hasAnchor {
            throw ManifestError(.unsupportedYAML, at: at, keyPath: path, "anchors and aliases are not supported")
        }
        if event.hasTag {
            throw ManifestError(.unsupportedYAML, at: at, keyPath: path, "YAML tags (`!...`) are not supported")
        }
        switch event.kind {
        case .scalar:
            return YAMLNode(.scalar(event.text, event.style), at: at)
        case .sequenceStart:
            try checkDepth(depth, at: at, path: path)
            var items: [YAMLNode] = []
            while true {
                let next = try events.next()
                if next.kind == .sequenceEnd { break }
                items.append(try node(next, depth: depth + 1, path: "\(path)[\(items.count)]"))
            }
            return YAMLNode(.sequence(items), at: at)
        case .mappingStart:
            try checkDepth(depth, at: at, path: path)
            var pairs: [YAMLNode.Pair] = []
            var seen: [String: SourceLocation] = [:]
            while true {
                let keyEvent = try events.next()
                if keyEvent.kind == .mappingEnd { break }
                let key = try node(keyEvent, depth: depth + 1, path: path)
                let keyText = key.scalarText ?? ""
                let childPath = KeyPath.child(path, keyText)
                let value = try node(try events.next(), depth: depth + 1, path: childPath)
                guard key.scalarText != nil else {
                    errors.append(ManifestError(.wrongType, at: key.location, keyPath: path,
                        "mapping keys must be plain strings, not \(key.kindDescription)"))
                    continue
                }
                if let first = seen[keyText] {
                    errors.append(ManifestError(.duplicateKey, at: key.location, keyPath: childPath,
                        "duplicate key `\(keyText)` (first at line \(first.line), column \(first.column))"))
                    continue
                }
                seen[keyText] = key.location
                pairs.append(YAMLNode.Pair(key: key, value: value))
            }
            return YAMLNode(.mapping(pairs), at: at)
        default:
            throw ManifestError(.syntax, at: at, keyPath: path, "unexpected YAML structure")
        }
    }

    private func checkDepth(_ depth: Int, at: SourceLocation, path: String) throws(ManifestError) {
        if depth > YAMLParser.maxDepth {
            throw ManifestError(.tooDeep, at: at, keyPath: path,
                "nested deeper than \(YAMLParser.maxDepth) levels")
        }
    }
}

/// Builds key paths such as `jobs[0].backoff.initial`.
enum KeyPath {
    /// `parent.key`, or `key` at the top.
    static func child(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }
    /// `parent[index]`.
    static func item(_ parent: String, _ index: Int) -> String { "\(parent)[\(index)]" }
}

/// Line breaks as libyaml counts them: `\r\n`, `\r`, `\n`, NEL (U+0085), LS (U+2028) and
/// PS (U+2029) each end a line. Every error location, and the fuzzer's check of them, uses
/// this one rule.
public enum YAMLLineBreak {
    /// The byte length of the line break starting at `i`, or 0 when none starts there.
    public static func length<C: RandomAccessCollection>(at i: C.Index, in bytes: C) -> Int
    where C.Element == UInt8, C.Index == Int {
        let end = bytes.endIndex
        switch bytes[i] {
        case 0x0A: return 1
        case 0x0D: return i + 1 < end && bytes[i + 1] == 0x0A ? 2 : 1
        case 0xC2 where i + 1 < end && bytes[i + 1] == 0x85: return 2
        case 0xE2 where i + 2 < end && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9): return 3
        default: return 0
        }
    }
}
