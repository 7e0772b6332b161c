import ArgumentParser
import DirectorManifest
import DirectorRuntime
import Glibc

/// `director`: the command-line front of the supervisor.
@main
struct DirectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "director",
        abstract: "Supervise OS processes the way Erlang/OTP supervises processes.",
        discussion: """
            Director runs the groups and jobs declared in YAML manifests (jobs/*.yaml), restarts \
            or stops them as each job's rules say, and keeps every child's state in an LMDB table \
            that `ps`, `events`, `count` and `spec` read directly, with or without a running daemon.

            Exit status: 0 on success, 1 on a user error (one line on stderr), 2 on a usage error.
            """,
        version: DirectorVersion.current,
        subcommands: [
            RunCommand.self, ValidateCommand.self, PsCommand.self, LogsCommand.self, EventsCommand.self,
            CountCommand.self, SpecCommand.self, StartCommand.self, StopCommand.self, RestartCommand.self,
            DeleteCommand.self, ScaleCommand.self, ReloadCommand.self, ShutdownCommand.self,
            CheckTableCommand.self,
        ]
    )

    /// Parses and runs, mapping errors to the documented exit statuses (ArgumentParser's
    /// default for usage errors is 64; the contract says 2).
    static func main() {
        refuseUnknownCommand(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as UserError {
            writeStandardError("director: \(error.message)\n")
            Glibc.exit(1)
        } catch let error as ExitCode {
            Glibc.exit(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                Self.exit(withError: error)  // --help, --version
            }
            writeStandardError(fullMessage(for: error) + "\n")
            Glibc.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

extension DirectorCommand {
    /// `director pss` → `unknown command pss; did you mean `ps`?`, status 2. ArgumentParser
    /// alone says "Unexpected argument" without naming what was meant.
    static func refuseUnknownCommand(_ arguments: [String]) {
        guard let first = arguments.first, !first.hasPrefix("-") else { return }
        let names = configuration.subcommands.filter { $0.configuration.shouldDisplay }
            .compactMap { $0.configuration.commandName } + ["help"]
        let hidden = configuration.subcommands.compactMap { $0.configuration.commandName }
        guard !names.contains(first), !hidden.contains(first) else { return }
        let hint = NameRules.suggestion(for: first, among: names).map { "; did you mean `\($0)`?" }
            ?? "; the commands are \(names.dropLast().joined(separator: ", ")) (see `director --help`)"
        writeStandardError("director: unknown command \(first)\(hint)\n")
        Glibc.exit(2)
    }
}

/// The version printed by `--version` and stored in `meta.daemon`.
enum DirectorVersion {
    static let current = "0.1.0"
}

/// An error the user can fix, printed as one line after `director: `, exit status 1.
struct UserError: Error, CustomStringConvertible {
    /// The one-line message.
    var message: String
    /// The message.
    var description: String { message }
    init(_ message: String) { self.message = message }
}

/// Writes to stderr without buffering.
func writeStandardError(_ text: String) { writeAll(fd: 2, text) }

/// Writes all of `text` to `fd` with write(2), bypassing stdio's buffer.
func writeAll(fd: Int32, _ text: String) { FileDescriptors.writeAll(fd, Array(text.utf8)) }

/// The `--state` option shared by every command that reads the table or talks to the daemon.
struct StateOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("The state directory: table, control socket, lock, logs (default: $DIRECTOR_STATE, else .director).", valueName: "dir"))
    var state: String = EnvironmentDefaults.state
}

