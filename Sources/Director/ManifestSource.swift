import DirectorManifest

/// Where a supervisor's tree comes from.
public enum ManifestSource: Sendable, Hashable {
    /// A jobs directory of YAML manifests (DESIGN §2): loaded and validated at start,
    /// reloaded on change (when `SupervisorOptions.watchesDirectory`), on `reload()` and on
    /// SIGHUP (when the supervisor handles signals).
    case directory(String)
    /// A tree built in code, checked by ``ManifestValidator`` at start; replaced with
    /// `SupervisorHandle.reload(_:)`.
    case manifest(Manifest)
}
