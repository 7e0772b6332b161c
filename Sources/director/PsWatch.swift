#if canImport(Glibc)
import Glibc
#endif
import DirectorRuntime
import DirectorTable

/// `director ps --watch`: a frame every interval until SIGINT or SIGTERM, which end it with
/// status 0 (the operator's way out, as for watch(1)).
///
/// On a terminal each frame is drawn in place from the top left (lines cleared to their end,
/// then the rest of the screen), cut to the terminal's width and height so that it never
/// scrolls, with the cursor hidden while it runs; elsewhere (a pipe, a file) frames follow one
/// another, each under its header line and followed by a blank line, so a log keeps them all.
struct PsWatch {
    var source: PsSource
    var view: PsView
    var intervalMilliseconds: Int64
    /// The command line, for the header.
    var arguments: String

    func run() throws {
        let terminal = isatty(1) == 1
        // The first frame must work: a wrong prefix or a missing table is an error, as without
        // --watch. Later ones show what went wrong in place and go on (a daemon that is being
        // restarted, a child that comes back).
        var previous = try source.read(sampling: true, storedJSON: view.json)
        WatchSignals.install(terminal: terminal)
        if terminal { writeAll(fd: 1, Terminal.hideCursor) }
        var text = view.render(previous, previous: nil)
        while true {
            let header = "every \(Self.interval(intervalMilliseconds)): \(arguments)  \(RFC3339.format(previous.now))\n"
            if view.json {
                writeAll(fd: 1, text)
            } else if terminal {
                writeAll(fd: 1, Terminal.frame(header + "\n" + text, size: Terminal.size()))
            } else {
                writeAll(fd: 1, header + text + "\n")
            }
            usleep(useconds_t(intervalMilliseconds * 1000))
            do {
                let frame = try source.read(sampling: true, storedJSON: view.json)
                text = view.render(frame, previous: previous)
                previous = frame
            } catch let error as UserError {
                text = "director: \(error.message)\n"
            }
        }
    }
}

extension PsWatch {
    /// `500ms`, `2s`, `1.5s`, as the header shows the interval.
    static func interval(_ ms: Int64) -> String {
        if ms < 1000 { return "\(ms)ms" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms / 1000).\(ms % 1000 / 100)s"
    }
}

/// The few terminal sequences `--watch` uses, and the screen's size.
enum Terminal {
    static let hideCursor = "\u{1B}[?25l"
    static let showCursor = "\u{1B}[?25h"

    /// Rows and columns of the terminal on stdout (24×80 when it does not say).
    static func size() -> (rows: Int, columns: Int) {
        var w = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &w) == 0, w.ws_row > 0, w.ws_col > 0 else { return (24, 80) }
        return (Int(w.ws_row), Int(w.ws_col))
    }

    /// `text` drawn from the top left: each line cut to `columns` visible characters and
    /// cleared to its end, at most `rows - 1` lines (the last says how many more there are),
    /// then the rest of the screen cleared.
    static func frame(_ text: String, size: (rows: Int, columns: Int)) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let room = max(size.rows - 1, 1)
        if lines.count > room {
            let more = lines.count - (room - 1)
            lines = Array(lines.prefix(room - 1)) + ["… \(more) more lines (a PREFIX or --only shows fewer)"]
        }
        var out = "\u{1B}[H"
        for line in lines { out += cut(line, to: size.columns) + "\u{1B}[K\n" }
        return out + "\u{1B}[J"
    }

    /// `line` cut to `columns` visible characters; SGR sequences are kept and do not count.
    static func cut(_ line: String, to columns: Int) -> String {
        var out = ""
        var visible = 0
        var inEscape = false
        var cutShort = false
        for ch in line {
            if inEscape {
                out.append(ch)
                if ch.isLetter { inEscape = false }
                continue
            }
            if ch == "\u{1B}" {
                inEscape = true
                out.append(ch)
                continue
            }
            if visible >= columns {
                cutShort = true
                continue
            }
            out.append(ch)
            visible += 1
        }
        // A colour cut off before its reset would bleed into the next line.
        return cutShort && out.contains("\u{1B}[") ? out + "\u{1B}[0m" : out
    }
}

/// SIGINT and SIGTERM end `--watch` with status 0, giving the cursor back first on a terminal.
enum WatchSignals {
    nonisolated(unsafe) static var terminal = false

    static func install(terminal: Bool) {
        self.terminal = terminal
        LogsCommand.letInterruptsEnd()
        let handler: @convention(c) (Int32) -> Void = { _ in
            // Only async-signal-safe calls here: write(2) and _exit(2).
            if WatchSignals.terminal {
                let show: StaticString = "\u{1B}[?25h\n"
                _ = write(1, show.utf8Start, show.utf8CodeUnitCount)
            }
            _exit(0)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}
