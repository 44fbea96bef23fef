import Foundation
import Yams

/// The prompt keeps logs and metrics for 7 days: Prometheus by flag, Loki by its compactor.
enum RetentionCheck {
    static let sevenDays = 7.0 * 86400

    static func prometheus(_ files: DeploymentFiles, env: [String: String]) -> CheckResult {
        let name = "7-day retention (Prometheus)"
        guard let compose = try? DeploymentFiles.loadYAML(files.compose) as? [String: Any],
              let services = compose["services"] as? [String: Any] else {
            return .fail(name, "cannot read services from docker-compose.yml", hint: "fix docker-compose.yml (see `docker-compose config`)")
        }
        guard let (serviceName, service) = ComposeFile.service(in: services, named: "prometheus", image: "prom/prometheus") else {
            return .fail(name, "no prometheus service in docker-compose.yml", hint: "add the prometheus service")
        }
        let arguments = ComposeFile.commandArguments(service).map { ComposeFile.interpolate($0, env: env) }
        let flag = "--storage.tsdb.retention.time="
        guard let value = arguments.last(where: { $0.hasPrefix(flag) })?.dropFirst(flag.count) else {
            return .fail(name, "service \(serviceName) has no \(flag)… in its command (Prometheus keeps 15 days by default)",
                         hint: "add `\(flag)7d` to the prometheus command")
        }
        guard PromDuration.seconds(String(value)) == sevenDays else {
            return .fail(name, "\(flag)\(value) is not 7 days", hint: "set `\(flag)7d`")
        }
        return .pass(name, "\(flag)\(value)")
    }

    static func loki(_ files: DeploymentFiles) -> CheckResult {
        let name = "7-day retention (Loki)"
        guard let url = files.lokiConfig, let config = try? DeploymentFiles.loadYAML(url) as? [String: Any] else {
            return .fail(name, "no Loki config (YAML with schema_config/limits_config) under loki/", hint: "add loki/loki.yml")
        }
        let file = files.relative(url)
        let limits = config["limits_config"] as? [String: Any] ?? [:]
        let compactor = config["compactor"] as? [String: Any] ?? [:]
        guard let period = limits["retention_period"].map({ "\($0)" }) else {
            return .fail(name, "\(file): limits_config.retention_period is not set (Loki then keeps logs forever)",
                         hint: "set limits_config.retention_period: 168h")
        }
        guard PromDuration.seconds(period) == sevenDays else {
            return .fail(name, "\(file): retention_period \(period) is not 7 days", hint: "set limits_config.retention_period: 168h")
        }
        guard compactor["retention_enabled"] as? Bool == true else {
            return .fail(name, "\(file): compactor.retention_enabled is not true, so nothing is ever deleted",
                         hint: "set compactor.retention_enabled: true")
        }
        guard let store = compactor["delete_request_store"] as? String, !store.isEmpty else {
            return .fail(name, "\(file): compactor.delete_request_store is missing (Loki ≥ 3.1 refuses to start with retention on)",
                         hint: "set compactor.delete_request_store: filesystem")
        }
        return .pass(name, "\(file): retention_period \(period), compactor retention on")
    }
}

/// Small helpers over a parsed docker-compose.yml.
enum ComposeFile {
    /// The service called `name`, or else the first whose image starts with `image`.
    static func service(in services: [String: Any], named name: String, image: String) -> (String, [String: Any])? {
        if let service = services[name] as? [String: Any] { return (name, service) }
        for (key, value) in services.sorted(by: { $0.key < $1.key }) {
            if let service = value as? [String: Any], let ref = service["image"] as? String, ref.contains(image) {
                return (key, service)
            }
        }
        return nil
    }

    /// `command:` as arguments, whether written as a list or as one string.
    static func commandArguments(_ service: [String: Any]) -> [String] {
        if let list = service["command"] as? [Any] { return list.map { "\($0)" } }
        if let text = service["command"] as? String { return text.split(separator: " ").map(String.init) }
        return []
    }

    /// `environment:` as a dictionary, whether written as a mapping or as `KEY=VALUE` items.
    static func environment(_ service: [String: Any]) -> [String: String] {
        if let mapping = service["environment"] as? [String: Any] { return mapping.mapValues { "\($0)" } }
        var result: [String: String] = [:]
        for item in service["environment"] as? [Any] ?? [] {
            let parts = "\(item)".split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    /// Compose variable substitution: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`.
    static func interpolate(_ text: String, env: [String: String]) -> String {
        let pattern = #"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return text }
        var result = ""
        var last = text.startIndex
        for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let range = Range(match.range, in: text) else { continue }
            result += text[last..<range.lowerBound]
            last = range.upperBound
            func group(_ i: Int) -> String? { Range(match.range(at: i), in: text).map { String(text[$0]) } }
            let name = group(1) ?? group(4) ?? ""
            let value = env[name]
            if let op = group(2), op.hasSuffix("-") {
                let useDefault = op == ":-" ? (value ?? "").isEmpty : value == nil
                result += useDefault ? (group(3) ?? "") : (value ?? "")
            } else {
                result += value ?? ""
            }
        }
        result += text[last...]
        return result
    }
}
