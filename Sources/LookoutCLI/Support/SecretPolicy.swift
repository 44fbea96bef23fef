/// What counts as a secret in `.env`, and which values are placeholders rather than secrets.
/// `init` replaces placeholders; `check` refuses them.
public enum SecretPolicy {
    /// Variables holding secrets: passwords, tokens, keys.
    public static func isSecretKey(_ key: String) -> Bool {
        let upper = key.uppercased()
        return ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY"].contains { upper.hasSuffix($0) || upper.contains($0 + "_") }
            && !upper.hasSuffix("_FILE")
    }

    /// Values that are someone's example, never a real secret.
    static let placeholders: Set<String> = [
        "changeme", "change-me", "change_me", "changethis", "pass", "password", "passwd", "secret",
        "admin", "root", "test", "example", "default", "todo", "xxx", "placeholder", "replace-me",
        "replaceme", "please-change", "none", "null",
    ]

    /// Why `value` is not acceptable as a secret, or nil when it is. Never includes the value itself.
    public static func problem(with value: String, exampleValue: String? = nil) -> String? {
        let lower = value.lowercased()
        if value.isEmpty { return "empty" }
        if placeholders.contains(lower) || lower.contains("changeme") || lower.contains("change-me")
            || (value.hasPrefix("<") && value.hasSuffix(">")) || (value.hasPrefix("__") && value.hasSuffix("__")) {
            return "a placeholder"
        }
        if let exampleValue, !exampleValue.isEmpty, exampleValue == value {
            return "the committed example value"
        }
        if value.count < 12 { return "shorter than 12 characters" }
        return nil
    }
}
