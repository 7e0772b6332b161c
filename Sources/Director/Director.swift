// The embedding API: `import Director`.
//
// The vocabulary (manifests, child ids, exit statuses, tables) comes from the modules below
// and is re-exported whole; of the runtime only what an embedder names is exported, the rest
// is the package's own.
@_exported import DirectorCore
@_exported import DirectorManifest
@_exported import DirectorTable
@_exported import struct DirectorRuntime.ChildOutputLine
@_exported import struct DirectorRuntime.ChildLineFormat
@_exported import struct DirectorRuntime.DaemonLogHandler
@_exported import struct DirectorRuntime.DaemonLog
@_exported import struct DirectorRuntime.LogFields
@_exported import struct DirectorRuntime.SupervisorEvent
