import ArgumentParser
import DirectorCore
import DirectorManifest
import Director
import DirectorRuntime
import DirectorCluster
import Foundation
import Logging
import Synchronization

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
        guard case .success(let l) = DurationText.parse(lease), l >= .milliseconds(300) else {
            throw ValidationError("--lease needs a duration of 300ms or more, e.g. 10s")
        }
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
        let handle = HandleSlot()
        do {
            if let location = try clusterOptions.location(fromEnvironment: true) {
                options.tableMirror = clusterMirror(location, logger: logger, handle: handle)
            }
            let supervisor = try Supervisor(manifest: .directory(jobs), logger: logger, options: options)
            handle.slot.withLock { $0 = supervisor.handle }
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

extension RunCommand {
    /// `--cluster`: the mirror of this node's table into PostgreSQL (DESIGN §9), carrying out
    /// the node's commands through the supervisor's handle.
    func clusterMirror(_ location: ClusterLocation, logger: Logger, handle: HandleSlot) -> ClusterMirror {
        var mirror = ClusterMirror.Options()
        if case .success(let d) = DurationText.parse(lease) { mirror.lease = d }
        mirror.pid = getpid()
        mirror.version = DirectorVersion.current
        mirror.log = { isError, message in
            if isError { logger.error("\(message)") } else { logger.info("\(message)") }
        }
        mirror.commandHandler = { command in
            guard let h = handle.slot.withLock({ $0 }) else { return .failed("not_ready", "the supervisor is not running yet") }
            var done: [String] = []
            do throws(SupervisorError) {
                for id in command.ids {
                    let ids: [ChildID]
                    switch command.op {
                    case "start": ids = try await h.startStoppedChild(id)
                    case "stop": ids = try await h.terminateChild(id)
                    default: ids = try await h.restartChild(id)
                    }
                    done += ids.map(\.description)
                }
                return .done(done)
            } catch {
                return .failed(error.code.description, error.message)
            }
        }
        return ClusterMirror(location: location, node: node ?? hostName(), options: mirror)
    }
}

/// The supervisor's handle, once it exists (the mirror is made before the supervisor).
final class HandleSlot: Sendable {
    let slot = Mutex<SupervisorHandle?>(nil)
}

/// The host name (the default node name, as on a shared table).
func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
