#if canImport(Glibc)
import Glibc
#endif
import DirectorTable

/// One line of a child's log file, `<RFC 3339 time> <stream> <text>` (see `ChildLogFiles`);
/// the daemon's own notices in it (`... director: N lines dropped`) have the stream `director`.
struct LogLine {
    var at: String
    var id: String
    var stream: String
    var text: String

    init?(_ line: Substring, id: String) {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].count == 24 else { return nil }
        at = String(parts[0])
        self.id = id
        stream = parts[1].hasSuffix(":") ? String(parts[1].dropLast()) : String(parts[1])
        text = parts.count > 2 ? String(parts[2]) : ""
    }

    /// `TIME ID STREAM: TEXT`, as the daemon prints children's lines.
    var rendered: String { "\(at) \(id) \(stream): \(text)" }

    /// `{"at":…,"id":…,"stream":…,"msg":…}`, the daemon's JSON child lines.
    var json: String {
        JSONValue.object([("at", .string(at)), ("id", .string(id)), ("stream", .string(stream)), ("msg", .string(text))]).serialized()
    }
}

/// The log files under `<state>/logs`: `<id>.log` and its rotated `<id>.log.1` … (older first
/// when read).
enum LogDirectory {
    /// Every child id with a current or rotated file, sorted.
    static func ids(in directory: String) -> [String] {
        var found = Set<String>()
        walk(directory, relative: "") { name in
            if name.hasSuffix(".log") {
                found.insert(String(name.dropLast(4)))
            } else if let dot = name.lastIndex(of: "."), Int(name[name.index(after: dot)...]) != nil,
                name[..<dot].hasSuffix(".log")
            {
                found.insert(String(name[..<dot].dropLast(4)))
            }
        }
        return found.sorted()
    }

    /// The files of `id`, oldest first: `.log.N` … `.log.1`, `.log`.
    static func files(of id: String, in directory: String) -> [String] {
        let base = directory + "/" + id + ".log"
        var rotated: [Int] = []
        let parent = String(base[..<(base.lastIndex(of: "/") ?? base.endIndex)])
        let stem = String(base[base.index(after: base.lastIndex(of: "/") ?? base.startIndex)...])
        for name in entries(parent) where name.hasPrefix(stem + ".") {
            if let n = Int(name.dropFirst(stem.count + 1)) { rotated.append(n) }
        }
        return rotated.sorted(by: >).map { base + ".\($0)" } + [base]
    }

    /// Whole-segment selection, as the daemon's: `web` selects `web/api/0`, `all` everything.
    static func select(_ ids: [String], by selectors: [String]) throws -> [String] {
        guard !selectors.isEmpty, !selectors.contains("all") else { return ids }
        var chosen: [String] = []
        for selector in selectors {
            let wanted = selector.hasSuffix("/") ? String(selector.dropLast()) : selector
            let matched = ids.filter { $0 == wanted || $0.hasPrefix(wanted + "/") }
            guard !matched.isEmpty else { throw UserError("no child matches \(selector) (no log file)") }
            for id in matched where !chosen.contains(id) { chosen.append(id) }
        }
        return chosen
    }

    static func readAll(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readToEnd(fd)
    }

    static func readToEnd(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        return bytes
    }

    static func entries(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private static func walk(_ directory: String, relative: String, _ visit: (String) -> Void) {
        for name in entries(directory) {
            let path = directory + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                walk(path, relative: rel, visit)
            } else if (st.st_mode & S_IFMT) == S_IFREG {
                visit(rel)
            }
        }
    }
}
