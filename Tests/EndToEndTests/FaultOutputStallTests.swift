import Foundation
import Testing

/// The daemon's own output never blocks it (DESIGN §7): with stdout and stderr a pipe whose
/// reader holds it open and never reads, supervision, table commits and the control socket go
/// on; lines are dropped and counted; and the inherited file description is left blocking.
@Suite(.serialized) struct FaultOutputStallTests {
    static func manifest(_ dir: String) -> String {
        """
        group: stall
        intensity: 1000000
        period: 1s
        jobs:
          - name: noisy
            command: ["sh", "-c", "seq -f noisy-line-%g 1 100000; exec sleep 3600"]
            env: {FAULT_RUN: "\(dir)"}
          - name: flap
            command: ["sh", "-c", "echo flap; sleep 0.05; exit 1"]
            env: {FAULT_RUN: "\(dir)"}
        """
    }

    static func isNonBlocking(_ fd: Int32) -> Bool { fcntl(fd, F_GETFL) & O_NONBLOCK != 0 }

    @Test func aReaderThatNeverReadsStopsNeitherSupervisionNorTheControlSocket() throws {
        let d = try DaemonHarness(files: [:])
        try d.write("stall.yaml", Self.manifest(d.dir.path))
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // The smallest pipe the kernel allows: it is full after a few dozen lines.
        _ = fcntl(writeEnd, 1031 /* F_SETPIPE_SZ */, 4096)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: DirectorBinary.path)
        p.arguments = ["run", "--jobs", d.jobs, "--state", d.state]
        let handle = FileHandle(fileDescriptor: writeEnd, closeOnDealloc: false)
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        defer {
            if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            d.stop()
            ProcScan.killAll(marker: d.marker)
            close(readEnd)
            close(writeEnd)
        }

        // Nobody reads: the pipe fills at once; the noisy child's 1.6 MB overflow the daemon's
        // 1 MiB buffer for children's lines.
        try d.eventually("both children in the table", timeout: 20) { try d.children().count == 2 }
        usleep(1_000_000)
        var pending: Int32 = 0
        _ = ioctl(readEnd, 0x541B /* FIONREAD */, &pending)
        #expect(pending >= 4000, "the pipe is full (\(pending) bytes unread)")

        // Supervision and the table go on: the flapping child keeps restarting.
        let before = try #require(try d.children(prefix: "stall/flap").first).restarts
        try d.eventually("the flapping child restarts while nobody reads", timeout: 10) {
            (try d.children(prefix: "stall/flap").first?.restarts ?? 0) >= before + 5
        }
        // The control socket answers.
        let probe = RawControlClient.probe(state: d.state, timeout: 2)
        #expect(probe?.reply.contains("not_found") == true, "control reply while the output is stalled")
        #expect(p.isRunning)
        // The daemon made its own non-blocking description: the one it inherited is shared
        // with this process (and would be with a shell), and stays blocking.
        #expect(!Self.isNonBlocking(writeEnd), "the inherited description was made non-blocking")

        // The reader comes back: what was dropped is counted.
        let drained = PipeDrainer(fd: readEnd)
        try d.eventually("a dropped-lines notice", timeout: 10) { drained.text.contains("lines dropped") }
        kill(p.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        #expect(!p.isRunning)
        #expect(p.terminationStatus == 0)
        #expect(!Self.isNonBlocking(writeEnd), "the inherited description is blocking after the daemon exits")
        drained.stop()
        #expect(drained.text.contains("director stopped status=0"))
    }
}

/// Reads a pipe on a thread of its own until stopped.
final class PipeDrainer: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    init(fd: Int32) {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !self.lock.withLock({ self.stopped }) {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 50) > 0 else { continue }
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                self.lock.withLock { self.data.append(contentsOf: buffer[0..<n]) }
            }
            self.done.signal()
        }
        thread.start()
    }

    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }

    func stop() {
        lock.withLock { stopped = true }
        done.wait()
    }
}
