// TEMPORARY: stands in for DirectorCore's ExitQuestion until the verdict branch is merged.
import DirectorCore
import DirectorManifest
package struct ExitQuestion {
    package var id: ChildID
    package var pid: Int32?
    package var status: ExitStatus
    package var restarts: Int
    package var proposed: ExitDecision
}
