import Testing
@testable import DirectorManifest

/// schemas/manifest.schema.json and the loader must agree: what one accepts the other
/// accepts, and the schema-expressible mistakes fail under both. Runs python3 with
/// jsonschema and PyYAML through Corpus/validate_schema.py.
struct SchemaAgreementTests {
    /// Bad cases the schema can express (keys, types, patterns, ranges, enums).
    static let schemaExpressible = [
        "unknown-job-key.yaml", "unknown-group-key.yaml", "unknown-key-no-suggestion.yaml",
        "nested-group-unknown-key.yaml", "wrong-type-instances.yaml", "wrong-type-command.yaml",
        "wrong-type-jobs.yaml", "not-mapping.yaml", "scalar-document.yaml", "duration-no-unit.yaml",
        "duration-zero-no-unit.yaml", "duration-negative.yaml", "duration-bad-unit.yaml",
        "infinity-not-allowed.yaml", "bad-name.yaml", "bad-group-name.yaml", "unknown-signal.yaml",
        "unknown-signal-in-rule.yaml", "lowercase-signal.yaml", "bad-strategy.yaml", "bad-action.yaml",
        "missing-jobs.yaml", "missing-command.yaml", "missing-do.yaml", "empty-command.yaml",
        "negative-instances.yaml", "negative-intensity.yaml", "backoff-factor.yaml", "backoff-jitter.yaml",
        "delay-and-backoff.yaml", "after-without-restart.yaml", "exit-code-range.yaml", "bad-bool.yaml",
        "bad-env-name.yaml", "many-errors.yaml", "unquoted-number-arg.yaml", "null-env-value.yaml", "zero-period.yaml", "numeric-signal.yaml",
        "unknown-rlimit.yaml", "bad-umask.yaml", "ready-fd-range.yaml",
        "bad-log-size.yaml", "bad-update.yaml",
    ]

    /// `ok PATH` / `invalid PATH: why` per file, keyed by path.
    private func schemaVerdicts(_ files: [String]) throws -> [String: String] {
        let result = runProgram(["python3", Repo.corpus + "/validate_schema.py", Repo.schema] + files)
        try #require(result.status == 0, "validate_schema.py failed: \(result.output)")
        var verdicts: [String: String] = [:]
        for line in result.output.split(separator: "\n") {
            let text = String(line)
            guard let file = files.first(where: { text.hasPrefix("ok \($0)") || text.hasPrefix("invalid \($0):") }) else { continue }
            verdicts[file] = text
        }
        try #require(verdicts.count == files.count, "missing verdicts in:\n\(result.output)")
        return verdicts
    }

    @Test func validManifestsPassTheSchema() throws {
        let examples = Repo.entries(Repo.jobs).filter { $0.hasSuffix(".yaml") }.map { Repo.jobs + "/" + $0 }
        let good = Repo.entries(Repo.goodCorpus).filter { $0.hasSuffix(".yaml") }.map { Repo.goodCorpus + "/" + $0 }
        #expect(examples.count >= 3)
        for (file, verdict) in try schemaVerdicts(examples + good) {
            #expect(verdict.hasPrefix("ok "), "\(verdict)")
            _ = try #require(Repo.text(file)).isEmpty
        }
    }

    @Test func schemaExpressibleMistakesFailBoth() throws {
        let files = Self.schemaExpressible.map { Repo.badCorpus + "/" + $0 }
        for (file, verdict) in try schemaVerdicts(files) {
            #expect(verdict.hasPrefix("invalid "), "schema accepted \(file)")
            #expect(!corpusErrorLines(file, relativeTo: Repo.badCorpus).isEmpty, "loader accepted \(file)")
        }
    }

    @Test func schemaIsValidJSONSchemaWithClosedObjects() throws {
        let text = try #require(Repo.text(Repo.schema))
        #expect(text.contains("\"$schema\": \"https://json-schema.org/draft/2020-12/schema\""))
        // Every object definition is closed: as many additionalProperties:false as "type": "object"
        // minus env (whose values are typed instead).
        let objects = text.components(separatedBy: "\"type\": \"object\"").count - 1
        let closed = text.components(separatedBy: "\"additionalProperties\": false").count - 1
        #expect(closed == objects - 1)
    }
}

extension String {
    fileprivate func components(separatedBy separator: String) -> [Substring] {
        var parts: [Substring] = []
        var rest = self[...]
        while let r = rest.firstRange(of: separator) {
            parts.append(rest[..<r.lowerBound])
            rest = rest[r.upperBound...]
        }
        parts.append(rest)
        return parts
    }
}
