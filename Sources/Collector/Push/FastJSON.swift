/// A strict scanner for the two small JSON shapes the collector reads on every request: a Loki
/// push and a flat frontend event line. Foundation's JSONDecoder (through Codable) took about a
/// fifth of the collector's CPU under load (docs/collector.md, benchmark). This scanner accepts
/// only plain JSON of the expected shape and answers nil for anything else: other keys,
/// duplicate keys, `\u` escapes, numbers where strings belong, any syntax error. The callers
/// then fall back to JSONDecoder, which stays the authority and writes the error messages.
/// FastJSONTests checks on generated and mutated input that whatever this accepts, JSONDecoder
/// decodes to the same value.
struct FastJSONScanner {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// Consumes `byte` (after whitespace) if it is next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    var atEnd: Bool {
        mutating get {
            skipWhitespace()
            return index == bytes.count
        }
    }

    /// A JSON string with the simple escapes; nil for `\u`, raw control characters or bad UTF-8.
    mutating func string() -> String? {
        guard take(Self.quote), let (raw, escaped, ascii) = stringBody() else { return nil }
        // Pure ASCII needs no validation; String(validating:) showed up in the profile.
        guard escaped else { return ascii ? String(decoding: raw, as: UTF8.self) : String(validating: raw, as: UTF8.self) }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(raw.count)
        var position = 0
        while position < raw.count {
            var byte = raw[position]
            if byte == Self.backslash {
                position += 1
                switch raw[position] {
                case Self.quote: byte = Self.quote
                case Self.backslash: byte = Self.backslash
                case UInt8(ascii: "/"): byte = UInt8(ascii: "/")
                case UInt8(ascii: "b"): byte = 0x08
                case UInt8(ascii: "f"): byte = 0x0C
                case UInt8(ascii: "n"): byte = 0x0A
                case UInt8(ascii: "r"): byte = 0x0D
                case UInt8(ascii: "t"): byte = 0x09
                default: return nil  // `\u` (left to JSONDecoder) or an invalid escape
                }
            }
            unescaped.append(byte)
            position += 1
        }
        return String(validating: unescaped, as: UTF8.self)
    }

    /// Scans up to and past the closing quote (the opening one already taken): the raw bytes
    /// between the quotes, whether they hold a backslash, and whether they are all ASCII.
    private mutating func stringBody() -> (raw: UnsafeRawBufferPointer, escaped: Bool, ascii: Bool)? {
        let start = index
        var escaped = false
        var high: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == Self.quote { break }
            if byte < 0x20 { return nil }
            high |= byte
            if byte == Self.backslash {
                escaped = true
                index += 2
            } else {
                index += 1
            }
        }
        guard index < bytes.count else { return nil }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        index += 1
        return (raw, escaped, high < 0x80)
    }

    /// The bytes of the next string when it is plain ASCII without escapes (object keys, in
    /// practice), so that keys are compared without building Strings. nil for anything else,
    /// with the scanner left where it was.
    mutating func plainString() -> UnsafeRawBufferPointer? {
        let saved = index
        guard take(Self.quote), let (raw, escaped, ascii) = stringBody(), !escaped, ascii else {
            index = saved
            return nil
        }
        return raw
    }

    /// Skips a string with exactly the checks of `string()`, without building it.
    mutating func skipString() -> Bool {
        guard take(Self.quote), let (raw, escaped, ascii) = stringBody() else { return false }
        if escaped {
            var position = 0
            while position < raw.count {
                if raw[position] == Self.backslash {
                    position += 1
                    switch raw[position] {
                    case Self.quote, Self.backslash, UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        break
                    default: return false
                    }
                }
                position += 1
            }
        }
        // Escapes stand for ASCII, so the raw bytes are valid UTF-8 exactly when the string is.
        return ascii || String(validating: raw, as: UTF8.self) != nil
    }

    /// Whether `raw` holds exactly the bytes of `word`.
    static func equals(_ raw: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        guard raw.count == word.utf8CodeUnitCount else { return false }
        for offset in 0..<raw.count where raw[offset] != word.utf8Start[offset] { return false }
        return true
    }

    /// A JSON number as a finite Double; nil if the text is not exactly JSON's number grammar.
    mutating func number() -> Double? {
        skipWhitespace()
        let start = index
        func digits() -> Int {
            let first = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            return index - first
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integer = index
        let count = digits()
        guard count > 0, count == 1 || bytes[integer] != UInt8(ascii: "0") else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return nil }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// Consumes `word` (`true`, `false` or `null`) if it is next.
    mutating func literal(_ word: StaticString) -> Bool {
        skipWhitespace()
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            return false
        }
        index += count
        return true
    }

    /// Skips a string, number or literal; nil for objects and arrays (not handled here).
    mutating func skipScalar() -> Bool {
        switch peek() {
        case Self.quote: return skipString()
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number() != nil
        }
    }
}
