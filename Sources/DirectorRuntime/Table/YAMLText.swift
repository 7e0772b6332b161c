import DirectorTable

/// Renders a JSON value as block YAML for people (`director spec`). Lists of scalars stay on
/// one line (`[a, b]`); strings are quoted whenever plain YAML could read them differently.
package enum YAMLText {
    package static func render(_ value: JSONValue) -> String {
        var out = ""
        emit(value, indent: 0, into: &out)
        return out
    }

    private static func emit(_ value: JSONValue, indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        switch value {
        case .object(let members):
            for (key, v) in members {
                out += pad + scalar(.string(key)) + ":"
                if isBlock(v) {
                    out += "\n"
                    emit(v, indent: indent + 2, into: &out)
                } else {
                    out += " " + inline(v) + "\n"
                }
            }
        case .array(let items):
            for item in items {
                if isBlock(item) {
                    var nested = ""
                    emit(item, indent: indent + 2, into: &nested)
                    // The first line of the item goes after "- ".
                    out += pad + "- " + nested.dropFirst(indent + 2)
                } else {
                    out += pad + "- " + inline(item) + "\n"
                }
            }
        default:
            out += pad + inline(value) + "\n"
        }
    }

    /// Objects with members and lists holding objects or lists go on their own lines.
    private static func isBlock(_ v: JSONValue) -> Bool {
        switch v {
        case .object(let m): !m.isEmpty
        case .array(let items): items.contains { if case .object = $0 { true } else if case .array = $0 { true } else { false } }
        default: false
        }
    }

    private static func inline(_ v: JSONValue) -> String {
        switch v {
        case .object(let m) where m.isEmpty: "{}"
        case .array(let items): "[" + items.map(inline).joined(separator: ", ") + "]"
        default: scalar(v)
        }
    }

    private static func scalar(_ v: JSONValue) -> String {
        guard case .string(let s) = v else { return v.serialized() }
        let special = ":#{}[],&*!|>'\"%@`\\"
        let plainSafe = !s.isEmpty && s.first != " " && s.last != " " && s.first != "-" && s.first != "?"
            && !s.contains(where: { special.contains($0) || $0 == "\n" || $0 == "\t" })
            && !["true", "false", "null", "~", "yes", "no", "on", "off"].contains(s.lowercased())
            && Double(s) == nil && Int(s) == nil
        return plainSafe ? s : JSONValue.string(s).serialized()
    }
}
