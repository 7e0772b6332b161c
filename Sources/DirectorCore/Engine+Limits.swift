// Pool sizes, for the runtime's limit on children in all (DESIGN §2, `--max-children`).
extension Engine {
    /// The children the tree wants now: every job's pool size, as the manifest or an
    /// operator's `scale` set it. Instances of a pool scaled down that have not exited yet
    /// are not counted; they are leaving.
    public var wantedChildren: Int {
        jobRecords.values.reduce(0) { $0 + $1.size }
    }

    /// The current pool size of the job `group/job`, or nil when there is no such job.
    public func poolSize(of jobKey: String) -> Int? {
        jobRecords[jobKey]?.size
    }
}
