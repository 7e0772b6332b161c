import DirectorCore
import DirectorManifest
import DirectorRuntime

/// Holds a delegate's states on the supervisor's thread and turns its callbacks into the
/// runtime's hooks (plain closures over values: the engine never calls out).
final class DelegateAdapter<Delegate: SupervisorDelegate> {
    let delegate: Delegate
    var state: Delegate.State
    var childStates: [ChildID: Delegate.ChildState] = [:]
    init(_ delegate: Delegate) {
        self.delegate = delegate
        self.state = delegate.initialState()
    }

    func child(_ id: ChildID, job: JobSpec, pid: Int32?, proposed: ExitDecision? = nil) -> SupervisedChild<Delegate.ChildState> {
        let key = (id.groupPath + [id.job]).joined(separator: "/")
        let childState = childStates[id] ?? delegate.initialChildState(for: id, job: job)
        return SupervisedChild(id: id, jobKey: key, job: job, pid: pid, proposed: proposed, state: childState)
    }

    var hooks: DelegateHooks {
        DelegateHooks(
            decideExit: { [self] question, job in
                let child = child(question.id, job: job, pid: question.pid, proposed: question.proposed)
                let verdict = delegate.handleExit(child: child, status: question.status, restarts: question.restarts, state: state)
                state = verdict.state
                childStates[question.id] = verdict.childState
                return verdict.decision(proposed: question.proposed)
            },
            started: { [self] snapshot, job in
                let child = child(snapshot.id, job: job, pid: snapshot.pid)
                let reply = delegate.handleStart(child: child, state: state)
                state = reply.state
                childStates[snapshot.id] = reply.childState
                return reply.log
            },
            terminated: { [self] snapshot, job, status in
                let child = child(snapshot.id, job: job, pid: nil)
                let reply = delegate.handleTerminate(child: child, reason: status, state: state)
                state = reply.state
                childStates[snapshot.id] = reply.childState
                return reply.log
            },
            removed: { [self] id in childStates[id] = nil },
            finished: { [self] status in delegate.terminate(status: status, state: state) })
    }
}

/// Opens the existential: the adapter needs the delegate's concrete state types.
func makeHooks(_ delegate: some SupervisorDelegate) -> DelegateHooks {
    DelegateAdapter(delegate).hooks
}
