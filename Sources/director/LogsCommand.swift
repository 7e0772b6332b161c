#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DirectorManifest
import DirectorRuntime
import DirectorTable

/// `director logs [ID|PREFIX...]`: children's lines from `<state>/logs`, merged by time.
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print children's output from their log files, merged by time.",
        discussion: Manual.logs
    )

    @Argument(help: ArgumentHelp("Child ids, prefixes or all.", valueName: "id"))
    var ids: [String] = []

    @OptionGroup var stateOptions: StateOptions

    @Flag(name: [.customShort("f"), .long], help: "Keep printing new lines as they are written.")
    var follow = false

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Only the last N lines (of all selected children).", valueName: "n"))
    var lines: Int?

    @Option(name: .long, help: ArgumentHelp("Only lines since a duration ago (10m) or a time (RFC 3339).", valueName: "when"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only stdout or stderr.", valueName: "stream"))
    var stream: StreamOption?

    @Flag(name: .long, help: "One JSON object per line: at, id, stream, msg.")
    var json = false

    enum StreamOption: String, ExpressibleByArgument, CaseIterable { case stdout, stderr }

    func validate() throws {
        if let lines, lines < 0 { throw ValidationError("-n must be 0 or more") }
        if let since, Self.sinceMillis(since, now: 0) == nil {
            throw ValidationError("--since needs a duration with a unit (10m) or an RFC 3339 time")
        }
    }

    /// `--since` as ms since the epoch: `now` minus a duration, or a time.
    static func sinceMillis(_ text: String, now: Int64) -> Int64? {
        if case .success(let d) = DurationText.parse(text) {
            let (s, a) = d.components
            return now - s * 1000 - a / 1_000_000_000_000_000
        }
        return RFC3339.parse(text)
    }

    func run() throws {
        let directory = stateOptions.state + "/logs"
        let chosen = try LogDirectory.select(LogDirectory.ids(in: directory), by: ids)
        let cutoff = since.flatMap { Self.sinceMillis($0, now: SystemClock.wallMilliseconds()) }.map(RFC3339.format)
        let keep = { (line: LogLine) -> Bool in
            if let stream, line.stream != stream.rawValue { return false }
            if let cutoff, line.at < cutoff { return false }
            return true
        }
        var all: [LogLine] = []
        var followers: [String: LogFollower] = [:]
        for id in chosen {
            for path in LogDirectory.files(of: id, in: directory) {
                if follow && path.hasSuffix(".log") {
                    let follower = LogFollower(path: path, id: id)
                    all += follower.poll().filter(keep)
                    followers[id] = follower
                } else if let bytes = LogDirectory.readAll(path) {
                    all += Self.parse(bytes[...], id: id).filter(keep)
                }
            }
        }
        // RFC 3339 with milliseconds in UTC has one width: text order is time order. Stable,
        // so one child's lines of one millisecond keep their order.
        all = all.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        if let lines { all = Array(all.suffix(lines)) }
        show(all)
        guard follow else { return }
        Self.letInterruptsEnd()
        var turns = 0
        while true {
            usleep(200_000)
            turns += 1
            // New children (a scale, a reload) get files of their own: look every second.
            if turns % 5 == 0, ids.isEmpty || !ids.allSatisfy({ ChildID($0) != nil }) {
                let now = (try? LogDirectory.select(LogDirectory.ids(in: directory), by: ids)) ?? []
                for id in now where followers[id] == nil {
                    followers[id] = LogFollower(path: directory + "/" + id + ".log", id: id)
                }
            }
            var fresh: [LogLine] = []
            for id in followers.keys.sorted() { fresh += followers[id]!.poll().filter(keep) }
            show(fresh.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element))
        }
    }

    /// `-f` runs until SIGINT or SIGTERM. A parent may have left them blocked or ignored
    /// (both are inherited through exec), which would make it unstoppable but by SIGKILL.
    static func letInterruptsEnd() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    private func show(_ lines: [LogLine]) {
        guard !lines.isEmpty else { return }
        writeAll(fd: 1, lines.map { (json ? $0.json : $0.rendered) + "\n" }.joined())
    }

    static func parse(_ bytes: ArraySlice<UInt8>, id: String) -> [LogLine] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { LogLine($0, id: id) }
    }
}

/// Follows one child's `<id>.log` by name: what is appended is read; when the name points to
/// another file (rotated, or re-created by a new daemon) the old one is read to its end and
/// the new one from its start; a file that shrank (truncated) is read again from the start.
final class LogFollower {
    let path: String
    let id: String
    private var fd: Int32 = -1
    private var inode: UInt64 = 0
    private var partial: [UInt8] = []

    init(path: String, id: String) {
        self.path = path
        self.id = id
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The complete lines written since the last poll.
    func poll() -> [LogLine] {
        var out: [LogLine] = []
        if fd >= 0 {
            out += take(LogDirectory.readToEnd(fd))
            var now = stat(), mine = stat()
            let moved = stat(path, &now) != 0 || UInt64(now.st_ino) != inode
            let shrank = fstat(fd, &mine) == 0 && lseek(fd, 0, SEEK_CUR) > mine.st_size
            if shrank { lseek(fd, 0, SEEK_SET) }
            if moved {
                close(fd)
                fd = -1
                partial = []
            }
        }
        if fd < 0 {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return out }
            var st = stat()
            inode = fstat(fd, &st) == 0 ? UInt64(st.st_ino) : 0
            out += take(LogDirectory.readToEnd(fd))
        }
        return out
    }

    private func take(_ bytes: [UInt8]) -> [LogLine] {
        guard !bytes.isEmpty else { return [] }
        partial += bytes
        guard let last = partial.lastIndex(of: 0x0A) else { return [] }
        let complete = partial[...last]
        partial = Array(partial[(last + 1)...])
        return LogsCommand.parse(complete, id: id)
    }
}
