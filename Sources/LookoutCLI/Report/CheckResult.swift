import Foundation

/// The outcome of one check, as `check` and `doctor` print it: one line, and a hint when it failed.
public struct CheckResult: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        /// `warn`: works, but the operator should know (e.g. plain HTTP chosen for a lab); the exit code stays 0.
        case pass, fail, skip, warn
    }

    public var name: String
    public var status: Status
    /// What was found (always shown).
    public var detail: String
    /// What to do about a failure (shown only for ✗).
    public var hint: String?

    public init(name: String, status: Status, detail: String, hint: String? = nil) {
        self.name = name
        self.status = status
        self.detail = detail
        self.hint = hint
    }

    public static func pass(_ name: String, _ detail: String) -> CheckResult {
        CheckResult(name: name, status: .pass, detail: detail)
    }

    public static func fail(_ name: String, _ detail: String, hint: String) -> CheckResult {
        CheckResult(name: name, status: .fail, detail: detail, hint: hint)
    }

    public static func skip(_ name: String, _ detail: String) -> CheckResult {
        CheckResult(name: name, status: .skip, detail: detail)
    }

    /// Not a failure, but worth a line the operator cannot miss; the hint says what would fix it.
    public static func warn(_ name: String, _ detail: String, hint: String) -> CheckResult {
        CheckResult(name: name, status: .warn, detail: detail, hint: hint)
    }
}

/// A list of check results, rendered for people (one line each) or for machines (JSON).
public struct CheckReport: Sendable, Codable {
    public var results: [CheckResult]

    public init(_ results: [CheckResult] = []) {
        self.results = results
    }

    public var failed: [CheckResult] { results.filter { $0.status == .fail } }
    public var succeeded: Bool { failed.isEmpty }

    public mutating func append(_ result: CheckResult) { results.append(result) }
    public mutating func append(contentsOf more: [CheckResult]) { results.append(contentsOf: more) }

    /// `✓ name: detail`, `✗ name: detail` + `  → hint`, `⚠ name: detail` + `  → hint`,
    /// `– name: detail`; a summary line last.
    public func renderText() -> String {
        var lines: [String] = []
        for result in results {
            let mark: String
            switch result.status {
            case .pass: mark = "✓"
            case .fail: mark = "✗"
            case .skip: mark = "–"
            case .warn: mark = "⚠"
            }
            lines.append("\(mark) \(result.name): \(result.detail)")
            if result.status == .fail || result.status == .warn, let hint = result.hint {
                lines.append("  → \(hint)")
            }
        }
        let passed = results.filter { $0.status == .pass }.count
        let skipped = results.filter { $0.status == .skip }.count
        // Not "N passed, N failed": CI reads that exact shape as a test runner's closing line.
        let warnings = results.filter { $0.status == .warn }.count
        lines.append("checks: \(passed) ok, \(failed.count) failing, \(skipped) skipped"
            + (warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : ""))
        return lines.joined(separator: "\n") + "\n"
    }

    /// `{"ok": Bool, "checks": [{name, status, detail, hint?}]}` with stable key order.
    public func renderJSON() throws -> String {
        struct Document: Encodable {
            var ok: Bool
            var checks: [CheckResult]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(Document(ok: succeeded, checks: results))
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
