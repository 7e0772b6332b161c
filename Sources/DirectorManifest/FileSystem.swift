import Glibc

/// The few file-system reads the loader needs, through Glibc (no Foundation here).
enum FileSystem {
    /// Why a read failed: `strerror` text, or the size limit.
    struct Failure: Error {
        var message: String
        var isTooLarge = false
    }

    /// The manifest files of `directory`: `*.yaml` and `*.yml` regular files (or links to
    /// them), hidden files left out, in byte-wise name order.
    static func manifestFiles(in directory: String) throws(Failure) -> [String] {
        guard let dir = opendir(directory) else { throw Failure(message: lastError()) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard isManifestName(name), isRegularFile(directory + "/" + name) else { continue }
            names.append(name)
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// `*.yaml`/`*.yml`, not hidden: editor files (`.x.yaml.swp`, `x.yaml~`, `#x.yaml#`,
    /// `.#x.yaml`) never match.
    static func isManifestName(_ name: String) -> Bool {
        !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
            && name != ".yaml" && name != ".yml"
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// The whole file, or a failure; files over `limit` bytes fail without being read.
    static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(message: lastError()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure(message: lastError()) }
        if Int(info.st_size) > limit {
            throw Failure(message: "file is \(info.st_size) bytes; manifests are limited to \(limit) bytes (1 MiB)", isTooLarge: true)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(message: lastError())
            }
            if n == 0 { break }
            bytes += chunk[..<n]
            // The file may have grown since fstat.
            if bytes.count > limit {
                throw Failure(message: "file is over \(limit) bytes; manifests are limited to \(limit) bytes (1 MiB)", isTooLarge: true)
            }
        }
        return bytes
    }

    /// `path` made absolute against the current directory, normalised.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return PathText.normalize(path) }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return PathText.normalize("/" + path) }
        let cwd = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return PathText.resolve(path, against: cwd)
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
