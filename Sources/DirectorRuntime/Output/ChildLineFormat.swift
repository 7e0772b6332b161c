import DirectorTable

/// How a child's line is written to a supervisor's stdout (`ChildOutput.standardOutput`).
///
/// The plain format, `web/api/0 stdout: listening`, is what an embedder gets by default;
/// `director run` adds the time (the daemon's own lines on stderr have it too), writes JSON
/// objects under `--log-format json` and colours the id on a terminal.
public struct ChildLineFormat: Sendable, Hashable {
    /// Start each line with the time it was read, RFC 3339 UTC with milliseconds.
    public var timestamps: Bool
    /// One JSON object per line, `{"at":…,"id":…,"stream":…,"msg":…}` (`"cut":true` for a
    /// line cut at 64 KiB), the keys of the daemon's own JSON lines, for log shippers.
    public var json: Bool
    /// Colour the id (ANSI), the same colour for an id every time. Ignored with `json`.
    public var color: Bool

    /// Creates a format.
    public init(timestamps: Bool = false, json: Bool = false, color: Bool = false) {
        self.timestamps = timestamps
        self.json = json
        self.color = color
    }

    /// `<id> <stream>: <line>`, as before timestamps existed.
    public static let plain = ChildLineFormat()

    /// The line as written (without the newline). `at`: when it was read, ms since the epoch.
    public func render(id: String, stream: ChildStream, text: String, cut: Bool, at: Int64) -> String {
        if json {
            var fields: [(String, JSONValue)] = [
                ("at", .string(RFC3339.format(at))), ("id", .string(id)), ("stream", .string(stream.rawValue)),
                ("msg", .string(text)),
            ]
            if cut { fields.append(("cut", .bool(true))) }
            return JSONValue.object(fields).serialized()
        }
        var out = timestamps ? RFC3339.format(at) + " " : ""
        if color {
            out += "\u{1B}[\(Self.colour(of: id))m\(id)\u{1B}[0m"
        } else {
            out += id
        }
        return out + " \(stream.rawValue): \(text)\(cut ? OutputPipe.cutMarker : "")"
    }

    /// One of six ANSI foreground colours (31–36), chosen by a hash of the id that does not
    /// change between runs (Swift's `hashValue` does), so a child keeps its colour.
    static func colour(of id: String) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in id.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return 31 + Int(hash % 6)
    }
}
