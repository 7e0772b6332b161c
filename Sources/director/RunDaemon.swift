import ArgumentParser
import DirectorCore
import DirectorManifest
import Director
import DirectorRuntime
import Logging

extension RunCommand {
    func validate() throws {
        if let intensity, intensity < 0 { throw ValidationError("--intensity must be 0 or more") }
        if let period, case .failure = DurationText.parse(period) {
            throw ValidationError("--period needs a duration with a unit, e.g. 60s")
        }
        if case .failure = DurationText.parse(reloadDebounce) {
            throw ValidationError("--reload-debounce needs a duration with a unit, e.g. 200ms")
        }
        if maxChildren < 0 { throw ValidationError("--max-children must be 0 or more") }
        if let node, node.isEmpty || node.utf8.count > 255 || node.contains("/") {
            throw ValidationError("--node needs a name of 1–255 bytes without '/'")
        }
    }

    func runDaemon() throws {
        FileDescriptors.openStandardStreams()
        var root = RootPolicy(onFailure: rootFailure == .exit ? .exit : .giveUp)
        if let intensity { root.intensity = intensity }
        if let period, case .success(let d) = DurationText.parse(period) { root.period = d }
        var debounce: Duration = .milliseconds(200)
        if case .success(let d) = DurationText.parse(reloadDebounce) { debounce = d }
        // `director run` is the public embedding API with every process-wide behaviour on.
        var options = SupervisorOptions()
        options.root = root
        options.stateDirectory = stateOptions.state
        options.tablePath = table
        options.node = node
        options.trace = trace
        options.reloadDebounce = debounce
        options.watchesDirectory = !noWatch
        options.version = DirectorVersion.current
        options.maxChildren = maxChildren
        options.processWide = .daemon
        options.childOutput = .standardOutput
        options.childLineFormat = ChildLineFormat(
            timestamps: true, json: logFormat == .json, color: logFormat == .text && ColorChoice.colours(color, fd: 1))
        // The table is checked by this very binary in a child process before it is mapped.
        options.tableCheckCommand = ["/proc/self/exe", "__check-table"]
        var handler = DaemonLogHandler(format: logFormat == .json ? .json : .text)
        handler.logLevel = trace ? .debug : .info
        let logger = Logger(label: "director") { _ in handler }
        do {
            let supervisor = try Supervisor(manifest: .directory(jobs), logger: logger, options: options)
            let status = try supervisor.runOnCurrentThread()
            throw ExitCode(status)
        } catch let error as SupervisorError {
            // Manifest errors are already FILE:LINE:COL lines; the others get the usual prefix.
            let prefix = error.code == .invalidManifest ? "" : "director: "
            writeStandardError(error.message.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 + "\n" }.joined())
            throw ExitCode(1)
        }
    }
}
