import Foundation

/// The dead man's switch: Alertmanager sends the always-firing LookoutWatchdog to
/// HEARTBEAT_URL, an external service that raises the alarm when the pings stop. Empty means
/// off, and then nothing outside this host notices it going silent: `check` says which.
/// The URL usually carries the service's token, so only its scheme and host are printed.
enum HeartbeatCheck {
    static let name = "heartbeat (dead man's switch)"
    /// What alertmanager/render-and-run.sh refuses (it would break out of the YAML string or
    /// the Go template): Alertmanager would not start.
    static let refused = ["\"", "\\", "{{", "}}", "${", " "]

    static func check(env: [String: String]) -> CheckResult {
        let key = DeploymentContract.heartbeatURLKey
        let value = env[key] ?? ""
        guard !value.isEmpty else {
            return .skip(name, "off: \(key) is empty, so nobody outside this host notices when it goes silent (docs/operations.md, \"Heartbeat\")")
        }
        let hint = "set \(key) to the https ping URL of your heartbeat service (healthchecks.io or similar), or leave it empty"
        let bad = value.contains("\n") ? "a newline" : refused.first { value.contains($0) }.map { $0 == " " ? "a space" : $0 }
        if let bad {
            return .fail(name, "\(key) contains \(bad), which alertmanager/render-and-run.sh refuses: Alertmanager would not start", hint: hint)
        }
        guard let url = URLComponents(string: value), let scheme = url.scheme?.lowercased(),
              let host = url.host, !host.isEmpty else {
            return .fail(name, "\(key) is not a URL", hint: hint)
        }
        let shown = url.port.map { "\(host):\($0)" } ?? host
        switch scheme {
        case "https":
            return .pass(name, "on: LookoutWatchdog is sent to https://\(shown) about once a minute, never by email")
        case "http":
            return .warn(name, "on, but over plain http to \(shown): anyone on the way can read the URL's token or fake the heartbeat",
                         hint: "use the service's https URL; plain http only inside a private lab")
        default:
            return .fail(name, "\(key) must start with https:// (http:// only in a private lab), not \(scheme)://", hint: hint)
        }
    }
}
