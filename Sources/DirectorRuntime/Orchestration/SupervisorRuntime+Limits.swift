import DirectorCore
import DirectorManifest
import DirectorTable

// The limit on children in all (DESIGN §2, `director run --max-children`, default 100 000).
// The loader checks the manifests' sum while decoding; what it cannot see are the pool sizes
// an operator chose with `director scale`, which the running tree keeps. These checks add
// them, so that no reload, scale or restart makes the tree want more children than allowed.
extension SupervisorRuntime {
    /// Loads the jobs directory for a reload: every check of the loader (the limit included),
    /// then the limit again with the pools an operator scaled that this reload leaves at
    /// their size (those whose `instances` did not change).
    func loadForReload() throws(ManifestErrors) -> Manifest {
        guard let jobsDirectory else {
            throw ManifestErrors([ManifestError(
                .invalidValue, at: SourceLocation(file: "(in code)", line: 1, column: 1),
                "this supervisor's manifest was built in code: reload it with SupervisorHandle.reload(_:)")])
        }
        return try ManifestLoader.load(directory: jobsDirectory, maxChildren: options.maxChildren)
    }

    /// The error when the pool sizes kept through a reload of `new` take it over the limit,
    /// located at the first such job (its `name`).
    func keptScaleError(_ new: Manifest) -> ManifestError? {
        var before: [String: Int] = [:]
        for (key, job) in manifest.jobsByKey { before[key] = job.instances }
        var total = 0
        var firstKept: (key: String, job: JobSpec, size: Int)?
        for (key, job) in new.jobsByKey {
            var size = job.instances
            // Same rule as the engine's reload: a pool whose `instances` did not change keeps
            // its current size; a changed `instances` resizes it.
            if before[key] == job.instances, let kept = engine.poolSize(of: key) {
                size = kept
                if kept > job.instances && firstKept == nil { firstKept = (key, job, kept) }
            }
            let (sum, overflow) = total.addingReportingOverflow(size)
            total = overflow ? .max : sum
        }
        guard total > options.maxChildren, let kept = firstKept else { return nil }
        let location = kept.job.location ?? SourceLocation(file: (jobsDirectory ?? "(in code)"), line: 1, column: 1)
        return ManifestError(.tooManyChildren, at: location,
            "job \(kept.key) keeps the \(kept.size) instances `director scale` gave it; with them this reload makes "
                + "\(total) children in all, over the limit of \(options.maxChildren) "
                + "(scale the job down first, or raise the limit with --max-children N)")
    }

    /// The error when a manifest built in code (the loader checks files itself) has more
    /// children than the limit.
    func totalError(_ new: Manifest) -> ManifestError? {
        guard jobsDirectory == nil || !dynamicJobs.isEmpty, new.childCount > options.maxChildren else { return nil }
        return ManifestError(.tooManyChildren, at: SourceLocation(file: jobsDirectory ?? "(in code)", line: 1, column: 1),
            "the manifest has \(new.childCount) children in all, over the limit of \(options.maxChildren)")
    }

    /// The refusal of `director scale JOB N` when it would take the tree over the limit; nil
    /// when it fits, when it shrinks the pool, or when there is no such job (the engine
    /// answers `not_found`). Checked before the engine sees the command: the engine creates
    /// one record per new instance at once.
    func scaleRefusal(job: String, to instances: Int) -> ControlFailure? {
        guard let current = engine.poolSize(of: job), instances > current else { return nil }
        let total = engine.wantedChildren - current + instances
        guard total > options.maxChildren else { return nil }
        return ControlFailure(.tooManyChildren,
            "scaling \(job) to \(instances) would make \(total) children in all, over the limit of "
                + "\(options.maxChildren) (director run --max-children N)")
    }
}

extension OperatorDecisions {
    /// Drops every pool size an operator chose in a previous run when, with them, `manifest`
    /// would want more than `maxChildren` children (a daemon restarted with a lower
    /// `--max-children`, or a table written elsewhere). Returns the total they would have
    /// made, or nil when they fit and were kept.
    mutating func dropScales(beyond maxChildren: Int, in manifest: Manifest) -> Int? {
        guard !scaled.isEmpty else { return nil }
        var total = 0
        for (key, job) in manifest.jobsByKey {
            var size = job.instances
            if let s = scaled[key], s.specHash == job.stableHash { size = s.instances }
            let (sum, overflow) = total.addingReportingOverflow(size)
            total = overflow ? .max : sum
        }
        guard total > maxChildren else { return nil }
        scaled = [:]
        return total
    }
}
