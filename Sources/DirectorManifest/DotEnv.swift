/// The `env_file` format (dotenv): `KEY=VALUE` lines, `export KEY=VALUE` accepted, blank lines
/// and `#` comments skipped. A value is taken as written, trimmed, up to a ` #` comment; in
/// single quotes it is literal, in double quotes `\n`, `\t`, `\"`, `\\` and `\$` are escapes.
/// Nothing is expanded (`$OTHER` stays as it is) and no value spans lines: what the file says
/// is what the child gets.
enum DotEnv {
    /// A problem at a 1-based line and column of the file.
    struct Problem: Error {
        var line: Int
        var column: Int
        var message: String
    }

    /// The variables in file order.
    static func parse(_ bytes: [UInt8]) throws(Problem) -> [EnvVar] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Problem(line: 1, column: 1, message: "the env file is not valid UTF-8")
        }
        var vars: [EnvVar] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            line = line.dropFirst(indent)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count).drop { $0 == " " } }
            guard let eq = line.firstIndex(of: "=") else {
                throw Problem(line: lineNumber, column: indent + 1, message: "expected KEY=VALUE")
            }
            let name = String(line[..<eq].reversed().drop { $0 == " " || $0 == "\t" }.reversed())
            guard NameRules.isValidEnvName(name) else {
                throw Problem(line: lineNumber, column: indent + 1, message: "invalid environment variable name `\(name)`")
            }
            let rest = line[line.index(after: eq)...].drop { $0 == " " || $0 == "\t" }
            let column = raw.distance(from: raw.startIndex, to: rest.startIndex) + 1
            vars.append(EnvVar(name: name, value: try value(rest, line: lineNumber, column: column)))
        }
        return vars
    }

    private static func value(_ text: Substring, line: Int, column: Int) throws(Problem) -> String {
        guard let quote = text.first, quote == "'" || quote == "\"" else {
            let end = text.firstRange(of: " #")?.lowerBound ?? text.firstRange(of: "\t#")?.lowerBound ?? text.endIndex
            return String(text[..<end].reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        }
        var out = ""
        var i = text.index(after: text.startIndex)
        while i < text.endIndex {
            let c = text[i]
            if c == quote {
                let after = text[text.index(after: i)...].drop { $0 == " " || $0 == "\t" }
                guard after.isEmpty || after.hasPrefix("#") else {
                    throw Problem(line: line, column: column, message: "unexpected text after the closing quote")
                }
                return out
            }
            if quote == "\"" && c == "\\", text.index(after: i) < text.endIndex {
                i = text.index(after: i)
                switch text[i] {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\"", "\\", "$": out.append(text[i])
                default: out.append("\\"); out.append(text[i])
                }
            } else {
                out.append(c)
            }
            i = text.index(after: i)
        }
        throw Problem(line: line, column: column, message: "unterminated \(quote == "'" ? "single" : "double")-quoted value")
    }
}
