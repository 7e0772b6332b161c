import Glibc
@testable import DirectorManifest

/// Paths of the repository and its fixtures, found from this file's location.
enum Repo {
    /// The package root (three levels above this file).
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = PathText.directoryName(path) }
        return path
    }()
    static let jobs = root + "/jobs"
    static let schema = root + "/schemas/manifest.schema.json"
    static let corpus = root + "/Tests/DirectorManifestTests/Corpus"
    static let badCorpus = corpus + "/bad"
    static let goodCorpus = corpus + "/good"

    /// Names in a directory (not hidden), sorted.
    static func entries(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    /// A file's text, or nil.
    static func text(_ path: String) -> String? {
        guard let bytes = try? FileSystem.read(path, limit: 1 << 24) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A fresh directory under /tmp, removed (with its files) by `remove()`.
struct TempDirectory {
    let path: String

    init() {
        var template = Array("/tmp/director-manifest-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes `bytes` to `name` inside the directory.
    func write(_ name: String, _ bytes: [UInt8]) {
        let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "open failed")
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            precondition(n > 0, "write failed")
            offset += n
        }
    }

    func write(_ name: String, _ text: String) { write(name, Array(text.utf8)) }

    /// Writes `bytes` to a file whose name is the raw bytes `name` (need not be UTF-8).
    func writeRaw(_ name: [UInt8], _ bytes: [UInt8]) {
        let fd = rawPath(name).withUnsafeBufferPointer { open($0.baseAddress!, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        precondition(fd >= 0, "open failed")
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        precondition(n == bytes.count, "write failed")
    }

    /// Deletes the files written here (by their raw names), then the directory.
    func remove() {
        for name in allNames() { _ = rawPath(name).withUnsafeBufferPointer { unlink($0.baseAddress!) } }
        rmdir(path)
    }

    /// `path/name` as a NUL-terminated C string, `name` taken as bytes.
    private func rawPath(_ name: [UInt8]) -> [CChar] {
        (Array(path.utf8) + [0x2F] + name + [0]).map { CChar(bitPattern: $0) }
    }

    private func allNames() -> [[UInt8]] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
        return names
    }
}

/// Loads a corpus entry (a file, or a directory of files) and returns its error lines with
/// the corpus directory prefix removed, or [] when it loaded.
func corpusErrorLines(_ entryPath: String, relativeTo base: String) -> [String] {
    do {
        if FileSystem.isDirectory(entryPath) {
            _ = try ManifestLoader.load(directory: entryPath)
        } else {
            let bytes = try FileSystem.read(entryPath, limit: 1 << 24)
            _ = try ManifestLoader.load(bytes: bytes, file: entryPath)
        }
        return []
    } catch let errors as ManifestErrors {
        return errors.errors.map { String($0.description.dropFirst(base.count + 1)) }
    } catch {
        return ["unexpected error: \(error)"]
    }
}

/// Runs a program to completion and returns its exit status and stdout; stderr is inherited.
/// The child is always waited for, so no process outlives the call.
func runProgram(_ argv: [String]) -> (status: Int32, output: String) {
    var pipeFDs: [Int32] = [0, 0]
    precondition(pipe(&pipeFDs) == 0, "pipe failed")
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ)
    close(pipeFDs[1])
    guard spawned == 0 else {
        close(pipeFDs[0])
        return (-1, "spawn failed: \(spawned)")
    }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        output += chunk[..<n]
    }
    close(pipeFDs[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
    return (exitStatus, String(decoding: output, as: UTF8.self))
}

/// One job `api` (`command: "sleep 60"`) with `keys` added, loaded as `t.yaml`: the suites
/// that test a job's keys one by one share it.
enum OneJob {
    struct NotAJob: Error, CustomStringConvertible {
        var description: String { "not a job" }
    }

    static func load(_ keys: String, directory: String = "/jobs") throws -> JobSpec {
        let group = try ManifestLoader.load(yaml: "jobs:\n  - name: api\n    command: \"sleep 60\"\n" + keys, file: "t.yaml",
            jobsDirectory: directory)
        guard case .job(let j) = group.children[0] else { throw NotAJob() }
        return j
    }

    /// The located errors of loading it; empty when it loads.
    static func errors(_ keys: String, directory: String = "/jobs") -> [String] {
        do {
            _ = try load(keys, directory: directory)
            return []
        } catch let e as ManifestErrors {
            return e.errors.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }
}
