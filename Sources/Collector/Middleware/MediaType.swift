/// The media type of a `Content-Type` value, compared as bytes instead of building lowercased
/// strings: the browser push path reads it on every push.
enum MediaType {
    /// The part before any `;` (parameters such as `charset`), without surrounding spaces and tabs.
    static func of(_ header: String) -> Substring.UTF8View {
        var utf8 = Substring(header).utf8
        if let semicolon = utf8.firstIndex(of: UInt8(ascii: ";")) { utf8 = utf8[..<semicolon] }
        while let last = utf8.last, last == 0x20 || last == 0x09 { utf8 = utf8.dropLast() }
        while let first = utf8.first, first == 0x20 || first == 0x09 { utf8 = utf8.dropFirst() }
        return utf8
    }

    /// ASCII case-insensitive equality with a lowercase media type.
    static func matches(_ utf8: Substring.UTF8View, _ expected: StaticString) -> Bool {
        guard utf8.count == expected.utf8CodeUnitCount else { return false }
        return zip(utf8, UnsafeBufferPointer(start: expected.utf8Start, count: expected.utf8CodeUnitCount))
            .allSatisfy { byte, lower in (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == lower : byte == lower }
    }
}
