/// The running count of children while a jobs directory is decoded (DESIGN §2: 100 000
/// children in all unless `--max-children` says otherwise).
///
/// The sum is checked job by job, as each `instances` is read, so that a manifest over the
/// limit is refused before anything is sized by it: the engine builds one record per child,
/// and `instances: 100000000` used to cost gigabytes (and abort the daemon) at a reload.
struct ChildTally {
    /// The most children the whole directory may declare.
    let maximum: Int
    /// Children declared so far, saturated at `Int.max` (two `instances: 9223372036854775807`
    /// must not trap).
    private(set) var total = 0
    /// Set once the limit was crossed: only the job that crosses it is reported.
    private(set) var exceeded = false

    init(maximum: Int) { self.maximum = maximum }

    /// Adds one job's instances. Returns the new total when this job is the one that takes
    /// the sum over the maximum, nil otherwise.
    mutating func add(_ instances: Int) -> Int? {
        let (sum, overflow) = total.addingReportingOverflow(max(0, instances))
        total = overflow ? .max : sum
        guard !exceeded, total > maximum else { return nil }
        exceeded = true
        return total
    }

    /// The message for the job that crossed the limit.
    func message(total: Int, instances: Int?) -> String {
        let made = total == .max ? "more than \(Int.max - 1) children" : "\(total) children"
        let what: String
        switch instances {
        case nil: what = "its one instance (the default) makes"
        case 1?: what = "1 instance makes"
        case let n?: what = "\(n) instances make"
        }
        return "\(what) \(made) in all, over the limit of \(maximum) (raise it with --max-children N)"
    }
}
