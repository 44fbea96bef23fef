import Foundation
import Yams

/// Recording rules, Alertmanager's SMTP settings, the dashboards.
extension Doctor {
    func recordingRules() async -> CheckResult {
        let name = "recording rules producing series"
        if let skip = options.runtime.skipIfAbsent(name, needs: "loki") { return skip }
        return await guarded(name, options.prometheusURL) {
            let (status, vector) = try await promQuery("count by (__name__) ({__name__=~\"nginx:.+\"})")
            if status == 401 { return unauthorized(name, "edge (:9090)") }
            guard status == 200, !vector.isEmpty else {
                return .fail(name, "no nginx:* series in Prometheus",
                             hint: "the Loki ruler writes them from the nginx access log within about 2 minutes of the first lines: check \(options.runtime.logs("loki")) (ruler, remote write) and that nginx logs arrive")
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
                return .fail(name, "GET /api/v2/status answered \(response.status)", hint: "check \(options.runtime.logs("alertmanager"))")
            }
            let hosts = Self.smarthosts(inAlertmanagerConfig: original)
            guard !hosts.isEmpty else {
                return .fail(name, "no email receiver with a smarthost in the running config",
                             hint: "set the SMTP settings in .env and restart alertmanager")
            }
            if let placeholder = hosts.first(where: { $0.contains("example.com") }) {
                // The lab resolves the placeholder to its own SMTP sink: mail is delivered there.
                if options.runtime.isLab {
                    return .pass(name, "smarthost \(placeholder), which the lab's SMTP sink answers for (`lab/mail`)")
                }
                return .fail(name, "smarthost is still the placeholder \(placeholder)",
                             hint: "set the real SMTP relay in .env (and the password in secrets/smtp_password), then \(options.runtime.restart("alertmanager"))")
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
        if let skip = options.runtime.skipIfAbsent("Grafana dashboards provisioned", needs: "grafana") { return [skip] }
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
                          hint: "`lookout check` compares the dashboard provider's path with the compose mounts; \(options.runtime.logs("grafana")) shows provisioning errors")]
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
