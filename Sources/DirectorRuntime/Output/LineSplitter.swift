/// Splits a byte stream into lines. Pure: bytes in, lines out.
///
/// A line longer than `maxLineBytes` is emitted cut (its first `maxLineBytes` bytes, with
/// `cut == true`) and the rest of it is dropped up to the next newline, so one runaway line
/// costs bounded memory. `finish()` flushes a final line that has no newline.
package struct LineSplitter: Sendable {
    /// The longest line kept whole, in bytes (default 64 KiB).
    package let maxLineBytes: Int
    private var partial: [UInt8] = []
    private var discarding = false

    /// Creates a splitter.
    package init(maxLineBytes: Int = 64 * 1024) { self.maxLineBytes = maxLineBytes }

    /// Feeds bytes; `emit` receives each complete line (without the newline) and whether it was
    /// cut.
    package mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: (ArraySlice<UInt8>, _ cut: Bool) -> Void) {
        var start = 0
        let count = bytes.count
        while start < count {
            var newline = start
            while newline < count && bytes[newline] != 0x0A { newline += 1 }
            if newline == count {
                if !discarding { appendPartial(bytes, start..<count, emit: emit) }
                return
            }
            if discarding {
                discarding = false
            } else if partial.isEmpty {
                let line = Array(bytes[start..<min(newline, start + maxLineBytes)])
                emit(line[...], newline - start > maxLineBytes)
            } else {
                appendPartial(bytes, start..<newline, emit: emit)
                if !discarding { emit(partial[...], false) }
                discarding = false
                partial.removeAll(keepingCapacity: false)
            }
            start = newline + 1
        }
    }

    /// Feeds bytes from an array.
    package mutating func feed(_ bytes: [UInt8], emit: (ArraySlice<UInt8>, _ cut: Bool) -> Void) {
        bytes.withUnsafeBytes { feed($0, emit: emit) }
    }

    /// Flushes the unterminated last line at end of stream.
    package mutating func finish(emit: (ArraySlice<UInt8>, _ cut: Bool) -> Void) {
        if !partial.isEmpty && !discarding { emit(partial[...], false) }
        partial.removeAll()
        discarding = false
    }

    /// Appends to the pending line; cuts it once it exceeds the limit.
    private mutating func appendPartial(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, emit: (ArraySlice<UInt8>, Bool) -> Void) {
        partial.append(contentsOf: bytes[range])
        if partial.count > maxLineBytes {
            emit(partial[0..<maxLineBytes], true)
            partial.removeAll(keepingCapacity: false)
            discarding = true
        }
    }
}
