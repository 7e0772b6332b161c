/// The tables the mutator draws from: keys of the manifest language and edge-case values,
/// each written as YAML source bytes ready to paste after `key: `.
public enum EdgeValues {
    /// Every key of the manifest language, plus near misses the loader should reject
    /// with a suggestion.
    public static let keys: [String] = [
        "group", "strategy", "intensity", "period", "jobs", "name", "command", "instances",
        "cwd", "env", "restart", "delay", "backoff", "initial", "max", "factor", "jitter",
        "reset_after", "on_exit", "when", "code", "signal", "restarts", "do", "after", "log",
        "shutdown", "timeout", "events", "start", "exit", "stop", "stdout", "stderr", "include",
        "exclude", "comand", "Name", "instance", "jobs ", "", "-", "on-exit", "<<",
    ]

    /// Keys whose value is a duration.
    public static let durationKeys = ["delay", "period", "reset_after", "after", "timeout", "initial", "max"]

    /// Values that sit on the edges of YAML's scalar typing and of the loader's ranges.
    public static let scalars: [[UInt8]] = [
        "0", "-0", "+0", "-1", "1", "255", "256", "-129", "2147483647", "2147483648",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "99999999999999999999999999999999", "1e400", "-1e400", "1e-400",
        "0.5", "1.0", "1.", ".5", "0x10", "0o17", "017", "1_000", ".inf", "-.inf", ".nan",
        ".NaN", "inf", "nan", "true", "false", "True", "TRUE", "yes", "no", "on", "off", "~",
        "null", "Null", "NULL", "", "\"\"", "''", "\" \"", "\"\\0\"", "\"a\\0b\"", "\"\\x00\"",
        "\"\\uFFFF\"", "\"\\U0010FFFF\"", "\"\\uD800\"", "\"ünïcødé 🚀\"", "名前", "\"\u{200F}rtl\"",
        "e\u{301}\u{301}\u{301}", "\"\\t\\r\\n\"", "[]", "{}", "[[]]", "{a: b}", "- x", "?",
        ":", "|", ">", "|-\n  block", "'it''s'", "\"unterminated", "'unterminated", "#", "@", "`",
        "%", "!", "&", "*", "-", "---", "...",
    ].map { Array($0.utf8) } + [
        [0], [0x22, 0, 0x22], [0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xC0, 0xAF],
        [0xF4, 0x90, 0x80, 0x80], [0xEF, 0xBB, 0xBF], [0x7F], [0x1B, 0x5B], [0x0D],
    ]

    /// Lengths of generated long strings; the largest stays well under the 1 MiB limit so
    /// the case still reaches the parser.
    public static let longStringLengths = [256, 4_096, 65_537]

    /// Duration texts around every rule of ``DirectorManifest/DurationText``.
    public static let durations: [String] = [
        "0ms", "0s", "0", "0m", "0h", "1ms", "999999999h", "2562047h", "2562048h",
        "153722867m", "153722868m", "9223372036s", "9223372037s", "9223372036854ms",
        "9223372036855ms", "9223372036854775807s", "999999999999999999999s", "1.5.5s", "1.s",
        ".5s", "1e3s", "-0s", "-1s", "+1s", "1 s", "1S", "1MS", "1µs", "1ns", "1d", "1h30m",
        "infinity", "INFINITY", "inf", "0.0000000000000000000000001s", "0.999999999999999999999h",
        "1_000s", "٣s", "s", "ms", ".s", "..s", "1..5s", "\"5s\"", "~", "[5s]", "{s: 1}",
    ]

    /// Regex sources that are invalid, huge to compile or catastrophic to match (the loader
    /// only compiles them).
    public static let regexes: [String] = [
        "(", ")", "[", "]", "{", "a{99999}", "a{2,1}", "a{,5}", "(a+)+$", "(a*)*b", "(a|aa)+$",
        "(?<n>a)\\k<n>", "\\", "*", "a**", "+", "?", "(?i)abc", "[z-a]", "\\p{Foo}", "\\p{L}",
        "(?", "(?<", "[[:alpha:]]", "[[:nope:]]", "(?<=a+)b", "x{1000}{1000}", ".*.*.*.*=.*",
        "^$", "", "\\u{110000}", "\\u{D800}", "\\x{FFFFFFFF}", "\\1", "\\k<missing>",
        "(((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))",
        "[\\d-z]", "a{1,2}{3,4}", "(?x) a # comment", "\\Q(\\E", "🚀+", "[^]", "a|*",
    ]

    /// ProcessSignal names: every known one, lower case, numbers, junk.
    public static let signals: [String] = [
        "TERM", "SIGTERM", "KILL", "SIGKILL", "HUP", "INT", "QUIT", "USR1", "USR2", "STKFLT",
        "PWR", "SYS", "term", "SigTerm", "sigterm", "9", "-9", "0", "65", "99999999999999999999",
        "SIG", "SIGSIG", "SIGSIGTERM", "RTMIN", "SIGRTMIN+1", "IOT", "POLL", "CLD", "\"\"",
        "\" TERM\"", "\"TERM \"", "\"TERM\"", "TERMINATE", "ZZZ", "~", "[TERM, KILL]", "[]",
        "{}", "\"SIG\\0TERM\"",
    ]

    /// Template texts, known, unknown and malformed.
    public static let templates: [String] = [
        "{{instance}}", "{{id}}", "{{job}}", "{{group}}", "{{ id }}", "{{nope}}", "{{", "}}",
        "{{}}", "{{{{instance}}}}", "a{{instance", "{{instance}}{{", "}}{{", "{{ }}",
        "{{instance}", "{instance}}", "{{INSTANCE}}", "{{名前}}", "{{\\0}}",
        "{{instance}}{{id}}{{job}}{{group}}",
    ]

    /// Bytes the blind inserter likes: YAML indicators, quotes, breaks and control bytes.
    public static let interestingBytes: [UInt8] = Array(":-?[]{},#&*!|>'\"%@` \n\r\t\\".utf8)
        + [0, 0x0B, 0x0C, 0x7F, 0x85, 0xC2, 0xE2, 0x80, 0xA8, 0xFE, 0xFF]

    /// Raw byte sequences that are not valid UTF-8, or are NUL/BOM/control bytes libyaml
    /// treats specially.
    public static let invalidUTF8: [[UInt8]] = [
        [0], [0, 0, 0, 0], [0xFF], [0xFE, 0xFF], [0xC3], [0xC3, 0x28], [0xE2, 0x82],
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xC0, 0x80], [0xC0, 0xAF], [0xF8, 0x88, 0x80, 0x80, 0x80],
        [0xF4, 0x90, 0x80, 0x80], [0x80], [0xBF], [0xEF, 0xBB, 0xBF], [0xC2, 0x85], [0xE2, 0x80, 0xA8],
        [0xE2, 0x80, 0xA9], [0x1B], [0x0B],
    ]
}
