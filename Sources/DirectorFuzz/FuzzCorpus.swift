import Glibc

/// The inputs mutations start from: valid and invalid manifests.
///
/// A case's input depends on the corpus as well as on the seed, so a (seed, index) pair
/// replays exactly only against the same corpus (the same commit of the repository).
public struct FuzzCorpus: Sendable {
    /// Each input's name (a path, or `builtin:N`), for reports.
    public var names: [String]
    /// Each input's bytes.
    public var inputs: [[UInt8]]

    /// Creates a corpus from named inputs.
    public init(_ entries: [(name: String, bytes: [UInt8])]) {
        names = entries.map(\.name)
        inputs = entries.map(\.bytes)
    }

    /// A few manifests compiled into the library, so the fuzzer works without files.
    public static let builtIn = FuzzCorpus(builtInTexts.enumerated().map { ("builtin:\($0.offset)", Array($0.element.utf8)) })

    /// The built-in manifests followed by every regular `*.yaml`/`*.yml` file of
    /// `directories`, each directory's files in byte-wise name order. Missing directories
    /// are skipped.
    public static func builtInPlus(directories: [String]) -> FuzzCorpus {
        var entries = zip(builtIn.names, builtIn.inputs).map { (name: $0, bytes: $1) }
        for directory in directories {
            for name in yamlFiles(in: directory) {
                let path = directory + "/" + name
                if let bytes = readFile(path) { entries.append((path, bytes)) }
            }
        }
        return FuzzCorpus(entries)
    }

    private static func yamlFiles(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if entry.pointee.d_type == UInt8(DT_REG), name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                names.append(name)
            }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n <= 0 { break }
            bytes += chunk[..<n]
        }
        return bytes
    }

    private static let builtInTexts = [
        """
        group: web
        strategy: one_for_one
        intensity: 5
        period: 30s
        jobs:
          - name: api
            command: ["/usr/bin/worker", "--slot", "{{instance}}"]
            instances: 4
            cwd: /srv/app
            env: {SLOT: "{{instance}}", MODE: prod}
            restart: permanent
            backoff: {initial: 100ms, max: 30s, factor: 2, jitter: 0.1}
            reset_after: 60s
            on_exit:
              - when: {code: [0]}
                do: delete
              - when: {signal: [KILL, SEGV], restarts: 5}
                do: restart
                after: 10s
                log: false
            shutdown: {signal: TERM, timeout: 5s}
            log:
              events: {start: true, exit: true, restart: true, stop: false}
              stdout: {include: ["^info"], exclude: ["debug"]}
              stderr: {include: [], exclude: ["^$"]}
          - group: {name: cache, strategy: one_for_all, jobs: [{name: redis, command: "redis-server"}]}

        """,
        """
        jobs:
          - name: one
            command: "sleep 60"
            delay: 1s
            shutdown:
              signal: SIGINT
              timeout: infinity

        """,
        """
        strategy: rest_for_one
        jobs:
          - group:
              name: inner
              intensity: 0
              period: 1h
              jobs:
                - name: deep
                  command: ["echo", "{{group}}/{{job}}"]
                  restart: transient
                  env:
                    A: "1"
                    B: true

        """,
    ]
}
