import CDirectorSys

/// A clean exit on a fault while reading a memory-mapped table (see
/// `director_install_fault_exit`).
package enum FaultExit {
    /// From now on SIGBUS and SIGSEGV write `line` (plus a newline) to stderr and exit 1.
    package static func install(line: String) {
        _ = director_install_fault_exit(line + "\n")
    }
}
