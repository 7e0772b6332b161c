import Foundation
import Testing

/// `director help COMMAND` as a manual page (issue 16): every command has EXAMPLES and EXIT
/// STATUS, and `help ps` explains its columns, the states and the LAST EXIT format.
@Suite struct HelpTests {
    static let commands = ["run", "validate", "ps", "logs", "events", "count", "spec", "start", "stop", "restart", "delete", "scale", "reload", "shutdown"]

    @Test(arguments: commands)
    func everyCommandHasExamplesAndExitStatus(_ command: String) throws {
        let r = try DirectorBinary.run(["help", command])
        #expect(r.status == 0, "\(r.stderr)")
        let text = r.stdout
        #expect(text.contains("\nEXAMPLES:\n  $ director \(command)"), "\(text)")
        #expect(text.contains("\nEXIT STATUS:\n  0  "), "\(text)")
        #expect(text.contains("\n  2  a usage error"), "\(text)")
        // The sections come before the options, each line indented: nothing wrapped out of them.
        let sections = text.components(separatedBy: "\nUSAGE:").first ?? ""
        var inSection = false
        for line in sections.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasSuffix(":") && line == line.uppercased() { inSection = true; continue }
            if line.isEmpty { continue }
            if inSection { #expect(line.hasPrefix("  "), "a section line wrapped at 80 columns in `help \(command)`: \(line)") }
        }
    }

    @Test func psExplainsItsColumnsStatesAndLastExit() throws {
        let text = try DirectorBinary.run(["help", "ps"]).stdout
        for state in ["starting", "running", "stopping", "backoff", "waiting", "stopped"] {
            #expect(text.contains("\n  \(state) "), "state \(state) explained")
        }
        #expect(text.contains("\nLAST EXIT:\n  code=N "))
        #expect(text.contains("\n  signal=NAME "))
        // The causes LAST EXIT names after the code or signal (the table's last_exit.cause).
        for cause in ["spawn_failed", "ready_timeout", "unhealthy", "watchdog", "oom"] {
            #expect(text.contains("\n  (\(cause)) "), "cause \(cause) explained")
        }
        for column in ["ID", "STATE", "READY", "PID", "UPTIME", "CPU", "MEM", "RESTARTS", "LAST EXIT"] {
            #expect(text.contains("\n  \(column) "), "column \(column) explained")
        }
        // The same text is what --help prints.
        #expect(try DirectorBinary.run(["ps", "--help"]).stdout == text)
    }
}
