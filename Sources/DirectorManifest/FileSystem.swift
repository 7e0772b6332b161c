import Glibc

/// The few file-system reads the loader needs, through Glibc (no Foundation here).
enum FileSystem {
    /// Why a read failed: `strerror` text, or the size limit.
    struct Failure: Error {
        var message: String
        var isTooLarge = false
    }

    /// The name of a manifest file as the directory holds it: Linux names are bytes.
    enum ManifestName: Equatable {
        /// A name that is valid UTF-8.
        case text(String)
        /// A name that is not, with its invalid bytes escaped as `\xNN` (see ``escapedName(_:)``).
        case notUTF8(escaped: String)
    }

    /// The manifest files of `directory`: `*.yaml` and `*.yml` regular files (or links to
    /// them), hidden files left out, in byte-wise name order. Names that are not UTF-8 are
    /// returned too (escaped): `String(cString:)` used to repair them to U+FFFD, so the file
    /// was then not found and silently left out.
    static func manifestFiles(in directory: String) throws(Failure) -> [ManifestName] {
        guard let dir = opendir(directory) else { throw Failure(message: lastError()) }
        defer { closedir(dir) }
        var found: [(bytes: [UInt8], name: ManifestName)] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            // The tests on the name are on ASCII (a leading `.`, the extension), which a
            // repaired copy keeps exactly.
            guard isManifestName(String(decoding: bytes, as: UTF8.self)),
                isRegularFile(rawPath: Array(directory.utf8) + [UInt8(ascii: "/")] + bytes)
            else { continue }
            if let text = String(validating: bytes, as: UTF8.self) {
                found.append((bytes, .text(text)))
            } else {
                found.append((bytes, .notUTF8(escaped: escapedName(bytes))))
            }
        }
        return found.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }.map(\.name)
    }

    /// `bytes` as text for a message: valid UTF-8 as it is, every byte of an invalid sequence
    /// and every control character as `\xNN`, and `\` as `\\` so that the text reads back
    /// to exactly one name.
    static func escapedName(_ bytes: [UInt8]) -> String {
        func hex(_ b: UInt8) -> String { "\\x" + (b < 0x10 ? "0" : "") + String(b, radix: 16) }
        var out = ""
        var parser = Unicode.UTF8.ForwardParser()
        var input = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &input) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if scalar == "\\" {
                    out += "\\\\"
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += hex(UInt8(scalar.value))
                } else {
                    out.unicodeScalars.append(scalar)
                }
                offset += encoded.count
            case .error(let length):
                for b in bytes[offset..<(offset + length)] { out += hex(b) }
                offset += length
            case .emptyInput:
                return out
            }
        }
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

    /// `isRegularFile` for a path given as bytes (need not be UTF-8).
    static func isRegularFile(rawPath: [UInt8]) -> Bool {
        var info = stat()
        let cPath = (rawPath + [0]).map { CChar(bitPattern: $0) }
        return stat(cPath, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
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
