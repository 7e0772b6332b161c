/// A copy of a supervisor's table kept somewhere else, fed after each commit: the hook that
/// the cluster table (`DirectorCluster`'s `ClusterMirror`, DESIGN §9) plugs into, so that the
/// supervisor and the `director` core path need nothing but this protocol.
///
/// The table stays the truth; a mirror is a view that may lag. The supervisor's table writer
/// calls it on its own thread, never on the event loop, and an implementation must still
/// return at once (queue the changes, write them elsewhere): a mirror that blocked would hold
/// up the next commit, never supervision, but a table that lags is a worse table.
public protocol TableMirror: Sendable {
    /// Called once, before the first commit, with the table being mirrored: a mirror that
    /// lost changes (its storage was unreachable) reads the whole state again from it.
    func attach(to table: any ChildTableReader)

    /// Called after each commit with the changes it applied, in order, and the sequence
    /// numbers the table gave to its `.appendEvent` changes, in order.
    func committed(_ changes: [TableChange], eventSeqs: [UInt64])

    /// Called once after the last commit, when the supervisor stops: send what is left
    /// (within a bounded time) and let go of connections.
    func close()
}
