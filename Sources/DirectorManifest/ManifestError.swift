/// One problem found in a manifest, printed as exactly one line:
/// `FILE:LINE:COL: key.path: message` (the key path is left out when the problem concerns the
/// whole file, e.g. a syntax error before any key was read).
public struct ManifestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code to match on; the message is for people and may change.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The file or directory could not be read.
        case unreadable = "unreadable"
        /// The file is larger than ``YAMLParser/maxBytes``.
        case tooLarge = "too_large"
        /// libyaml rejected the text (tabs, bad indentation, invalid UTF-8, ...).
        case syntax = "syntax"
        /// Valid YAML the manifest language leaves out: anchors, aliases, tags, several documents.
        case unsupportedYAML = "unsupported_yaml"
        /// Nested deeper than ``YAMLParser/maxDepth``.
        case tooDeep = "too_deep"
        /// The same key twice in one mapping.
        case duplicateKey = "duplicate_key"
        /// A key the language does not define.
        case unknownKey = "unknown_key"
        /// A required key is absent.
        case missingKey = "missing_key"
        /// A value of the wrong YAML type (a list where a string belongs, a quoted number, ...).
        case wrongType = "wrong_type"
        /// A value of the right type but out of range or malformed (a duration without unit, ...).
        case invalidValue = "invalid_value"
        /// Two groups, or two children of one group, with the same name.
        case duplicateName = "duplicate_name"
        /// `{{name}}` with a name templates do not define.
        case unknownTemplateVariable = "unknown_template_variable"
        /// The directory declares more children in all than the limit (DESIGN §2: 100 000
        /// unless `--max-children` says otherwise); reported at the job that crosses it.
        case tooManyChildren = "too_many_children"
        /// A manifest file whose name is not valid UTF-8 (named with its bytes escaped).
        case invalidFileName = "invalid_file_name"
    }

    /// What kind of problem this is.
    public var code: Code
    /// Where it is.
    public var location: SourceLocation
    /// The key path from the file's top, e.g. `jobs[0].backoff.initial`; empty for the file itself.
    public var keyPath: String
    /// What is wrong, for people.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, at location: SourceLocation, keyPath: String = "", _ message: String) {
        self.code = code
        self.location = location
        self.keyPath = keyPath
        self.message = message
    }

    /// `FILE:LINE:COL: key.path: message`.
    public var description: String {
        keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}

/// Every problem found while loading, in file order then position order.
public struct ManifestErrors: Error, Sendable, Hashable, CustomStringConvertible {
    /// The problems; never empty when thrown.
    public var errors: [ManifestError]

    /// Wraps a list of problems.
    public init(_ errors: [ManifestError]) { self.errors = errors }

    /// One line per problem.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
