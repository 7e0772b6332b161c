#if canImport(Glibc)
import Glibc
#endif
import DirectorTable

// The state directory removed under a running daemon (a tmp cleaner, an operator's rm -rf):
// without repair, `director ps` finds no table, the CLI no socket, and a second daemon finds
// no lock and starts every job again. The daemon notices within tens of milliseconds
// (inotify, `StateDirectoryWatcher`) and re-creates what is gone: the directory, the lock
// (held again before the old one is let go), a full copy of the table, the control socket.

extension SupervisorRuntime {
    /// Listens on the control socket and records its inode, so that its removal is noticed.
    func listenOnControlSocket() throws(RuntimeError) {
        guard let stateDirectory else { return }
        control = try ControlServer(path: stateDirectory.socketPath, loop: loop) { [unowned self] request, responder in
            self.onControl(request, responder)
        }
        stateDirectory.noteSocket()
    }

    /// Starts watching the state directory for removals (a warning when inotify cannot).
    func watchStateDirectory() {
        guard let stateDirectory else { return }
        stateWatcher?.stop()
        let base = "/proc/self/fd/\(stateDirectory.fd)"
        do {
            // The table's directory only when it is this directory's own: a shared table
            // (DESIGN §4.1) is never re-created here, since other daemons may have it open.
            let directories = ownTable == nil ? [base] : [base, base + "/table"]
            stateWatcher = try StateDirectoryWatcher(directories: directories, loop: loop) { [unowned self] in
                self.repairStateDirectory()
            }
        } catch {
            log.log(.warning, "cannot watch state directory \(stateDirectory.path) for removal: \(error.message)")
        }
    }

    /// Re-creates whatever of the state directory is missing; logs what and why.
    func repairStateDirectory() {
        guard let stateDirectory else { return }
        let missing = stateDirectory.missingParts(table: ownTable)
        guard !missing.isEmpty else { return }
        let path = stateDirectory.path
        if missing.contains(.directory) {
            log.log(.warning, "state directory \(path) was removed: re-creating it with the lock, the control socket and the table")
            do { try stateDirectory.recreate() } catch {
                log.log(.error, "cannot re-create state directory \(path): \(error.description); supervision goes on without it")
                return
            }
        } else if missing.contains(.lock) {
            log.log(.warning, "\(path)/director.lock was removed: taking the lock again")
            do { try stateDirectory.retakeLock() } catch {
                log.log(.error, "cannot take the lock again: \(error.description)")
            }
        }
        if missing.contains(.table) {
            if !missing.contains(.directory) { log.log(.warning, "state table \(stateDirectory.tablePath) was removed: re-creating it") }
            do { try ownTable?.recreate() } catch {
                log.log(.error, "cannot re-create the state table \(stateDirectory.tablePath): \(error.message)")
            }
        }
        if missing.contains(.socket) {
            if !missing.contains(.directory) { log.log(.warning, "\(stateDirectory.socketPath) was removed: listening again") }
            // The old server's close unlinks its path: it goes first, then the new one binds.
            control?.close()
            control = nil
            do { try listenOnControlSocket() } catch {
                log.log(.error, "cannot listen on \(stateDirectory.socketPath) again: \(error.message)")
            }
        }
        // The watches of a removed directory are gone with it.
        watchStateDirectory()
    }
}
