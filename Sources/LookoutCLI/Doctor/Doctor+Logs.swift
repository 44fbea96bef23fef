import Foundation

/// Lines from each source arrived in Loki.
extension Doctor {
    /// One line per source: did Loki receive any line with `job=<source>` in the window?
    func logsArrived() async -> [CheckResult] {
        let window = "\(options.sinceSeconds)s"
        let sources = options.logSources
        let names = sources.map { "logs from \($0)" }
        if let skip = options.runtime.skipIfAbsent("logs", needs: "loki") {
            return names.map { .skip($0, skip.detail) }
        }
        // Without Grafana here (the lab on a machine without it), the ruler's series still tell.
        let via = options.logsVia == .grafana && options.runtime.notRunning["grafana"] != nil ? .prometheus : options.logsVia
        let counts: [String: Double]
        do {
            switch via {
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
                    return names.map { .fail($0, "Loki query through Grafana answered \(response.status) \(response.gist)",
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
        let unit = via == .grafana ? "lines" : "lines/s (peak 5m rate of loki:log_lines:rate5m)"
        return zip(sources, names).map { source, name in
            if let skip = options.runtime.skipIfAbsent(name, needs: source) { return skip }
            if let count = counts[source], count > 0 {
                return .pass(name, "\(Self.format(count)) \(unit) in the last \(window)")
            }
            return .fail(name, "no lines with job=\"\(source)\" in the last \(window)", hint: logHint(source))
        }
    }

    func logHint(_ source: String) -> String {
        let runtime = options.runtime
        switch source {
        case "nginx", "app", "redis":
            return runtime.isLab
                ? "the lab's two Promtails read its demo logs: \(runtime.logs("promtail", "app-promtail")); see docs/runbook.md#lookoutlogsmissing"
                : "check the NFS mount /mnt/\(source)-logs on the monitoring host and the application host's promtail (`docker compose logs promtail`); see docs/runbook.md#lookoutlogsmissing"
        case "frontend":
            return "open the application in a browser: is logger.js loaded, and is its origin in the collector's allowed origins? (\(runtime.logs("collector")))"
        case "docker":
            return "the loki logging driver: `docker plugin ls` on each host, and the logging options in docker-compose.yml"
        default:
            return "check the agent that ships job=\(source)"
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.3g", value)
    }
}
