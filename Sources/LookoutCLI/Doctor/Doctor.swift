import Foundation
import LokiPush
import Yams

/// `lookout doctor`: checks a running stack end to end, through the edge, as an operator would.
public struct Doctor: Sendable {
    public var options: DoctorOptions
    let web: WebClient

    public init(options: DoctorOptions) {
        self.options = options
        web = WebClient(timeoutSeconds: options.timeoutSeconds)
    }

    public func run() async -> CheckReport {
        var report = CheckReport()
        report.append(await grafanaHealth())
        report.append(await ready("Prometheus ready", options.prometheusURL + "/-/ready", auth: options.prometheusAuth, port: "9090"))
        report.append(await ready("Alertmanager ready", options.alertmanagerURL + "/-/ready", auth: options.alertmanagerAuth, port: "9093"))
        report.append(await lokiReady())
        report.append(await targetsUp())
        report.append(await applicationProbe())
        report.append(contentsOf: await logsArrived())
        report.append(await loggerScript())
        report.append(await corsPreflight())
        if options.sendTestPush { report.append(await testPush()) }
        report.append(await recordingRules())
        report.append(await alertmanagerSMTP())
        report.append(contentsOf: await dashboards())
        report.append(contentsOf: await closedDoors())
        return report
    }

    // MARK: - HTTP helpers

    /// Runs `body`, turning a transport error into a failed check that says which door did not answer.
    func guarded(_ name: String, _ url: String, _ body: () async throws -> CheckResult) async -> CheckResult {
        do {
            return try await body()
        } catch {
            return .fail(name, "no answer from \(url): \(describe(error))",
                         hint: "is the stack up (`docker compose ps`) and is the edge's port reachable from here (firewall)?")
        }
    }

    /// The common answer to 401: which credentials are wrong.
    func unauthorized(_ name: String, _ what: String) -> CheckResult {
        .fail(name, "401 Unauthorized", hint: "wrong or missing \(what) credentials: pass them with the options shown in `lookout doctor --help`, or use --env-file with the deployment's .env")
    }

    /// Prometheus' `/api/v1/query` instant vector, as (labels, value) pairs.
    func promQuery(_ query: String) async throws -> (status: Int, vector: [([String: String], Double)]) {
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? query
        let response = try await web.send(.GET, "\(options.prometheusURL)/api/v1/query?query=\(encoded)", auth: options.prometheusAuth)
        return (response.status, Self.vector(from: response))
    }

    /// Parses `{"data":{"result":[{"metric":{…},"value":[ts,"v"]}]}}` (Prometheus and Loki share it).
    static func vector(from response: WebResponse) -> [([String: String], Double)] {
        guard let object = response.json() as? [String: Any],
              let data = object["data"] as? [String: Any],
              let result = data["result"] as? [[String: Any]] else { return [] }
        return result.compactMap { sample in
            let labels = (sample["metric"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
            guard let pair = sample["value"] as? [Any], pair.count == 2, let text = pair[1] as? String,
                  let value = Double(text) else { return nil }
            return (labels, value)
        }
    }

    // MARK: - Components

    func grafanaHealth() async -> CheckResult {
        let name = "Grafana healthy"
        let url = options.grafanaURL + "/api/health"
        return await guarded(name, url) {
            let response = try await web.send(.GET, url)
            let database = (response.json() as? [String: Any])?["database"] as? String
            guard response.status == 200, database == "ok" else {
                return .fail(name, "GET /api/health answered \(response.status)\(database.map { ", database \($0)" } ?? "")",
                             hint: "see `docker compose logs grafana`; check the grafana_data volume is writable")
            }
            return .pass(name, "database ok")
        }
    }

    func ready(_ name: String, _ url: String, auth: BasicAuth?, port: String) async -> CheckResult {
        await guarded(name, url) {
            let response = try await web.send(.GET, url, auth: auth)
            if response.status == 401 { return unauthorized(name, "edge (:\(port))") }
            guard response.status == 200 else {
                return .fail(name, "GET \(url) answered \(response.status)",
                             hint: "see `docker compose logs` for that service; a 502 from the edge means the service is down")
            }
            return .pass(name, "ready")
        }
    }

    /// Loki is not published (by design); Grafana's datasource proxy reaches it from inside.
    func lokiReady() async -> CheckResult {
        let name = "Loki ready"
        guard let auth = options.grafanaAuth else {
            return .skip(name, "needs the Grafana admin login (Loki is reached through Grafana's datasource proxy)")
        }
        let url = "\(options.grafanaURL)/api/datasources/proxy/uid/\(DoctorOptions.lokiDatasourceUID)/ready"
        return await guarded(name, url) {
            let response = try await web.send(.GET, url, auth: auth)
            if response.status == 401 { return unauthorized(name, "Grafana admin") }
            guard response.status == 200 else {
                return .fail(name, "Loki's /ready through Grafana answered \(response.status): \(response.text.prefix(120))",
                             hint: "see `docker compose logs loki` (a fresh Loki answers 503 for about 15 s while its ring settles)")
            }
            return .pass(name, "ready (via Grafana's datasource proxy)")
        }
    }

    func targetsUp() async -> CheckResult {
        let name = "Prometheus targets up"
        let url = options.prometheusURL + "/api/v1/targets?state=active"
        return await guarded(name, url) {
            let response = try await web.send(.GET, url, auth: options.prometheusAuth)
            if response.status == 401 { return unauthorized(name, "edge (:9090)") }
            guard response.status == 200, let object = response.json() as? [String: Any],
                  let data = object["data"] as? [String: Any], let targets = data["activeTargets"] as? [[String: Any]] else {
                return .fail(name, "GET /api/v1/targets answered \(response.status)", hint: "check Prometheus: `docker compose logs prometheus`")
            }
            guard !targets.isEmpty else {
                return .fail(name, "no active targets", hint: "check prometheus/prometheus.yml scrape_configs")
            }
            let down = targets.filter { ($0["health"] as? String) != "up" }
            guard down.isEmpty else {
                let names = down.map { target -> String in
                    let labels = target["labels"] as? [String: String] ?? [:]
                    let error = (target["lastError"] as? String).flatMap { $0.isEmpty ? nil : " (\($0))" } ?? ""
                    return "\(labels["job"] ?? "?")/\(labels["instance"] ?? "?")\(error)"
                }
                return .fail(name, "\(down.count) of \(targets.count) down: \(names.joined(separator: ", "))",
                             hint: "start the service behind each target (`docker compose ps`); a new target needs one scrape interval")
            }
            return .pass(name, "\(targets.count) targets up")
        }
    }

    func applicationProbe() async -> CheckResult {
        let name = "application probe succeeding"
        let url = options.prometheusURL
        return await guarded(name, url) {
            let (status, vector) = try await promQuery("probe_success{job=\"blackbox-http\"}")
            if status == 401 { return unauthorized(name, "edge (:9090)") }
            guard status == 200, !vector.isEmpty else {
                return .fail(name, "no probe_success series for job blackbox-http",
                             hint: "list the application URL in prometheus/targets/http-probes.yml (lookout init --app-url) and wait a minute")
            }
            let failing = vector.filter { $0.1 != 1 }.map { $0.0["instance"] ?? "?" }
            guard failing.isEmpty else {
                // What blackbox saw: the HTTP status, or 0 when nothing answered.
                let codes = (try? await promQuery("probe_http_status_code{job=\"blackbox-http\"}"))?.vector ?? []
                let described = failing.map { instance -> String in
                    guard let code = codes.first(where: { $0.0["instance"] == instance })?.1 else { return instance }
                    return code == 0 ? "\(instance) (no answer)" : "\(instance) (HTTP \(Int(code)))"
                }
                return .fail(name, "probe failing for \(described.joined(separator: ", "))",
                             hint: "the application did not answer HTTP 200 from the monitoring host: open Grafana's Uptime dashboard, and see docs/runbook.md#lookoutsitedown")
            }
            return .pass(name, vector.map { $0.0["instance"] ?? "?" }.joined(separator: ", ") + " answer 200")
        }
    }

    // MARK: - Logs

    /// One line per source: did Loki receive any line with `job=<source>` in the window?
    func logsArrived() async -> [CheckResult] {
        let window = "\(options.sinceSeconds)s"
        let sources = options.logSources
        let names = sources.map { "logs from \($0)" }
        let counts: [String: Double]
        do {
            switch options.logsVia {
            case .grafana:
                guard let auth = options.grafanaAuth else {
                    return names.map { .skip($0, "needs the Grafana admin login, or --logs-via prometheus") }
                }
                let selector = "{job=~\"\(sources.joined(separator: "|"))\"}"
                let query = "sum by (job) (count_over_time(\(selector)[\(window)]))"
                let encoded = query.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? query
                let url = "\(options.grafanaURL)/api/datasources/proxy/uid/\(DoctorOptions.lokiDatasourceUID)/loki/api/v1/query?query=\(encoded)"
                let response = try await web.send(.GET, url, auth: auth)
                if response.status == 401 { return names.map { unauthorized($0, "Grafana admin") } }
                guard response.status == 200 else {
                    return names.map { .fail($0, "Loki query through Grafana answered \(response.status): \(response.text.prefix(120))",
                                             hint: "check that Grafana's Loki datasource (uid loki) works: Grafana → Connections → Data sources → Loki → Test") }
                }
                counts = Dictionary(Self.vector(from: response).map { ($0.0["job"] ?? "", $0.1) }, uniquingKeysWith: +)
            case .prometheus:
                let query = "sum by (job) (max_over_time(loki:log_lines:rate5m[\(window)]))"
                let (status, vector) = try await promQuery(query)
                if status == 401 { return names.map { unauthorized($0, "edge (:9090)") } }
                counts = Dictionary(vector.map { ($0.0["job"] ?? "", $0.1) }, uniquingKeysWith: +)
            }
        } catch {
            return names.map { .fail($0, "query failed: \(describe(error))", hint: "is the stack up and the edge reachable?") }
        }
        let unit = options.logsVia == .grafana ? "lines" : "lines/s (peak 5m rate)"
        return zip(sources, names).map { source, name in
            if let count = counts[source], count > 0 {
                return .pass(name, "\(Self.format(count)) \(unit) in the last \(window)")
            }
            return .fail(name, "no lines with job=\"\(source)\" in the last \(window)", hint: Self.logHint(source))
        }
    }

    static func logHint(_ source: String) -> String {
        switch source {
        case "nginx", "app", "redis":
            return "check the NFS mount /mnt/\(source)-logs on the monitoring host and the application host's promtail (`docker compose logs promtail`); see docs/runbook.md#lookoutlogsmissing"
        case "frontend":
            return "open the application in a browser: is logger.js loaded, and is its origin in the collector's allowed origins? (`docker compose logs collector`)"
        case "docker":
            return "the loki logging driver: `docker plugin ls` on each host, and the logging options in docker-compose.yml"
        default:
            return "check the agent that ships job=\(source)"
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.3g", value)
    }

    // MARK: - Browser path

    func loggerScript() async -> CheckResult {
        let name = "/logger.js served"
        let url = options.grafanaURL + "/logger.js"
        return await guarded(name, url) {
            let response = try await web.send(.GET, url)
            let type = response.header("Content-Type") ?? ""
            guard response.status == 200, type.contains("javascript"), !response.body.isEmpty else {
                return .fail(name, "GET /logger.js answered \(response.status) (\(type.isEmpty ? "no content type" : type))",
                             hint: "the edge routes /logger.js on :3000 to the collector: `docker compose logs edge collector`")
            }
            return .pass(name, "\(response.body.count) bytes, \(type)")
        }
    }

    func corsPreflight() async -> CheckResult {
        let name = "CORS preflight for the application's origin"
        guard let origin = options.origin else {
            return .skip(name, "no origin known: pass --origin or --env-file")
        }
        let url = options.pushURL + "/loki/api/v1/push"
        return await guarded(name, url) {
            let response = try await web.send(.OPTIONS, url, headers: [
                ("Origin", origin), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type"),
            ])
            let allowed = response.header("Access-Control-Allow-Origin")
            guard (200..<300).contains(response.status), allowed == origin || allowed == "*" else {
                return .fail(name, "OPTIONS answered \(response.status), Access-Control-Allow-Origin: \(allowed ?? "none")",
                             hint: "add \(origin) to the collector's allowed origins in .env and restart the collector")
            }
            return .pass(name, "\(response.status), allows \(allowed ?? "")")
        }
    }

    func testPush() async -> CheckResult {
        let name = "browser-like test push accepted"
        guard let origin = options.origin else {
            return .skip(name, "no origin known: pass --origin or --env-file")
        }
        let url = options.pushURL + "/loki/api/v1/push"
        return await guarded(name, url) {
            let nanoseconds = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
            let line = #"{"kind":"doctor","message":"lookout doctor test push","page":"/lookout-doctor"}"#
            let push = LokiPushRequest(streams: [
                LokiStream(stream: ["app": "frontend", "kind": "doctor"], values: [LokiEntry(nanoseconds: nanoseconds, line: line)]),
            ])
            let body = try JSONEncoder().encode(push)
            let response = try await web.send(.POST, url, headers: [("Origin", origin), ("Content-Type", "application/json")], body: body)
            guard (200..<300).contains(response.status) else {
                return .fail(name, "POST answered \(response.status): \(response.text.prefix(160))",
                             hint: "requests with an Origin header go to the collector: `docker compose logs collector edge`")
            }
            return .pass(name, "\(response.status) (line kind=doctor, shows in the Logs dashboard)")
        }
    }

    // MARK: - Rules, alerting, dashboards

    func recordingRules() async -> CheckResult {
        let name = "recording rules producing series"
        return await guarded(name, options.prometheusURL) {
            let (status, vector) = try await promQuery("count by (__name__) ({__name__=~\"nginx:.+\"})")
            if status == 401 { return unauthorized(name, "edge (:9090)") }
            guard status == 200, !vector.isEmpty else {
                return .fail(name, "no nginx:* series in Prometheus",
                             hint: "the Loki ruler writes them from the nginx access log: check `docker compose logs loki` (ruler, remote write) and that nginx logs arrive")
            }
            let names = vector.compactMap { $0.0["__name__"] }.sorted()
            return .pass(name, names.joined(separator: ", "))
        }
    }

    func alertmanagerSMTP() async -> CheckResult {
        let name = "Alertmanager SMTP configured"
        let url = options.alertmanagerURL + "/api/v2/status"
        return await guarded(name, url) {
            let response = try await web.send(.GET, url, auth: options.alertmanagerAuth)
            if response.status == 401 { return unauthorized(name, "edge (:9093)") }
            guard response.status == 200, let object = response.json() as? [String: Any],
                  let config = object["config"] as? [String: Any], let original = config["original"] as? String else {
                return .fail(name, "GET /api/v2/status answered \(response.status)", hint: "check `docker compose logs alertmanager`")
            }
            let hosts = Self.smarthosts(inAlertmanagerConfig: original)
            guard !hosts.isEmpty else {
                return .fail(name, "no email receiver with a smarthost in the running config",
                             hint: "set the SMTP settings in .env and restart alertmanager")
            }
            if let placeholder = hosts.first(where: { $0.contains("example.com") }) {
                return .fail(name, "smarthost is still the placeholder \(placeholder)",
                             hint: "set the real SMTP relay in .env (and the password in secrets/smtp_password), then restart alertmanager")
            }
            return .pass(name, "smarthost \(hosts.joined(separator: ", "))")
        }
    }

    /// Smarthosts from the global section and from every email_configs entry.
    static func smarthosts(inAlertmanagerConfig yaml: String) -> [String] {
        guard let config = (try? Yams.load(yaml: yaml)) as? [String: Any] else { return [] }
        var hosts: [String] = []
        let global = (config["global"] as? [String: Any])?["smtp_smarthost"] as? String
        var hasEmail = false
        for case let receiver as [String: Any] in config["receivers"] as? [Any] ?? [] {
            for case let email as [String: Any] in receiver["email_configs"] as? [Any] ?? [] {
                hasEmail = true
                if let host = email["smarthost"] as? String, !host.isEmpty { hosts.append(host) }
                else if let global, !global.isEmpty { hosts.append(global) }
            }
        }
        return hasEmail ? Array(Set(hosts)).sorted() : []
    }

    func dashboards() async -> [CheckResult] {
        let uids = DashboardCheck.expectedDashboardUIDs
        guard let auth = options.grafanaAuth else {
            return [.skip("Grafana dashboards provisioned", "needs the Grafana admin login")]
        }
        var missing: [String] = []
        var found: [String] = []
        for uid in uids {
            let url = "\(options.grafanaURL)/api/dashboards/uid/\(uid)"
            do {
                let response = try await web.send(.GET, url, auth: auth)
                if response.status == 401 { return [unauthorized("Grafana dashboards provisioned", "Grafana admin")] }
                if response.status == 200 {
                    let title = ((response.json() as? [String: Any])?["dashboard"] as? [String: Any])?["title"] as? String
                    found.append(title.map { "\(uid) (\($0))" } ?? uid)
                } else {
                    missing.append("\(uid) → \(response.status)")
                }
            } catch {
                return [.fail("Grafana dashboards provisioned", "no answer from \(url): \(describe(error))", hint: "is Grafana up?")]
            }
        }
        guard missing.isEmpty else {
            return [.fail("Grafana dashboards provisioned", "missing: \(missing.joined(separator: ", "))",
                          hint: "check grafana/dashboards is mounted at /etc/grafana/dashboards and `docker compose logs grafana` for provisioning errors")]
        }
        return [.pass("Grafana dashboards provisioned", found.joined(separator: ", "))]
    }
}

extension Doctor {
    /// What must NOT answer: Loki's query API on the push door (it would hand every log line to
    /// anyone), and Prometheus/Alertmanager without a login.
    func closedDoors() async -> [CheckResult] {
        var results: [CheckResult] = []
        let lokiName = "Loki's query API closed on :3100"
        let lokiURL = options.pushURL + "/loki/api/v1/labels"
        results.append(await guarded(lokiName, lokiURL) {
            let response = try await web.send(.GET, lokiURL)
            guard !(200..<300).contains(response.status) else {
                return .fail(lokiName, "GET /loki/api/v1/labels answered \(response.status) without a login: anyone can read every log line",
                             hint: "serve only POST/OPTIONS /loki/api/v1/push on :3100 (deploy/monitoring/edge/nginx.conf) and never publish Loki's own port")
            }
            return .pass(lokiName, "GET /loki/api/v1/labels → \(response.status)")
        })
        for (name, url, port) in [
            ("Prometheus refuses anonymous access", options.prometheusURL + "/api/v1/status/buildinfo", "9090"),
            ("Alertmanager refuses anonymous access", options.alertmanagerURL + "/api/v2/status", "9093"),
        ] {
            results.append(await guarded(name, url) {
                let response = try await web.send(.GET, url)
                switch response.status {
                case 401, 403:
                    return .pass(name, "\(response.status) without a login")
                case 200..<300:
                    return .fail(name, "answers \(response.status) without a login",
                                 hint: "reach it only through the edge (auth_basic on :\(port)); do not publish the service's own port")
                default:
                    return .skip(name, "answered \(response.status); see the readiness line above")
                }
            })
        }
        return results
    }
}

extension CharacterSet {
    /// Query-value characters: RFC 3986 query minus the separators `&`, `=`, `+`, `#`.
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.urlQueryAllowed
        set.remove(charactersIn: "&=+#")
        return set
    }()
}
