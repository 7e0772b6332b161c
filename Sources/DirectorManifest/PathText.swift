/// Lexical path handling (no file system access): joining and normalising.
enum PathText {
    /// `path` when absolute, else `base/path`; `.` and `..` segments are folded lexically.
    /// Templates such as `{{job}}` survive untouched.
    static func resolve(_ path: String, against base: String) -> String {
        normalize(path.hasPrefix("/") ? path : base + "/" + path)
    }

    /// Removes empty and `.` segments and folds `..` (never above `/`).
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for segment in path.split(separator: "/") {
            switch segment {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(segment)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The last path component.
    static func baseName(_ path: String) -> String {
        String(path.split(separator: "/").last ?? Substring(path))
    }

    /// Everything before the last component; `.` when there is none.
    static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
