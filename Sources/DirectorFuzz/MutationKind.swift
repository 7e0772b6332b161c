/// One way the mutator changes a manifest. Each case draws one or more of these.
///
/// The list mixes blind byte-level damage (which finds parser and location bugs) with
/// manifest-aware edits (which get past the YAML layer into the typed decoders).
public enum MutationKind: String, CaseIterable, Sendable, Hashable {
    /// Flip one to three bits of one byte.
    case flipByte = "flip_byte"
    /// Insert a few bytes, mostly YAML indicators, quotes, line breaks and control bytes.
    case insertBytes = "insert_bytes"
    /// Delete a span of bytes.
    case deleteSpan = "delete_span"
    /// Copy a span of bytes right after itself.
    case duplicateSpan = "duplicate_span"
    /// Insert (or overwrite a line with) a line taken from another corpus input.
    case spliceLine = "splice_line"
    /// Replace a key with another key of the manifest language (or a near miss).
    case swapKey = "swap_key"
    /// Replace a value with a boundary value: huge or negative numbers, `-0`, `1e400`,
    /// `.inf`, empty or very long strings, unicode, NUL bytes, invalid UTF-8.
    case boundaryScalar = "boundary_scalar"
    /// Change the indentation of a line.
    case reindent = "reindent"
    /// Put a tab into a line's indentation or between tokens.
    case insertTab = "insert_tab"
    /// Add an anchor `&a`, alias `*a` or tag `!!str` before a value.
    case nodeProperty = "node_property"
    /// Insert a burst of nested flow or block collections, around the depth limit and past it.
    case deepNesting = "deep_nesting"
    /// Insert `{{`-templates, known, unknown and malformed, into command, env or cwd.
    case template = "template"
    /// Set a duration key to an edge case (`0ms`, `999999999h`, `1.5.5s`, ...).
    case durationEdge = "duration_edge"
    /// Set a log filter to an edge-case regex (`(`, `a{99999}`, `(a+)+$`, ...).
    case regexEdge = "regex_edge"
    /// Set a signal to a real, misspelt or numeric name.
    case signalName = "signal_name"
    /// Insert raw invalid UTF-8 or NUL bytes.
    case invalidUTF8 = "invalid_utf8"
}
