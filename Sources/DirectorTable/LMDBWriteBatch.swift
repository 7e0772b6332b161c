import CLMDB

/// The changes of one `apply(_:)` inside one write transaction.
struct LMDBWriteBatch {
    let txn: OpaquePointer
    let dbs: DatabaseHandles
    /// Seqs given to appended events in this batch.
    private(set) var assignedSeqs: [UInt64] = []
    private var lastSeq: UInt64?

    init(txn: OpaquePointer, dbs: DatabaseHandles) {
        self.txn = txn
        self.dbs = dbs
    }

    mutating func apply(_ change: TableChange) throws(TableError) {
        switch change {
        case .upsertChild(let c): try put(.children, c.id, c.json)
        case .deleteChild(let id): try delete(.children, id)
        case .upsertGroup(let g): try put(.groups, g.key, g.json)
        case .deleteGroup(let p): try delete(.groups, p.isEmpty ? GroupRecord.rootKey : p)
        case .appendEvent(let e): try append(e)
        case .setMeta(let k, let v): try put(.meta, k.rawValue, v)
        case .putSpec(let k, let spec): try put(.specs, k, spec)
        case .deleteSpec(let k): try delete(.specs, k)
        case .mergeMeta(let k, let merge):
            // Read inside this write transaction: another process's commit is already in it.
            let stored = try TableSnapshot(txn: txn, dbs: dbs).meta(k)
            try put(.meta, k.rawValue, merge.applied(to: stored))
        }
    }

    private func dbi(_ name: DatabaseName) throws(TableError) -> MDB_dbi {
        guard let d = dbs[name] else { throw TableError(.storage, "database \(name.rawValue) is not open") }
        return d
    }

    private func put(_ db: DatabaseName, _ key: String, _ value: JSONValue) throws(TableError) {
        let dbi = try dbi(db)
        try LMDB.withVal(key) { (k: inout MDB_val) throws(TableError) in
            try LMDB.withVal(value.serialized()) { (v: inout MDB_val) throws(TableError) in
                try LMDB.check(mdb_put(txn, dbi, &k, &v, 0), "write \(db.rawValue)/\(key)")
            }
        }
    }

    private func delete(_ db: DatabaseName, _ key: String) throws(TableError) {
        let dbi = try dbi(db)
        try LMDB.withVal(key) { (k: inout MDB_val) throws(TableError) in
            let rc = mdb_del(txn, dbi, &k, nil)
            if rc != MDB_NOTFOUND { try LMDB.check(rc, "delete \(db.rawValue)/\(key)") }
        }
    }

    /// Numbers the event after the last stored key, read inside this transaction, so seqs
    /// continue across restarts and stay unique even if another process wrote events.
    private mutating func append(_ event: NewEvent) throws(TableError) {
        let seq: UInt64
        if let lastSeq {
            seq = lastSeq + 1
        } else {
            seq = try TableSnapshot(txn: txn, dbs: dbs).lastEventSeq() + 1
        }
        let dbi = try dbi(.events)
        try LMDB.withSeqVal(seq) { (k: inout MDB_val) throws(TableError) in
            try LMDB.withVal(event.numbered(seq).json.serialized()) { (v: inout MDB_val) throws(TableError) in
                // Keys only grow, so MDB_APPEND skips the search and fills pages completely.
                try LMDB.check(mdb_put(txn, dbi, &k, &v, UInt32(MDB_APPEND)), "append event \(seq)")
            }
        }
        lastSeq = seq
        assignedSeqs.append(seq)
    }

    /// Deletes the oldest events beyond `capacity`.
    func trimEvents(keeping capacity: Int) throws(TableError) {
        let excess = try TableSnapshot(txn: txn, dbs: dbs).entries(.events) - capacity
        guard excess > 0 else { return }
        var cursor: OpaquePointer?
        try LMDB.check(mdb_cursor_open(txn, try dbi(.events), &cursor), "open cursor on events")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val(mv_size: 0, mv_data: nil)
        var val = MDB_val(mv_size: 0, mv_data: nil)
        for _ in 0..<excess {
            try LMDB.check(mdb_cursor_get(cursor, &key, &val, MDB_FIRST), "find the oldest event")
            try LMDB.check(mdb_cursor_del(cursor, 0), "trim events")
        }
    }
}
