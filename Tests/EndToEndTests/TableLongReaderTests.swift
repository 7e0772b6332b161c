import Foundation
import Testing

/// A reader that holds a read transaction for a long time (a slow script, a stuck tool) must
/// not stall the daemon: LMDB readers never block the writer, they only keep old pages alive.
@Suite(.serialized) struct TableLongReaderTests {
    @Test(.enabled(if: TableTools.pythonReady, "needs python3 with lmdb (scripts/test-deps.sh)"))
    func aReaderHoldingATransactionDoesNotStallTheDaemon() throws {
        let tag = TaggedProcesses()
        let d = try DaemonHarness(files: ["web.yaml": """
            group: web
            jobs:
              - name: api
                command: ["sleep", "3600"]
                instances: 3
                \(tag.envLine)
            """])
        defer { d.stop(); tag.killAll() }
        try d.start()
        let before = try d.waitRunning(3)

        let reader = try HeldReadTransaction(table: d.tablePath, maxSeconds: 60)
        defer { reader.end() }
        let holding = try #require(reader.nextLine(), "the reader reports its snapshot")
        #expect(holding["phase"] as? String == "holding")
        let heldSeq = try #require(holding["last_seq"] as? Int)
        #expect((holding["children"] as? [String: Int])?.count == 3)
        #expect(try Self.readerPids(d.tablePath).contains(reader.pid), "mdb_stat -r lists the held transaction")

        // While the transaction is held: a child dies and is replaced, and the daemon records it.
        let victim = try #require(before.first { $0.id == "web/api/1" }?.pid)
        kill(victim, SIGKILL)
        let replaced = try d.waitFor("web/api/1 replaced while a reader holds a transaction", prefix: "web/api/1") { rows in
            rows.first.map { $0.state == "running" && $0.pid != nil && $0.pid != victim } == true
        }
        let newPid = try #require(replaced.first?.pid)
        #expect(tag.live()[newPid] == "web/api/1", "the replacement really runs")
        let whileHeld = try d.eventRows()
        #expect(whileHeld.contains { $0.id == "web/api/1" && $0.kind == "start" && $0.seq > heldSeq })
        // A few more turns of the loop, still under the held transaction.
        #expect(try d.cli("restart", ["web/api/2"]).status == 0)
        try d.waitFor("web/api/2 restarted", prefix: "web/api/2") { rows in
            rows.first.map { $0.state == "running" && $0.pid != nil && $0.pid != before[2].pid } == true
        }

        // The reader's snapshot never moved.
        reader.release()
        let released = try #require(reader.nextLine())
        #expect(released["phase"] as? String == "released")
        #expect(released["last_seq"] as? Int == heldSeq)
        #expect(released["children"] as? [String: Int] == holding["children"] as? [String: Int])
        #expect((released["children"] as? [String: Int])?["web/api/1"] == Int(victim))
        #expect(reader.waitExit() == 0)

        // After the reader ended: the table shows the replacement, and the daemon kept writing.
        let after = try d.children(prefix: "web/api")
        #expect(after.first { $0.id == "web/api/1" }?.pid == newPid)
        #expect(after.allSatisfy { $0.state == "running" })
        let last = try #require(try d.eventRows().last?.seq)
        #expect(last > heldSeq)
        #expect(!d.daemonStderr.contains("state table write failed"), "\(d.daemonStderr)")
        #expect(try Self.readerPids(d.tablePath).contains(reader.pid) == false)
    }

    /// The pids in the table's reader lock table (`mdb_stat -r`), when lmdb-utils is installed.
    static func readerPids(_ table: String) throws -> Set<Int32> {
        guard let stat = TableTools.mdbStat else { return [] }
        let run = try CommandResult.run([stat, "-r", table])
        // Lines like "    1234 7f1b2c3d4700 5" after the "pid thread txnid" header.
        return Set(run.stdout.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: " ")
            return cells.count == 3 ? Int32(cells[0]) : nil
        })
    }
}

/// `Scripts/hold_read_txn.py`: holds one read transaction until released.
final class HeldReadTransaction {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()

    init(table: String, maxSeconds: Int) throws {
        process.executableURL = URL(fileURLWithPath: TableTools.python!)
        process.arguments = [TableTools.scripts + "/hold_read_txn.py", table, String(maxSeconds)]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// The next JSON line the reader prints (blocks until it does; nil at end of output).
    func nextLine() -> [String: Any]? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<newline]
                buffer = Data(buffer[(newline + 1)...])
                return (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer += chunk
        }
    }

    /// Lets the reader read again and finish.
    func release() {
        try? input.fileHandleForWriting.write(contentsOf: Data("done\n".utf8))
    }

    /// Waits (bounded) for the reader to exit; its status, or nil.
    func waitExit(timeout: Double = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Kills the reader by its pid if it still runs.
    func end() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
