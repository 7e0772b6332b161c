#if canImport(Glibc)
import Glibc
#endif

/// Whether `director run` colours children's ids: `--color always|never` decides; `auto`
/// colours a terminal unless `NO_COLOR` is set to anything non-empty (no-color.org).
enum ColorChoice {
    static func colours(_ option: ColorOption, fd: Int32) -> Bool {
        switch option {
        case .always: return true
        case .never: return false
        case .auto:
            if let value = getenv("NO_COLOR"), value.pointee != 0 { return false }
            return isatty(fd) == 1
        }
    }
}
