#if canImport(Glibc)
import Glibc
#endif

/// Defaults that the environment may set, so that commands work from any directory once a
/// shell exports `DIRECTOR_STATE` (and `DIRECTOR_JOBS` for `run` and `validate`). An
/// explicit `--state`/`--jobs` wins; an empty variable counts as unset.
enum EnvironmentDefaults {
    /// `$DIRECTOR_STATE`, else `.director`.
    static var state: String { variable("DIRECTOR_STATE") ?? ".director" }
    /// `$DIRECTOR_JOBS`, else `jobs`.
    static var jobs: String { variable("DIRECTOR_JOBS") ?? "jobs" }

    private static func variable(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(decoding: UnsafeRawBufferPointer(start: value, count: strlen(value)), as: UTF8.self)
        return text.isEmpty ? nil : text
    }
}
