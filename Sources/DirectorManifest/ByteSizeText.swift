/// Sizes in manifests (`log.max_size`): a whole number of bytes, or one followed by `K`, `M`
/// or `G` (1024, 1024², 1024³; `KB`/`KiB` spellings are accepted too).
public enum ByteSizeText {
    /// The size in bytes, or nil when `text` is not one (or overflows).
    public static func parse(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let n = Int(digits) else { return nil }
        let unit = text.dropFirst(digits.count).uppercased()
        let factor: Int
        switch unit {
        case "", "B": factor = 1
        case "K", "KB", "KIB": factor = 1 << 10
        case "M", "MB", "MIB": factor = 1 << 20
        case "G", "GB", "GIB": factor = 1 << 30
        default: return nil
        }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: factor)
        return overflow ? nil : bytes
    }
}
