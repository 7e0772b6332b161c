import DirectorManifest

/// The value rules of docs/manifest.md, checked on an accepted manifest: whatever the input,
/// the loader must never hand the engine a value outside them.
enum ManifestRules {
    static func check(_ group: GroupSpec, path: String) -> [FuzzFailure] {
        var failures: [FuzzFailure] = []
        func fail(_ message: String) { failures.append(FuzzFailure(.insaneManifest, message)) }
        if !isName(group.name) { fail("\(path): group name `\(group.name)` breaks [A-Za-z0-9_.-]+") }
        if group.intensity < 0 { fail("\(path): intensity \(group.intensity) < 0") }
        if group.period <= .zero { fail("\(path): period \(group.period) ≤ 0") }
        var names: Set<String> = []
        for child in group.children {
            if !names.insert(child.name).inserted { fail("\(path): two children named `\(child.name)`") }
            switch child {
            case .job(let job): failures += check(job, path: "\(path)/\(job.name)")
            case .group(let nested): failures += check(nested, path: "\(path)/\(nested.name)")
            }
        }
        return failures
    }

    static func check(_ job: JobSpec, path: String) -> [FuzzFailure] {
        var failures: [FuzzFailure] = []
        func fail(_ message: String) { failures.append(FuzzFailure(.insaneManifest, "\(path): \(message)")) }
        if !isName(job.name) { fail("job name `\(job.name)` breaks [A-Za-z0-9_.-]+") }
        switch job.command {
        case .argv(let argv): if argv.first?.isEmpty ?? true { fail("empty argv or program name") }
        case .shell(let text): if text.allSatisfy(\.isWhitespace) { fail("blank shell command") }
        }
        if job.instances < 0 { fail("instances \(job.instances) < 0") }
        if !job.cwd.hasPrefix("/") { fail("cwd `\(job.cwd)` is not absolute") }
        for variable in job.env where !isEnvName(variable.name) { fail("env name `\(variable.name)`") }
        if job.delay < .zero { fail("delay \(job.delay) < 0") }
        if job.resetAfter <= .zero { fail("reset_after \(job.resetAfter) ≤ 0") }
        if let backoff = job.backoff {
            if backoff.initial <= .zero { fail("backoff.initial \(backoff.initial) ≤ 0") }
            if backoff.max < backoff.initial { fail("backoff.max < initial") }
            if !(backoff.factor >= 1 && backoff.factor.isFinite) { fail("backoff.factor \(backoff.factor)") }
            if !(0...1).contains(backoff.jitter) { fail("backoff.jitter \(backoff.jitter)") }
        }
        for (i, rule) in job.onExit.enumerated() {
            if let codes = rule.when.codes, codes.contains(where: { !(0...255).contains($0) }) { fail("on_exit[\(i)] code out of 0...255") }
            if let signals = rule.when.signals, signals.contains(where: { !(1...31).contains($0.number) }) { fail("on_exit[\(i)] signal") }
            if let n = rule.when.minRestarts, n < 0 { fail("on_exit[\(i)] restarts \(n) < 0") }
            if let after = rule.after {
                if after < .zero { fail("on_exit[\(i)].after < 0") }
                if rule.action != .restart { fail("on_exit[\(i)].after without restart") }
            }
        }
        if !(1...31).contains(job.shutdown.signal.number) { fail("shutdown signal \(job.shutdown.signal.number)") }
        if case .after(let timeout) = job.shutdown.timeout, timeout < .zero { fail("shutdown timeout < 0") }
        return failures
    }

    private static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    private static func isEnvName(_ text: String) -> Bool {
        guard let first = text.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return text.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
