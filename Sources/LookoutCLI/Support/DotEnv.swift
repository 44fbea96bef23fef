import Foundation

/// A `.env` file as Docker Compose reads it: `KEY=VALUE` lines, `#` comments, optional quotes.
///
/// Kept as lines so that `init` can fill values into `.env.example` without losing its comments.
public struct DotEnv: Sendable, Equatable {
    public enum Line: Sendable, Equatable {
        case other(String)
        case entry(key: String, value: String)
    }

    public var lines: [Line]

    public init(lines: [Line] = []) {
        self.lines = lines
    }

    public init(parsing text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { raw in
            Self.parseLine(String(raw))
        }
        // A trailing newline yields one empty last element: drop it so that render() round-trips.
        if case .other("") = lines.last, text.hasSuffix("\n") { lines.removeLast() }
    }

    public init(contentsOf url: URL) throws {
        self.init(parsing: try String(contentsOf: url, encoding: .utf8))
    }

    /// Keys in file order (the first occurrence of each).
    public var keys: [String] {
        var seen = Set<String>()
        return lines.compactMap { line in
            guard case .entry(let key, _) = line, seen.insert(key).inserted else { return nil }
            return key
        }
    }

    /// The value Compose would use: the last assignment wins.
    public subscript(key: String) -> String? {
        get {
            for line in lines.reversed() {
                if case .entry(key, let value) = line { return value }
            }
            return nil
        }
        set {
            guard let newValue else {
                lines.removeAll { if case .entry(key, _) = $0 { return true } else { return false } }
                return
            }
            if let index = lines.lastIndex(where: { if case .entry(key, _) = $0 { return true } else { return false } }) {
                lines[index] = .entry(key: key, value: newValue)
            } else {
                lines.append(.entry(key: key, value: newValue))
            }
        }
    }

    public var values: [String: String] {
        var result: [String: String] = [:]
        for case .entry(let key, let value) in lines { result[key] = value }
        return result
    }

    public func render() -> String {
        lines.map { line in
            switch line {
            case .other(let text): return text
            case .entry(let key, let value): return "\(key)=\(Self.quoteIfNeeded(value))"
            }
        }.joined(separator: "\n") + "\n"
    }

    static func parseLine(_ raw: String) -> Line {
        var text = raw.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, !text.hasPrefix("#") else { return .other(raw) }
        if text.hasPrefix("export ") { text.removeFirst("export ".count) }
        guard let equals = text.firstIndex(of: "=") else { return .other(raw) }
        let key = text[..<equals].trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return .other(raw) }
        var value = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        if let quote = value.first, quote == "\"" || quote == "'",
           let end = value.dropFirst().firstIndex(of: quote) {
            value = String(value[value.index(after: value.startIndex)..<end])
        } else if let comment = value.range(of: " #") {
            // Compose drops an inline comment after an unquoted value.
            value = value[..<comment.lowerBound].trimmingCharacters(in: .whitespaces)
        }
        return .entry(key: key, value: value)
    }

    static func quoteIfNeeded(_ value: String) -> String {
        let plain = value.allSatisfy { !$0.isWhitespace && $0 != "#" && $0 != "\"" && $0 != "'" }
        return plain ? value : "\"\(value.replacingOccurrences(of: "\"", with: "\\\""))\""
    }
}
