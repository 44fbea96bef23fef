import Foundation
import Yams

/// Finds the files of a deployment folder by what they contain rather than by fixed names,
/// so that `check` keeps working when a file is renamed or split.
public struct DeploymentFiles: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    public var compose: URL { root.appendingPathComponent("docker-compose.yml") }
    public var env: URL { root.appendingPathComponent(".env") }
    public var envExample: URL { root.appendingPathComponent(".env.example") }

    /// Every regular file below `folder` (relative to root) whose name ends with one of `extensions`, sorted.
    public func files(under folder: String, extensions: [String]) -> [URL] {
        let base = root.appendingPathComponent(folder)
        guard let enumerator = FileManager.default.enumerator(
            at: base, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]
        ) else { return [] }
        var found: [URL] = []
        for case let url as URL in enumerator where extensions.contains(where: { url.lastPathComponent.hasSuffix(".\($0)") }) {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { found.append(url) }
        }
        return found.sorted { $0.path < $1.path }
    }

    /// YAML files below `folder` whose top-level mapping has `key`.
    public func yamlFiles(under folder: String, withTopLevelKey key: String) -> [URL] {
        files(under: folder, extensions: ["yml", "yaml"]).filter { url in
            guard let mapping = try? Self.loadYAML(url) as? [String: Any] else { return false }
            return mapping[key] != nil
        }
    }

    /// Prometheus rule files: a top-level `groups:` list.
    public var prometheusRuleFiles: [URL] { yamlFiles(under: "prometheus", withTopLevelKey: "groups") }
    /// promtool unit tests: a top-level `tests:` list (next to `rule_files:`).
    public var prometheusRuleTests: [URL] { yamlFiles(under: "prometheus", withTopLevelKey: "tests") }
    /// The Prometheus server config: the file with `scrape_configs:`.
    public var prometheusConfig: URL? { yamlFiles(under: "prometheus", withTopLevelKey: "scrape_configs").first }
    /// The Alertmanager config: the file with `route:`.
    public var alertmanagerConfig: URL? { yamlFiles(under: "alertmanager", withTopLevelKey: "route").first }
    /// The Loki server config: the file with `limits_config:` or `schema_config:`.
    public var lokiConfig: URL? {
        files(under: "loki", extensions: ["yml", "yaml"]).first { url in
            guard let mapping = try? Self.loadYAML(url) as? [String: Any] else { return false }
            return mapping["schema_config"] != nil || mapping["limits_config"] != nil
        }
    }
    /// Grafana datasource provisioning files: a top-level `datasources:` list.
    public var grafanaDatasourceFiles: [URL] { yamlFiles(under: "grafana", withTopLevelKey: "datasources") }
    /// Dashboards: JSON files with `panels`.
    public var dashboards: [URL] {
        files(under: "grafana", extensions: ["json"]).filter { url in
            guard let object = try? Self.loadJSON(url) as? [String: Any] else { return false }
            return object["panels"] != nil
        }
    }
    /// The edge's main nginx config for a scheme: the file edge/run-edge.sh starts
    /// (`nginx.conf` with TLS, `nginx-plain-http.conf` without), else any file with an `http {` block.
    public func edgeNginxConfig(scheme: String = DeploymentContract.defaultEdgeScheme) -> URL? {
        let mains = files(under: "edge", extensions: ["conf"]).filter { url in
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { return false }
            return text.range(of: #"(?m)^\s*http\s*\{"#, options: .regularExpression) != nil
        }
        let expected = scheme == "http" ? "nginx-plain-http.conf" : "nginx.conf"
        return mains.first { $0.lastPathComponent == expected } ?? mains.first
    }

    /// The folder compose mounts at /etc/nginx/tls: EDGE_TLS_DIR, relative to this folder.
    public func edgeTLSFolder(env: [String: String]) -> URL {
        let value = env[DeploymentContract.edgeTLSDirKey].flatMap { $0.isEmpty ? nil : $0 } ?? DeploymentContract.defaultEdgeTLSDir
        return value.hasPrefix("/") ? URL(fileURLWithPath: value) : root.appendingPathComponent(value).standardizedFileURL
    }

    /// EDGE_SCHEME as compose passes it to the edge (`https` when unset).
    public static func edgeScheme(env: [String: String]) -> String {
        env[DeploymentContract.edgeSchemeKey].flatMap { $0.isEmpty ? nil : $0 } ?? DeploymentContract.defaultEdgeScheme
    }

    public func relative(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    public static func loadYAML(_ url: URL) throws -> Any? {
        try Yams.load(yaml: String(contentsOf: url, encoding: .utf8))
    }

    public static func loadJSON(_ url: URL) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }
}
