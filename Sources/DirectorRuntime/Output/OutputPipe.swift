#if canImport(Glibc)
import Glibc
#endif
import DirectorManifest

/// Which output stream of a child.
public enum ChildStream: String, Sendable, Hashable {
    /// The child's stdout.
    case stdout
    /// The child's stderr.
    case stderr
}

/// Where a pipe's lines go.
package enum LineDestination {
    /// A bounded non-blocking output (the daemon's stdout).
    case sink(OutputSink)
    /// The same, each line rendered by a format (a timestamp, JSON, colour).
    case formatted(OutputSink, ChildLineFormat)
    /// A function, called on the loop.
    case lines(@Sendable (ChildOutputLine) -> Void)
    /// Nowhere.
    case discard
}

/// Reads one child stream, splits it into lines, filters them and writes them to the sink as
/// `<child id> <stream>: <line>` (e.g. `web/api/0 stdout: listening on :8080`); a cut line
/// ends with ` [cut]`.
///
/// Fairness: each readiness event reads at most one 64 KiB chunk. The loop is
/// level-triggered, so a child that writes without pause is read again next turn, after every
/// other ready fd had its turn: one noisy child cannot starve the others or the loop.
package final class OutputPipe {
    private let fd: Int32
    private let id: String
    private let stream: ChildStream
    /// `<id> <stream>: `, built at the first line: most children never write one, and two
    /// prefixes per child were two heap strings per child.
    private lazy var prefix = "\(id) \(stream.rawValue): "
    private let filter: LineFilter
    private let destination: LineDestination
    /// The child's log file, with the job's `max_size` and `keep`.
    private let file: (files: ChildLogFiles, maxSize: Int, keep: Int)?
    private let loop: EventLoop
    private var splitter: LineSplitter
    private var onClose: (() -> Void)?
    private var isClosed = false

    /// Lines that passed the filter and were handed to the sink.
    package private(set) var linesWritten = 0

    /// Starts reading `fd` (taking ownership of it). `onClose` runs once at EOF, after the last
    /// line was flushed and the fd closed.
    package convenience init(
        fd: Int32, id: String, stream: ChildStream, filter: LineFilter, sink: OutputSink, loop: EventLoop,
        maxLineBytes: Int = 64 * 1024, onClose: (() -> Void)? = nil
    ) throws(RuntimeError) {
        try self.init(
            fd: fd, id: id, stream: stream, filter: filter, destination: .sink(sink), loop: loop,
            maxLineBytes: maxLineBytes, onClose: onClose)
    }

    /// Starts reading `fd` (taking ownership of it); lines go to `destination`.
    package init(
        fd: Int32, id: String, stream: ChildStream, filter: LineFilter, destination: LineDestination, loop: EventLoop,
        maxLineBytes: Int = 64 * 1024, file: (files: ChildLogFiles, maxSize: Int, keep: Int)? = nil,
        onClose: (() -> Void)? = nil
    ) throws(RuntimeError) {
        self.fd = fd
        self.file = file
        self.id = id
        self.stream = stream
        self.filter = filter
        self.destination = destination
        self.loop = loop
        self.splitter = LineSplitter(maxLineBytes: maxLineBytes)
        self.onClose = onClose
        // The loop holds the pipe (through this closure) until EOF unwatches it.
        try loop.watch(fd, for: .readable) { _ in self.readChunk() }
    }

    /// Formats one line as the daemon writes it.
    package static func format(id: String, stream: ChildStream, line: Substring, cut: Bool) -> String {
        "\(id) \(stream.rawValue): \(line)\(cut ? cutMarker : "")"
    }

    /// Appended to a line cut at the length limit.
    package static let cutMarker = " [cut]"

    private func readChunk() {
        let scratch = loop.scratch
        let n = read(fd, scratch.baseAddress, scratch.count)
        if n > 0 {
            splitter.feed(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), emit: emitLine)
        } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
            closeNow()
        }
    }

    private func emitLine(_ bytes: ArraySlice<UInt8>, _ cut: Bool) {
        // Nobody reads them: no decoding, no filtering (the pipe is still drained, so the child
        // never blocks on a full pipe).
        if case .discard = destination, file == nil { return }
        let text = String(decoding: bytes, as: UTF8.self)
        guard filter.passes(text[...]) else { return }
        linesWritten += 1
        let at = SystemClock.wallMilliseconds()
        if let file { file.files.append(id: id, stream: stream, text: text, cut: cut, at: at, maxSize: file.maxSize, keep: file.keep) }
        switch destination {
        case .sink(let sink): sink.write(line: prefix + text + (cut ? Self.cutMarker : ""))
        case .formatted(let sink, let format):
            sink.write(line: format.render(id: id, stream: stream, text: text, cut: cut, at: at))
        case .lines(let handler): handler(ChildOutputLine(id: id, stream: stream, text: text, cut: cut))
        case .discard: break
        }
    }

    /// Reads what the pipe holds now, up to `chunks` reads (the child has exited: its lines
    /// are written before its exit is logged, never after). Stops at EAGAIN; a descendant
    /// that keeps the pipe open cannot hold the loop here.
    package func drainAvailable(chunks: Int = 16) {
        for _ in 0..<chunks where !isClosed {
            let scratch = loop.scratch
            let n = read(fd, scratch.baseAddress, scratch.count)
            if n > 0 {
                splitter.feed(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), emit: emitLine)
            } else {
                if n == 0 || (errno != EAGAIN && errno != EINTR) { closeNow() }
                return
            }
        }
    }

    /// Flushes the last line, stops reading and closes the fd. Idempotent.
    package func closeNow() {
        // A flag of its own: `onClose` is optional, so it cannot double as "still open".
        guard !isClosed else { return }
        isClosed = true
        splitter.finish(emit: emitLine)
        loop.unwatch(fd)
        close(fd)
        let callback = onClose
        onClose = nil
        callback?()
    }
}
