import Foundation
import Yams

/// `lookout test-alert`: fires a synthetic alert through Alertmanager (so the operator sees an
/// email arrive), checks Alertmanager lists it, waits, then resolves it (endsAt = now).
public struct TestAlert: Sendable {
    public struct Options: Sendable {
        public var alertmanagerURL: String
        public var auth: BasicAuth?
        public var site: String
        /// How long the alert stays firing; nil: Alertmanager's group_wait + 30 s, so the firing email goes out.
        public var holdSeconds: Double?
        public var timeoutSeconds: Int64
        /// A CA certificate trusted for the edge besides the system's (the private CA of `init --tls`).
        public var caFile: String?

        public init(alertmanagerURL: String, auth: BasicAuth? = nil, site: String = DeploymentContract.defaultSite,
                    holdSeconds: Double? = nil, timeoutSeconds: Int64 = 10, caFile: String? = nil) {
            self.alertmanagerURL = DoctorOptions.trim(alertmanagerURL)
            self.auth = auth
            self.site = site
            self.holdSeconds = holdSeconds
            self.timeoutSeconds = timeoutSeconds
            self.caFile = caFile
        }
    }

    public static let alertName = "LookoutTestAlert"

    public var options: Options
    let web: WebClient
    /// A label unique to this run, so that two operators (or two test runs) do not see each other's alert.
    public let runID: String

    public init(options: Options) {
        self.options = options
        web = WebClient(timeoutSeconds: options.timeoutSeconds, caFile: options.caFile)
        runID = SecretGenerator.password(length: 8).lowercased()
    }

    var labels: [String: String] {
        ["alertname": Self.alertName, "severity": "info", "site": options.site, "lookout_test_id": runID]
    }

    /// `progress` receives one line per step as it happens (the wait can be long).
    public func run(progress: @Sendable (String) -> Void = { _ in }) async -> CheckReport {
        var report = CheckReport()
        func step(_ result: CheckResult) {
            report.append(result)
            progress(CheckReport([result]).renderText().split(separator: "\n").dropLast().joined(separator: "\n"))
        }
        do {
            let hold = try await holdDuration()
            let now = Date()
            // endsAt well after the hold, so Alertmanager does not resolve it by itself meanwhile.
            let post = try await postAlert(startsAt: now, endsAt: now.addingTimeInterval(hold + 300))
            guard (200..<300).contains(post.status) else {
                step(post.status == 401
                     ? .fail("send \(Self.alertName)", "401 Unauthorized", hint: "wrong Alertmanager edge credentials (ALERTMANAGER_USER/PASSWORD in .env)")
                     : .fail("send \(Self.alertName)", "POST /api/v2/alerts answered \(post.status): \(post.text.prefix(160))", hint: "check `docker compose logs alertmanager`"))
                return report
            }
            step(.pass("send \(Self.alertName)", "severity=info site=\(options.site) lookout_test_id=\(runID)"))

            let listed = try await waitUntil(active: true, within: 10)
            step(listed ? .pass("Alertmanager lists it", "active")
                        : .fail("Alertmanager lists it", "not listed as active within 10 s", hint: "is an inhibit rule or a silence matching it? see the Alertmanager UI"))

            progress("… firing for \(Int(hold)) s: an email should arrive at the configured address (after group_wait)")
            try await Task.sleep(nanoseconds: UInt64(hold * 1_000_000_000))

            let resolve = try await postAlert(startsAt: now, endsAt: Date())
            guard (200..<300).contains(resolve.status) else {
                step(.fail("resolve", "POST answered \(resolve.status)", hint: "it will resolve by itself within 5 minutes"))
                return report
            }
            let gone = try await waitUntil(active: false, within: 10)
            step(gone ? .pass("resolve", "endsAt set to now; no longer active (a resolved email follows if send_resolved is on)")
                      : .fail("resolve", "still listed as active after 10 s", hint: "check the Alertmanager UI"))
        } catch {
            step(.fail("reach Alertmanager", "\(options.alertmanagerURL): \(describe(error))", hint: "is the stack up and :9093 reachable from here?"))
        }
        return report
    }

    func holdDuration() async throws -> Double {
        if let hold = options.holdSeconds { return hold }
        let response = try await web.send(.GET, options.alertmanagerURL + "/api/v2/status", auth: options.auth)
        var groupWait = 30.0
        if let object = response.json() as? [String: Any], let config = object["config"] as? [String: Any],
           let original = config["original"] as? String,
           let parsed = (try? Yams.load(yaml: original)) as? [String: Any],
           let route = parsed["route"] as? [String: Any], let wait = route["group_wait"] as? String,
           let seconds = PromDuration.seconds(wait) {
            groupWait = seconds
        }
        return groupWait + 30
    }

    func postAlert(startsAt: Date, endsAt: Date) async throws -> WebResponse {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let alert: [String: Any] = [
            "labels": labels,
            "annotations": [
                "summary": "Test alert sent by `lookout test-alert`.",
                "description": "A synthetic alert to check that email notifications for \(options.site) work. It resolves by itself.",
            ],
            "startsAt": formatter.string(from: startsAt),
            "endsAt": formatter.string(from: endsAt),
            "generatorURL": "lookout://test-alert",
        ]
        let body = try JSONSerialization.data(withJSONObject: [alert])
        return try await web.send(.POST, options.alertmanagerURL + "/api/v2/alerts",
                                  headers: [("Content-Type", "application/json")], auth: options.auth, body: body)
    }

    /// Polls Alertmanager until our alert is (or is no longer) among its active alerts.
    func waitUntil(active: Bool, within seconds: Double) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try await isActive() == active { return true }
            try await Task.sleep(nanoseconds: 250_000_000)
        } while Date() < deadline
        return false
    }

    func isActive() async throws -> Bool {
        let filter = "lookout_test_id=\"\(runID)\"".addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? ""
        let response = try await web.send(.GET, options.alertmanagerURL + "/api/v2/alerts?active=true&silenced=true&inhibited=true&filter=\(filter)", auth: options.auth)
        guard let alerts = response.json() as? [[String: Any]] else { return false }
        return alerts.contains { alert in
            let status = (alert["status"] as? [String: Any])?["state"] as? String
            return (alert["labels"] as? [String: String])?["lookout_test_id"] == runID && status != "resolved"
        }
    }
}
