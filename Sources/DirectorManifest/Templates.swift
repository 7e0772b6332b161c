/// The `{{...}}` templates of command, env values and cwd.
public enum Template {
    /// The variable names a template may use.
    public static let variables: Set<String> = ["instance", "id", "job", "group"]

    /// True when `text` holds `{{`, the start of a placeholder. Every spawn asks this of its
    /// argv, cwd and env values: a scan of the UTF-8 bytes, where `String.contains(_:)` (the
    /// generic string search) was 2 % of the daemon's CPU in a restart storm.
    @inline(__always)
    public static func hasPlaceholder(_ text: String) -> Bool {
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "{") && previous == byte { return true }
            previous = byte
        }
        return false
    }

    /// Replaces `{{instance}}`, `{{id}}`, `{{job}}` and `{{group}}` for one child.
    /// Unknown names never reach here: the loader rejects them.
    public static func expand(_ text: String, for id: ChildID) -> String {
        guard hasPlaceholder(text) else { return text }
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: " ")
            switch name {
            case "instance": out += String(id.instance)
            case "id": out += id.description
            case "job": out += id.job
            case "group": out += id.group
            default: out += rest[open.lowerBound..<close.upperBound]
            }
            rest = rest[close.upperBound...]
        }
        out += rest
        return out
    }

    /// The variable names used in `text`, in order of appearance.
    public static func names(in text: String) -> [String] {
        var found: [String] = []
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{"), let close = rest[open.upperBound...].firstRange(of: "}}") {
            found.append(String(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: " ")))
            rest = rest[close.upperBound...]
        }
        return found
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return s
    }
}
