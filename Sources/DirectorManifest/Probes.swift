/// One check the daemon runs against a child from the outside: for `ready:` (polled until it
/// first succeeds) and for `health:` (repeated every `interval`). A probe never blocks the
/// daemon's loop: connects and reads are non-blocking, `exec` runs as a helper process.
public enum Probe: Sendable, Hashable {
    /// A TCP connect to `127.0.0.1:port` succeeds.
    case tcp(port: Int)
    /// `GET` of an `http://` URL answers with a 2xx status. The host is an IP address or
    /// `localhost`: a probe never waits for a name lookup.
    case http(HTTPTarget)
    /// The command exits 0 (argv; may hold templates, expanded per instance).
    case exec([String])

    /// `tcp`, `http` or `exec`: the key that names it.
    public var kind: String {
        switch self {
        case .tcp: "tcp"
        case .http: "http"
        case .exec: "exec"
        }
    }

    /// The probe with `{{instance}}`-style templates expanded for `id`.
    public func expanded(for id: ChildID) -> Probe {
        switch self {
        case .tcp: self
        case .http(let t): .http(HTTPTarget(url: Template.expand(t.url, for: id)) ?? t)
        case .exec(let argv): .exec(argv.map { Template.expand($0, for: id) })
        }
    }
}

/// An `http://host:port/path` URL split for the probe: the address to connect to and the
/// request line's target.
public struct HTTPTarget: Sendable, Hashable {
    /// The URL as written.
    public var url: String
    /// An IPv4 or IPv6 literal (`localhost` is `127.0.0.1`).
    public var host: String
    /// The port, 80 unless given.
    public var port: Int
    /// The path with its query, `/` at least.
    public var path: String
    /// The `Host:` header: the authority as written.
    public var authority: String

    /// Parses `http://host[:port][/path]`; nil when it is not of that form. A URL with a
    /// template is kept as written (host `""`) until it is expanded for an instance.
    public init?(url: String) {
        self.url = url
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        authority = String(rest[..<slash])
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
        var hostPart = Substring(authority)
        var portPart: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { return nil }
            let after = hostPart[hostPart.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() } else if !after.isEmpty { return nil }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            portPart = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        if url.contains("{{") {
            host = ""
            port = 0
            return
        }
        guard !hostPart.isEmpty, !hostPart.contains("@") else { return nil }
        host = hostPart == "localhost" ? "127.0.0.1" : String(hostPart)
        if let portPart {
            guard let p = Int(portPart), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            port = 80
        }
        guard HTTPTarget.isIPLiteral(host) else { return nil }
    }

    /// True for a dotted IPv4 address or an IPv6 address (hex digits, colons, dots).
    public static func isIPLiteral(_ host: String) -> Bool {
        if host.contains(":") { return host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in p.count <= 3 && !p.isEmpty && p.allSatisfy(\.isASCII) && Int(p).map { $0 <= 255 } == true }
    }
}

/// A job's `health:`: a probe repeated every `interval` once the child is ready; after
/// `failures` failures in a row the child is stopped with its `shutdown` and its exit has
/// cause `unhealthy`.
public struct HealthSpec: Sendable, Hashable {
    /// What is checked.
    public var probe: Probe
    /// Time between two checks (from the end of one to the start of the next).
    public var interval: Duration
    /// One check that takes longer has failed.
    public var timeout: Duration
    /// Failures in a row that make the child unhealthy, ≥ 1.
    public var failures: Int

    /// 10 s: `interval` when not given.
    public static let defaultInterval: Duration = .seconds(10)
    /// 2 s: `timeout` when not given.
    public static let defaultTimeout: Duration = .seconds(2)
    /// 3: `failures` when not given.
    public static let defaultFailures = 3

    /// Creates a health check.
    public init(
        _ probe: Probe, interval: Duration = HealthSpec.defaultInterval, timeout: Duration = HealthSpec.defaultTimeout,
        failures: Int = HealthSpec.defaultFailures
    ) {
        self.probe = probe
        self.interval = interval
        self.timeout = timeout
        self.failures = failures
    }
}
