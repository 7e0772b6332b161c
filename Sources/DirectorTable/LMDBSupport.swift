// The thin layer between Swift and liblmdb: status mapping, byte access, named databases.
// Everything above works with `TableSnapshot` (reads) and `LMDBWriteBatch` (writes).

import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// The named databases of the environment (DESIGN.md §4, plus `specs`).
enum DatabaseName: String, CaseIterable {
    case children, groups, events, meta, specs
}

/// Handles of the named databases; nil when a reader finds one missing (an older or
/// half-created table), which reads as empty.
struct DatabaseHandles: Sendable {
    var handles: [DatabaseName: MDB_dbi] = [:]
    subscript(name: DatabaseName) -> MDB_dbi? { handles[name] }
}

/// An environment handle. LMDB environments are safe to share between threads; with
/// `MDB_NOTLS` so are read transactions, as long as one is used by one thread at a time.
struct LMDBEnvHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

enum LMDB {
    /// Turns a non-zero LMDB/errno status into a `TableError` with LMDB's own text.
    static func check(_ rc: Int32, _ what: @autoclosure () -> String) throws(TableError) {
        guard rc != 0 else { return }
        throw error(rc, what())
    }

    static func error(_ rc: Int32, _ what: String) -> TableError {
        let text = String(cString: mdb_strerror(rc))
        switch rc {
        case MDB_MAP_FULL: return TableError(.mapFull, "\(what): \(text)")
        case EACCES, EPERM: return TableError(.permissionDenied, "\(what): \(text)")
        case ENOENT: return TableError(.notFound, "\(what): \(text)")
        case MDB_BAD_VALSIZE: return TableError(.invalidKey, "\(what): \(text)")
        // What LMDB says when the pages it follows are not what they should be.
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH, MDB_PANIC, MDB_BAD_TXN, MDB_CURSOR_FULL:
            return TableError(.damaged, "\(what): \(text)")
        default: return TableError(.storage, "\(what): \(text)")
        }
    }

    /// Calls `body` with an `MDB_val` over the UTF-8 bytes of `s`.
    static func withVal<R>(_ s: String, _ body: (inout MDB_val) throws(TableError) -> R) throws(TableError) -> R {
        var copy = s
        let result: Result<R, TableError> = copy.withUTF8 { buf in
            var val = MDB_val(mv_size: buf.count, mv_data: UnsafeMutableRawPointer(mutating: buf.baseAddress))
            return Result { () throws(TableError) -> R in try body(&val) }
        }
        return try result.get()
    }

    /// Calls `body` with an `MDB_val` over 8 bytes: `seq` big-endian, so keys sort by seq.
    static func withSeqVal<R>(_ seq: UInt64, _ body: (inout MDB_val) throws(TableError) -> R) throws(TableError) -> R {
        var be = seq.bigEndian
        let result: Result<R, TableError> = withUnsafeMutableBytes(of: &be) { raw in
            var val = MDB_val(mv_size: 8, mv_data: raw.baseAddress)
            return Result { () throws(TableError) -> R in try body(&val) }
        }
        return try result.get()
    }

    static func bytes(_ val: MDB_val) -> UnsafeBufferPointer<UInt8> {
        guard let p = val.mv_data, val.mv_size > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: val.mv_size)
    }

    static func string(_ val: MDB_val) -> String {
        String(decoding: bytes(val), as: UTF8.self)
    }

    static func seq(_ val: MDB_val) -> UInt64? {
        let b = bytes(val)
        guard b.count == 8 else { return nil }
        return b.reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func json(_ val: MDB_val, _ what: @autoclosure () -> String) throws(TableError) -> JSONValue {
        do {
            return try JSONValue.parse(bytes: bytes(val))
        } catch {
            throw TableError(.invalidRecord, "\(what()): \(error)")
        }
    }

    /// The files of an environment directory.
    static func dataFile(_ dir: String) -> String { dir + "/data.mdb" }
    static func lockFile(_ dir: String) -> String { dir + "/lock.mdb" }
}
