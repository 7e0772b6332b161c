/// Lexical rules shared by the loader: names, environment variable names, did-you-mean.
package enum NameRules {
    /// `[A-Za-z0-9_.-]+`: group and job names, which become parts of child ids.
    static func isValidName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`: what a shell and `execve` expect of a variable name.
    static func isValidEnvName(_ text: String) -> Bool {
        guard let first = text.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "_")
        }
    }

    /// The candidate closest to `word` when it is close enough to be a typo: within edit
    /// distance 2, and 1 for words shorter than six characters (so `FOO` suggests nothing).
    package static func suggestion(for word: String, among candidates: [String]) -> String? {
        let length = word.count
        let limit = min(2, max(1, length / 3))
        var best: (name: String, distance: Int)?
        // The distance is at least the difference in length: skipping those candidates keeps
        // a huge misspelt word from costing length × candidate work per candidate.
        for candidate in candidates where abs(candidate.count - length) <= limit {
            let d = editDistance(word, candidate)
            if d <= limit, d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        return best?.name
    }

    /// Optimal string alignment distance: Levenshtein plus swaps of neighbours (`TREM` → `TERM` is 1).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
