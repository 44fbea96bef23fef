import Foundation

/// Where the edge is and how to log in. Every published port has its own URL so that tests
/// (and unusual edges) can point each role elsewhere; by default they derive from one host.
public struct DoctorOptions: Sendable {
    /// :3000 — Grafana and /logger.js.
    public var grafanaURL: String
    /// :3100 — the push door (browsers with Origin → collector; agents with basic auth → Loki).
    public var pushURL: String
    /// :9090 — Prometheus behind basic auth.
    public var prometheusURL: String
    /// :9093 — Alertmanager behind basic auth.
    public var alertmanagerURL: String

    public var prometheusAuth: BasicAuth?
    public var alertmanagerAuth: BasicAuth?
    public var grafanaAuth: BasicAuth?

    /// The application's origin, as the browser sends it (`http://application`); must be allowed by the collector.
    public var origin: String?
    /// How far back to look for log lines, in seconds.
    public var sinceSeconds: Int
    /// `job` label values that must have sent lines (docs/signals.md).
    public var logSources: [String]
    public var logsVia: LogsVia
    public var sendTestPush: Bool
    public var timeoutSeconds: Int64
    /// A CA certificate trusted for the edge besides the system's (the private CA of `init --tls`).
    public var caFile: String?
    /// Compose or the lab: which commands the hints name, which services are absent on purpose.
    public var runtime: Runtime

    public enum LogsVia: String, Sendable, CaseIterable {
        /// Loki through Grafana's datasource proxy (needs the Grafana admin login): the lines themselves.
        case grafana
        /// The `loki:log_lines:rate5m` series the Loki ruler writes to Prometheus: needs only the edge login.
        case prometheus
    }

    public static let defaultLogSources = ["nginx", "app", "redis", "frontend", "docker"]
    public static let lokiDatasourceUID = "loki"

    public init(
        baseURL: String,
        grafanaURL: String? = nil, pushURL: String? = nil, prometheusURL: String? = nil, alertmanagerURL: String? = nil,
        prometheusAuth: BasicAuth? = nil, alertmanagerAuth: BasicAuth? = nil, grafanaAuth: BasicAuth? = nil,
        origin: String? = nil, sinceSeconds: Int = 900, logSources: [String] = defaultLogSources,
        logsVia: LogsVia = .grafana, sendTestPush: Bool = true, timeoutSeconds: Int64 = 10, caFile: String? = nil,
        runtime: Runtime = .compose
    ) {
        func port(_ number: Int) -> String { Self.withPort(baseURL, number) }
        self.grafanaURL = Self.trim(grafanaURL ?? port(3000))
        self.pushURL = Self.trim(pushURL ?? port(3100))
        self.prometheusURL = Self.trim(prometheusURL ?? port(9090))
        self.alertmanagerURL = Self.trim(alertmanagerURL ?? port(9093))
        self.prometheusAuth = prometheusAuth
        self.alertmanagerAuth = alertmanagerAuth
        self.grafanaAuth = grafanaAuth
        self.origin = origin
        self.sinceSeconds = sinceSeconds
        self.logSources = logSources
        self.logsVia = logsVia
        self.sendTestPush = sendTestPush
        self.timeoutSeconds = timeoutSeconds
        self.caFile = caFile
        self.runtime = runtime
    }

    /// `http://monitoring-host` + 9090 → `http://monitoring-host:9090` (an explicit port is replaced).
    public static func withPort(_ base: String, _ port: Int) -> String {
        guard var components = URLComponents(string: base), components.host != nil else { return base }
        components.port = port
        components.path = ""
        return components.string ?? base
    }

    static func trim(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}
