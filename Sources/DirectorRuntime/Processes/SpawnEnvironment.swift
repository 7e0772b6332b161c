#if canImport(Glibc)
import Glibc
#endif
import CDirectorSys
import DirectorManifest

/// The daemon's environment, converted once into C strings, that every child inherits with
/// its own variables on top.
///
/// A restart is on the path of restart latency: building the child's environment from a
/// dictionary (copy, merge, sort, format, `strdup` every entry) cost more than the
/// `posix_spawn` itself. Here only the child's own variables are converted per spawn.
package final class SpawnEnvironment: @unchecked Sendable {
    // Immutable after init; the C strings live as long as this object.
    private let names: [String]
    private let index: [String: Int]
    private let pointers: [UnsafeMutablePointer<CChar>?]
    /// The daemon's `PATH`, for the program search.
    package let path: String?
    /// The signals a child must get back at their default disposition: those the daemon
    /// ignores or handles when this value is made (SIGPIPE always). Make it after the daemon
    /// has set up its own signal handling.
    private var resetSignals = sigset_t()

    /// Prepares `variables` (normally `ProcessSpawner.currentEnvironment()`) and records the
    /// signals ignored or handled right now.
    package init(_ variables: [String: String]) {
        director_signals_to_reset(&resetSignals)
        let sorted = variables.sorted { $0.key < $1.key }
        names = sorted.map(\.key)
        index = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($0.element.key, $0.offset) })
        pointers = sorted.map { strdup("\($0.key)=\($0.value)") }
        path = variables["PATH"]
    }

    deinit { for p in pointers { free(p) } }

    /// Calls `body` with a NULL-terminated `envp`: the base, with `extra` replacing variables
    /// of the same name (the last one wins) and the others appended.
    func withEnvironment<R>(adding extra: [EnvVar], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        withEnvironment(adding: extra, locating: nil) { envp, _ in body(envp) }
    }

    /// The same, also passing the value of the last added variable named `name` (a buffer
    /// this call owns; the spawn shim writes `WATCHDOG_PID`'s digits there), or nil.
    func withEnvironment<R>(
        adding extra: [EnvVar], locating name: String?,
        _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>, UnsafeMutablePointer<CChar>?) -> R
    ) -> R {
        var located: UnsafeMutablePointer<CChar>?
        var envp = pointers
        var owned: [UnsafeMutablePointer<CChar>?] = []
        owned.reserveCapacity(extra.count)
        var appended: [String: Int] = [:]
        for variable in extra {
            let entry = strdup("\(variable.name)=\(variable.value)")
            owned.append(entry)
            if variable.name == name { located = entry.map { $0 + variable.name.utf8.count + 1 } }
            if let i = index[variable.name] ?? appended[variable.name] {
                envp[i] = entry
            } else {
                appended[variable.name] = envp.count
                envp.append(entry)
            }
        }
        envp.append(nil)
        defer { for p in owned { free(p) } }
        return envp.withUnsafeBufferPointer { body($0.baseAddress!, located) }
    }

    /// Calls `body` with the signals to reset in the child.
    func withResetSignals<R>(_ body: (UnsafePointer<sigset_t>) -> R) -> R {
        withUnsafePointer(to: resetSignals) { body($0) }
    }

    /// The base variable names, in order (for tests).
    var variableNames: [String] { names }
}
