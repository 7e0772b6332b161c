/// A YAML node as the manifest language sees it: scalars keep their text and whether they were
/// quoted (so `"5"` stays a string while `5` is a number); mappings keep their key order.
/// Every node knows where it was written.
public struct YAMLNode: Sendable, Hashable {
    /// How a scalar was written.
    public enum ScalarStyle: Sendable, Hashable {
        /// Unquoted: `5`, `true`, `~` and friends are typed by their text.
        case plain
        /// Single or double quoted, literal `|` or folded `>`: always a string.
        case quoted
    }

    /// One `key: value` entry of a mapping.
    public struct Pair: Sendable, Hashable {
        /// The key node (always a scalar once parsed).
        public var key: YAMLNode
        /// The value node.
        public var value: YAMLNode

        /// Creates an entry.
        public init(key: YAMLNode, value: YAMLNode) {
            self.key = key
            self.value = value
        }
    }

    /// The node's content.
    public enum Content: Sendable, Hashable {
        /// A scalar's text and style.
        case scalar(String, ScalarStyle)
        /// Items in order.
        case sequence([YAMLNode])
        /// Entries in order.
        case mapping([Pair])
    }

    /// The content.
    public var content: Content
    /// Where the node starts.
    public var location: SourceLocation

    /// Creates a node.
    public init(_ content: Content, at location: SourceLocation) {
        self.content = content
        self.location = location
    }

    /// The scalar's text, or nil for collections.
    public var scalarText: String? {
        if case .scalar(let text, _) = content { return text }
        return nil
    }

    /// True for an unquoted `~`, `null`, `Null`, `NULL` or empty scalar.
    public var isNull: Bool {
        guard case .scalar(let text, .plain) = content else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(text)
    }

    /// A word for error messages: "a string", "a list", ...
    public var kindDescription: String {
        switch content {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .scalar(_, .quoted): return "a string"
        case .scalar(let text, .plain):
            if isNull { return "null" }
            if PlainScalar.bool(text) != nil { return "a boolean" }
            if PlainScalar.int(text) != nil { return "an integer" }
            if PlainScalar.double(text) != nil { return "a number" }
            return "a string"
        }
    }
}

/// How unquoted scalars are typed (the YAML 1.2 core schema, minus octal/hex and `.inf`).
enum PlainScalar {
    /// `true`/`false` in lower, title or upper case.
    static func bool(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    /// A decimal integer with an optional sign.
    static func int(_ text: String) -> Int? {
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// A finite decimal number (`2`, `0.5`, `1e3`); no `.inf`/`.nan`.
    static func double(_ text: String) -> Double? {
        guard let first = text.first, first.isNumber || first == "-" || first == "+" || first == "." else {
            return nil
        }
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }
}
