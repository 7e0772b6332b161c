// Decoding helpers shared by the record types: every failure names the record and field,
// so a corrupt or foreign row is diagnosable from the error alone.

/// Reads typed fields out of one JSON object, throwing `TableError.invalidRecord` that names
/// the record kind and the field.
struct RecordFields {
    let record: String
    /// The members in stored order. Records have about a dozen fields, so a linear search
    /// beats building a dictionary for every record (`director ps` decodes 10 000 of them).
    let members: [(String, JSONValue)]

    init(_ json: JSONValue, record: String) throws(TableError) {
        guard case .object(let list) = json else {
            throw TableError(.invalidRecord, "\(record): expected a JSON object")
        }
        self.record = record
        self.members = list
    }

    func fail(_ field: String, _ expectation: String) -> TableError {
        TableError(.invalidRecord, "\(record): field '\(field)': \(expectation)")
    }

    /// The member `field`, or nil when absent.
    func optionalValue(_ field: String) -> JSONValue? {
        // The first occurrence wins, as JSON readers commonly do with duplicate keys.
        for (key, v) in members where key == field { return v }
        return nil
    }

    func value(_ field: String) throws(TableError) -> JSONValue {
        guard let v = optionalValue(field) else { throw fail(field, "missing") }
        return v
    }

    func string(_ field: String) throws(TableError) -> String {
        guard let s = try value(field).stringValue else { throw fail(field, "expected a string") }
        return s
    }

    /// A string member that may be absent or null (fields added by later formats).
    func optionalString(_ field: String) throws(TableError) -> String? {
        guard let v = optionalValue(field), !v.isNull else { return nil }
        guard let s = v.stringValue else { throw fail(field, "expected a string or null") }
        return s
    }

    /// A boolean member that may be absent or null (fields added by later formats).
    func optionalBool(_ field: String) throws(TableError) -> Bool? {
        guard let v = optionalValue(field), !v.isNull else { return nil }
        guard let b = v.boolValue else { throw fail(field, "expected true, false or null") }
        return b
    }

    func int(_ field: String) throws(TableError) -> Int64 {
        guard let i = try value(field).intValue else { throw fail(field, "expected an integer") }
        return i
    }

    func int32(_ field: String) throws(TableError) -> Int32 {
        guard let i = Int32(exactly: try int(field)) else { throw fail(field, "out of range") }
        return i
    }

    func optionalInt(_ field: String) throws(TableError) -> Int64? {
        let v = try value(field)
        if v.isNull { return nil }
        guard let i = v.intValue else { throw fail(field, "expected an integer or null") }
        return i
    }

    func optionalInt32(_ field: String) throws(TableError) -> Int32? {
        guard let i = try optionalInt(field) else { return nil }
        guard let n = Int32(exactly: i) else { throw fail(field, "out of range") }
        return n
    }

    func bool(_ field: String) throws(TableError) -> Bool {
        guard let b = try value(field).boolValue else { throw fail(field, "expected true or false") }
        return b
    }

    func time(_ field: String) throws(TableError) -> UnixMillis {
        guard let s = try value(field).stringValue, let t = RFC3339.parse(s) else {
            throw fail(field, "expected an RFC 3339 time")
        }
        return t
    }

    func optionalTime(_ field: String) throws(TableError) -> UnixMillis? {
        if try value(field).isNull { return nil }
        return try time(field)
    }

    func enumeration<E: RawRepresentable>(_ field: String, _: E.Type) throws(TableError) -> E where E.RawValue == String {
        let s = try string(field)
        guard let e = E(rawValue: s) else { throw fail(field, "unknown value \"\(s)\"") }
        return e
    }
}

extension Optional where Wrapped == UnixMillis {
    /// The time as a JSON string, or null.
    var jsonTime: JSONValue { map { .string(RFC3339.format($0)) } ?? .null }
}

extension Optional where Wrapped: BinaryInteger {
    /// The number as JSON, or null.
    var jsonInt: JSONValue { map { .int(Int64($0)) } ?? .null }
}
