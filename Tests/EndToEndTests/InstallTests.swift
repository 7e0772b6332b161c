import Foundation
import Testing

/// `make install DESTDIR=…`: the binary, the man page generated from the command definitions
/// and the three completion scripts land under DESTDIR/PREFIX, the page renders with `man -l`
/// and bash loads the completion. The debug build is installed (INSTALL_CONFIG=debug): it is
/// the one `swift build --build-tests` made, so the test compiles at most the man page tool.
struct InstallTests {
    static let prefix = "/opt/director-test"

    /// PATH with the toolchain on it (make and the install script call `swift`), and
    /// --ignore-lock: `swift test` holds the lock on .build for as long as the tests run, so
    /// the script's `swift package generate-manual` would wait for this very test forever.
    static var environment: [String: String] {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return ["PATH": "/opt/swift/usr/bin:" + path, "SWIFTPM_FLAGS": "--ignore-lock"]
    }

    /// One install, then each installed file checked, then `make uninstall` (each `make
    /// install` runs the man page generator, tens of seconds: once is enough).
    @Test func installThenUninstall() throws {
        let dest = try TemporaryDirectory()
        let r = try CommandResult.run(
            ["/usr/bin/timeout", "1200", "/usr/bin/make", "install", "DESTDIR=" + dest.path, "PREFIX=" + Self.prefix, "INSTALL_CONFIG=debug"],
            environment: Self.environment, cwd: RepoPaths.root)
        try #require(r.status == 0, "make install failed:\n\(r.stdout)\n\(r.stderr.suffix(4000))")
        let root = dest.path + Self.prefix
        try checkFiles(root, printed: r.stdout)
        try checkManPage(root + "/share/man/man1/director.1")
        try checkBashCompletion(root + "/share/bash-completion/completions/director", bin: root + "/bin")
        try checkOtherShells(root)
        try checkUninstall(dest.path)
    }

    func checkFiles(_ root: String, printed: String) throws {
        let files: [(String, mode_t)] = [
            ("bin/director", 0o755), ("share/man/man1/director.1", 0o644),
            ("share/bash-completion/completions/director", 0o644), ("share/zsh/site-functions/_director", 0o644),
            ("share/fish/vendor_completions.d/director.fish", 0o644),
        ]
        for (file, mode) in files {
            var st = stat()
            #expect(stat(root + "/" + file, &st) == 0, "missing \(file)")
            #expect(st.st_mode & 0o777 == mode, "\(file) has mode \(String(st.st_mode & 0o777, radix: 8))")
            #expect(printed.contains("installed \(root)/\(file)"), "\(printed)")
        }
        // Nothing outside DESTDIR: the prefix itself does not exist on this machine.
        #expect(!FileManager.default.fileExists(atPath: Self.prefix))
        let version = try CommandResult.run([root + "/bin/director", "--version"])
        #expect(version.status == 0 && version.stdout == "0.1.0\n", "\(version)")
    }

    func checkManPage(_ page: String) throws {
        guard let man = Self.which("man") else {
            print("InstallTests: skipped `man -l`: no man on the PATH (.ci/run installs man-db)")
            return
        }
        let r = try CommandResult.run([man, "-l", page], environment: ["MANWIDTH": "100", "MANPAGER": "cat", "PAGER": "cat"])
        #expect(r.status == 0, "\(r.stderr)")
        // groff's warnings (an empty input line in mdoc, an unknown macro) go to stderr.
        #expect(r.stderr.isEmpty, "man -l warned: \(r.stderr)")
        // Rendered (no macros left), with every command's section from its definition.
        #expect(r.stdout.contains("DIRECTOR(1)") && r.stdout.contains("SYNOPSIS"), "\(r.stdout.prefix(2000))")
        #expect(!r.stdout.contains(".Nm") && !r.stdout.contains(".It"))
        for command in ["run", "validate", "ps", "logs", "events", "count", "spec", "start", "stop", "restart", "reload"] {
            #expect(r.stdout.contains("\n     \(command) ") || r.stdout.contains("\n     \(command)\n"), "no section for \(command)")
        }
        #expect(r.stdout.contains("--state dir"), "options rendered")
    }

    func checkBashCompletion(_ file: String, bin: String) throws {
        // As bash calls a -F function: COMP_* set, arguments command, current word, previous.
        let script = """
            source "$1" || exit 9
            complete -p director
            COMP_WORDS=(director p); COMP_CWORD=1; COMP_LINE='director p'; COMP_POINT=10
            COMPREPLY=(); _director director p director; echo "commands: ${COMPREPLY[*]}"
            COMP_WORDS=(director ps --js); COMP_CWORD=2; COMP_LINE='director ps --js'; COMP_POINT=16
            COMPREPLY=(); _director director --js ps; echo "flags: ${COMPREPLY[*]}"
            """
        let r = try CommandResult.run(["/bin/bash", "-c", script, "bash", file], environment: ["PATH": bin + ":/usr/bin:/bin"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("complete -o filenames -F _director director"), "\(r.stdout)")
        #expect(r.stdout.contains("commands: ps\n"), "\(r.stdout)")
        #expect(r.stdout.contains("flags: --json\n"), "\(r.stdout)")
    }

    func checkOtherShells(_ root: String) throws {
        for (shell, file) in [("zsh", "share/zsh/site-functions/_director"), ("fish", "share/fish/vendor_completions.d/director.fish")] {
            guard let path = Self.which(shell) else {
                print("InstallTests: skipped the \(shell) syntax check: no \(shell) on the PATH")
                continue
            }
            let r = try CommandResult.run([path, "-n", root + "/" + file])
            #expect(r.status == 0, "\(shell) -n: \(r.stderr)")
        }
    }

    func checkUninstall(_ dest: String) throws {
        let r = try CommandResult.run(
            ["/usr/bin/timeout", "60", "/usr/bin/make", "uninstall", "DESTDIR=" + dest, "PREFIX=" + Self.prefix],
            environment: Self.environment, cwd: RepoPaths.root)
        #expect(r.status == 0, "\(r.stderr)")
        var left: [String] = []
        let files = FileManager.default.enumerator(atPath: dest)?.compactMap { $0 as? String } ?? []
        for f in files {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: dest + "/" + f, isDirectory: &isDirectory), !isDirectory.boolValue { left.append(f) }
        }
        #expect(left == [], "left behind: \(left)")
    }

    static func which(_ name: String) -> String? {
        for dir in ["/usr/bin", "/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/" + name) {
            return dir + "/" + name
        }
        return nil
    }
}
