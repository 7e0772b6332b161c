#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import DirectorTable
import Synchronization

/// The children's log files, `<state>/logs/<id>.log` (DESIGN §2 `log.file`, §7), written by a
/// thread of their own so that the event loop never waits on the disk.
///
/// The loop queues each line (`append`, no system call) and hands the turn's lines over at the
/// end of the turn. The queue is bounded (`capacity` bytes): beyond it lines are dropped and
/// counted, as when a write fails (a full disk); the next line written to that child's file
/// after a loss is preceded by `… director: N lines dropped (why)`. Each line is
/// `<RFC 3339 time> <stream> <text>`; a file that a line would take past its job's `max_size`
/// is rotated first (`<id>.log` → `.1` → … → `.<keep>`, the oldest removed). `reopen` (SIGUSR1)
/// closes every file so that the next line opens it again by name, for an external logrotate.
package final class ChildLogFiles: Sendable {
    /// One line as the loop saw it.
    struct Line: Sendable {
        var id: String
        var stream: ChildStream
        var text: String
        var at: Int64
        var maxSize: Int
        var keep: Int
    }

    private struct Shared {
        var queue: [Line] = []
        var queuedBytes = 0
        var dropped: [String: Int] = [:]
        var droppedTotal = 0
        var reopen = false
        var stopping = false
    }

    /// `<state>/logs`.
    package let directory: String
    private let capacity: Int
    private let shared = Mutex(Shared())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let loopSide = Mutex<[Line]>([])

    /// Starts the writer thread for `directory` (created 0700 if missing).
    package init(directory: String, capacity: Int = 8 << 20) {
        self.directory = directory
        self.capacity = capacity
        DispatchQueue(label: "director.log-files").async { [self] in run() }
    }

    /// Lines dropped so far (queue full or a failed write).
    package var droppedLines: Int { shared.withLock { $0.droppedTotal } }

    /// On the loop: one line that passed the job's filters.
    package func append(id: String, stream: ChildStream, text: String, cut: Bool, at: Int64, maxSize: Int, keep: Int) {
        let line = Line(id: id, stream: stream, text: cut ? text + OutputPipe.cutMarker : text, at: at, maxSize: maxSize, keep: keep)
        loopSide.withLock { $0.append(line) }
    }

    /// End of a loop turn: hands the turn's lines to the writer, dropping what does not fit.
    package func submit() {
        let lines = loopSide.withLock { pending -> [Line] in
            defer { pending.removeAll(keepingCapacity: pending.count <= 1024) }
            return pending
        }
        guard !lines.isEmpty else { return }
        shared.withLock { s in
            for line in lines {
                let size = line.text.utf8.count + 40
                if s.queuedBytes + size > capacity {
                    s.dropped[line.id, default: 0] += 1
                    s.droppedTotal += 1
                    continue
                }
                s.queue.append(line)
                s.queuedBytes += size
            }
        }
        wake.signal()
    }

    /// Closes every open file; the next line of each child opens its file again by name.
    package func reopen() {
        shared.withLock { $0.reopen = true }
        wake.signal()
    }

    /// Writes what is queued (at most `timeout`) and ends the writer thread.
    package func close(timeout: Duration = .seconds(2)) {
        submit()
        shared.withLock { $0.stopping = true }
        wake.signal()
        let (s, a) = timeout.components
        _ = finished.wait(timeout: .now() + .nanoseconds(Int(s) * 1_000_000_000 + Int(a / 1_000_000_000)))
    }

    // MARK: - The writer thread

    private func run() {
        var files = LogFileSet(directory: directory)
        while true {
            let (batch, reopen, stopping, dropped) = shared.withLock { s in
                let taken = (s.queue, s.reopen, s.stopping, s.dropped)
                s.queue = []
                s.queuedBytes = 0
                s.reopen = false
                s.dropped = [:]
                return taken
            }
            if reopen { files.closeAll() }
            for (id, n) in dropped { files.noteDropped(id: id, count: n, why: "the log writer fell behind") }
            var failed = 0
            for line in batch where !files.write(line) { failed += 1 }
            if failed > 0 { shared.withLock { $0.droppedTotal += failed } }
            if batch.isEmpty {
                if stopping { break }
                wake.wait()
            }
        }
        files.closeAll()
        finished.signal()
    }
}

/// The writer thread's open files, at most `limit` at a time (a daemon with 10 000 children
/// must not hold 10 000 more descriptors).
struct LogFileSet {
    private struct Open {
        var fd: Int32
        var size: Int
        var used: UInt64
    }

    let directory: String
    private var open: [String: Open] = [:]
    private var pendingDrops: [String: (count: Int, why: String)] = [:]
    private var clock: UInt64 = 0
    private let limit = 128

    init(directory: String) { self.directory = directory }

    mutating func noteDropped(id: String, count: Int, why: String) {
        let old = pendingDrops[id]?.count ?? 0
        pendingDrops[id] = (old + count, why)
    }

    /// Writes one line, rotating first when it would pass the size; false when it was lost.
    mutating func write(_ line: ChildLogFiles.Line) -> Bool {
        var bytes = Array("\(RFC3339.format(line.at)) \(line.stream.rawValue) \(line.text)\n".utf8)
        if let drop = pendingDrops[line.id] {
            bytes = Array("\(RFC3339.format(line.at)) director: \(drop.count) lines dropped (\(drop.why))\n".utf8) + bytes
        }
        guard var file = file(for: line.id) else { return lost(line.id, "cannot open the file") }
        if file.size > 0 && file.size + bytes.count > line.maxSize {
            Glibc.close(file.fd)
            open[line.id] = nil
            rotate(line.id, keep: line.keep)
            guard let fresh = self.file(for: line.id) else { return lost(line.id, "cannot open the file") }
            file = fresh
        }
        let n = bytes.withUnsafeBytes { Glibc.write(file.fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else {
            let why = n < 0 ? String(cString: strerror(errno)) : "short write"
            // A short write left part of a line: end it, so the next line starts clean.
            if n > 0 { _ = Glibc.write(file.fd, "\n", 1) }
            open[line.id]?.size += max(n, 0)
            return lost(line.id, why)
        }
        pendingDrops[line.id] = nil
        open[line.id]?.size += n
        return true
    }

    private mutating func lost(_ id: String, _ why: String) -> Bool {
        noteDropped(id: id, count: 1, why: why)
        return false
    }

    mutating func closeAll() {
        for file in open.values { Glibc.close(file.fd) }
        open = [:]
    }

    /// `<directory>/<id>.log` open for appending, its directories made (0700) as needed.
    private mutating func file(for id: String) -> Open? {
        clock += 1
        if var file = open[id] {
            file.used = clock
            open[id] = file
            return file
        }
        if open.count >= limit, let oldest = open.min(by: { $0.value.used < $1.value.used }) {
            Glibc.close(oldest.value.fd)
            open[oldest.key] = nil
        }
        let path = Self.path(directory: directory, id: id)
        makeParents(of: path)
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        var st = stat()
        let size = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
        let file = Open(fd: fd, size: size, used: clock)
        open[id] = file
        return file
    }

    /// `<directory>/<id>.log`: the id's segments are directories (`web/api/0.log`).
    static func path(directory: String, id: String) -> String { directory + "/" + id + ".log" }

    /// `.log` → `.log.1` → … → `.log.<keep>`; the oldest is removed. With `keep` 0 the file
    /// is only removed (the next line starts a new one).
    private func rotate(_ id: String, keep: Int) {
        let base = Self.path(directory: directory, id: id)
        guard keep > 0 else {
            unlink(base)
            return
        }
        unlink(base + ".\(keep)")
        var n = keep - 1
        while n >= 1 {
            rename(base + ".\(n)", base + ".\(n + 1)")
            n -= 1
        }
        rename(base, base + ".1")
    }

    private func makeParents(of path: String) {
        var prefix = ""
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        for (i, part) in parts.enumerated() {
            prefix += (i == 0 ? "" : "/") + part
            if !prefix.isEmpty { mkdir(prefix, 0o700) }
        }
    }
}
