// The umbrella module for embedding the supervisor in a Swift program.
@_exported import DirectorCore
@_exported import DirectorManifest
@_exported import DirectorRuntime
@_exported import DirectorTable
