import Foundation

/// Each component ready, targets up, the application probe.
extension Doctor {
    func grafanaHealth() async -> CheckResult {
        let name = "Grafana healthy"
        if let skip = options.runtime.skipIfAbsent(name, needs: "grafana") { return skip }
        let url = options.grafanaURL + "/api/health"
        return await guarded(name, url) {
            let response = try await web.send(.GET, url)
            let database = (response.json() as? [String: Any])?["database"] as? String
            guard response.status == 200, database == "ok" else {
                return .fail(name, "GET /api/health answered \(response.status)\(database.map { ", database \($0)" } ?? "")",
                             hint: "see \(options.runtime.logs("grafana")); check the grafana_data volume is writable")
            }
            return .pass(name, "database ok")
        }
    }

    func ready(_ name: String, _ url: String, auth: BasicAuth?, port: String) async -> CheckResult {
        await guarded(name, url) {
            let response = try await web.send(.GET, url, auth: auth)
            if response.status == 401 { return unauthorized(name, "edge (:\(port))") }
            guard response.status == 200 else {
                return .fail(name, "GET \(url) answered \(response.status) \(response.gist)",
                             hint: "a 502 from the edge means the service is down: \(options.runtime.status), then its log")
            }
            return .pass(name, "ready")
        }
    }

    /// Loki is not published (by design); Grafana's datasource proxy reaches it from inside.
    func lokiReady() async -> CheckResult {
        let name = "Loki ready"
        if let skip = options.runtime.skipIfAbsent(name, needs: "loki")
            ?? options.runtime.skipIfAbsent(name, needs: "grafana", because: "Loki is reached through Grafana's datasource proxy") {
            return skip
        }
        guard let auth = options.grafanaAuth else {
            return .skip(name, "needs the Grafana admin login (Loki is reached through Grafana's datasource proxy)")
        }
        let url = "\(options.grafanaURL)/api/datasources/proxy/uid/\(DoctorOptions.lokiDatasourceUID)/ready"
        return await guarded(name, url) {
            let response = try await web.send(.GET, url, auth: auth)
            if response.status == 401 { return unauthorized(name, "Grafana admin") }
            guard response.status == 200 else {
                return .fail(name, "Loki's /ready through Grafana answered \(response.status) \(response.gist)",
                             hint: "see \(options.runtime.logs("loki")) (a fresh Loki answers 503 for about 15 s while its ring settles)")
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
                return .fail(name, "GET /api/v1/targets answered \(response.status)", hint: "check Prometheus: \(options.runtime.logs("prometheus"))")
            }
            guard !targets.isEmpty else {
                return .fail(name, "no active targets", hint: "check prometheus/prometheus.yml scrape_configs")
            }
            // A target whose service does not run here on purpose (the lab without cAdvisor).
            let absent = targets.filter { target in
                let job = (target["labels"] as? [String: String])?["job"] ?? ""
                return options.runtime.notRunning[job] != nil
            }
            let down = targets.filter { ($0["health"] as? String) != "up" && !absent.map(Self.targetID).contains(Self.targetID($0)) }
            let note = absent.isEmpty ? "" : "; not counted: \(absent.map(Self.targetID).joined(separator: ", ")) (not running here)"
            guard down.isEmpty else {
                let names = down.map { target -> String in
                    let labels = target["labels"] as? [String: String] ?? [:]
                    let error = (target["lastError"] as? String).flatMap { $0.isEmpty ? nil : " (\($0))" } ?? ""
                    return "\(labels["job"] ?? "?")/\(labels["instance"] ?? "?")\(error)"
                }
                return .fail(name, "\(down.count) of \(targets.count - absent.count) down: \(names.joined(separator: ", "))\(note)",
                             hint: "start the service behind each target (\(options.runtime.status)); a new target needs one scrape interval")
            }
            return .pass(name, "\(targets.count - absent.count) targets up\(note)")
        }
    }

    static func targetID(_ target: [String: Any]) -> String {
        let labels = target["labels"] as? [String: String] ?? [:]
        return "\(labels["job"] ?? "?")/\(labels["instance"] ?? "?")"
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
}
