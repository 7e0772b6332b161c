extension GroupSpec {
    /// Every child id of this group in start order (jobs in declaration order, instances by
    /// number, nested groups in place), under `parentPath` (empty for a top-level group).
    public func childIDs(under parentPath: [String] = []) -> [ChildID] {
        let path = parentPath + [name]
        return children.flatMap { child -> [ChildID] in
            switch child {
            case .job(let job): (0..<job.instances).map { ChildID(groupPath: path, job: job.name, instance: $0) }
            case .group(let nested): nested.childIDs(under: path)
            }
        }
    }
}

extension Manifest {
    /// Every child id in start order: groups in file-name order, then as ``GroupSpec/childIDs(under:)``.
    public var childIDs: [ChildID] { groups.flatMap { $0.childIDs() } }
}
