import Foundation
import Testing
@testable import LookoutCLI

/// doctor against a fake edge (Grafana, Loki and the push door cannot run here) and a real
/// Alertmanager. The fake answers like the real APIs and checks credentials like the edge.
@Suite(.serialized) struct DoctorTests {
    static func options(edge: FakeEdge, alertmanager: RealAlertmanager, edgeAuth: BasicAuth? = FakeEdge.edge,
                        grafanaAuth: BasicAuth? = FakeEdge.grafana, logsVia: DoctorOptions.LogsVia = .grafana) -> DoctorOptions {
        DoctorOptions(
            baseURL: "http://monitoring-host", grafanaURL: edge.url, pushURL: edge.url, prometheusURL: edge.url,
            alertmanagerURL: alertmanager.url, prometheusAuth: edgeAuth, alertmanagerAuth: edgeAuth, grafanaAuth: grafanaAuth,
            origin: FakeEdge.origin, sinceSeconds: 900, logsVia: logsVia, timeoutSeconds: 5
        )
    }

    @Test func portsDeriveFromTheMonitoringHost() {
        let options = DoctorOptions(baseURL: "http://monitoring-host")
        #expect(options.grafanaURL == "http://monitoring-host:3000")
        #expect(options.pushURL == "http://monitoring-host:3100")
        #expect(options.prometheusURL == "http://monitoring-host:9090")
        #expect(options.alertmanagerURL == "http://monitoring-host:9093")
        #expect(DoctorOptions(baseURL: "https://mon.shop.test:8443/x").prometheusURL == "https://mon.shop.test:9090")
    }

    /// Everything passes except one true finding: this Alertmanager is reached directly, not
    /// through an edge, so it answers without a login (the end-to-end test has the real edge).
    @Test func healthyStackPassesEveryCheck() async throws {
        let edge = try await FakeEdge(healthy: true)
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587")
        defer { edge.stop(); alertmanager.stop() }

        let full = await Doctor(options: Self.options(edge: edge, alertmanager: alertmanager)).run()
        let open = full.results.filter { $0.status == .fail }
        #expect(open.map(\.name) == ["Alertmanager refuses anonymous access"], "\(full.renderText())")
        #expect(open.first?.detail == "answers 200 without a login")
        let report = CheckReport(full.results.filter { $0.name != "Alertmanager refuses anonymous access" })
        #expect(report.succeeded, "\(report.renderText())")
        let names = report.results.map(\.name)
        for expected in ["Grafana healthy", "Prometheus ready", "Alertmanager ready", "Loki ready", "Prometheus targets up",
                         "application probe succeeding", "logs from nginx", "logs from app", "logs from redis",
                         "logs from frontend", "logs from docker", "/logger.js served", "CORS preflight for the application's origin",
                         "browser-like test push accepted", "recording rules producing series", "Alertmanager SMTP configured",
                         "Grafana dashboards provisioned", "Loki's query API closed on :3100",
                         "Prometheus refuses anonymous access"] {
            #expect(names.contains(expected), "missing check \(expected)")
        }
        // The stand-ins speak plain HTTP: doctor says so, without failing (EDGE_SCHEME=http is allowed).
        let tls = report.results.first { $0.name == "TLS at the edge" }
        #expect(tls?.status == .warn)
        #expect(tls?.detail == ":3000, :3100, :9090, :9093 reached over plain http://: passwords cross the network readable")
        #expect(report.results.allSatisfy { $0.status == .pass || $0.name == "TLS at the edge" }, "\(report.renderText())")
        #expect(report.renderText().contains("✓ Alertmanager SMTP configured: smarthost mail.shop.test:587"))
    }

    /// An HTML error page is one phrase in a report line, not its markup.
    @Test func htmlAnswersAreSummedUpByTheirTitle() {
        let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        #expect(WebResponse(status: 502, headers: [], body: Data(page.utf8)).gist == "502 Bad Gateway")
        #expect(WebResponse(status: 500, headers: [], body: Data("<p>oops</p>".utf8)).gist == "an HTML page")
        let long = String(repeating: "x", count: 200) + "\nsecond line"
        #expect(WebResponse(status: 400, headers: [], body: Data(long.utf8)).gist == String(repeating: "x", count: 120) + "…")
    }

    /// In the lab (its .env says so), what the lab could not start is skipped with its reason,
    /// the placeholder SMTP host is the lab's sink, and no hint names a Docker command.
    @Test func labRuntimeSkipsWhatItCannotRunAndNamesLabCommands() async throws {
        let runtime = Runtime.from(["LOOKOUT_RUNTIME": "lab", "LOOKOUT_LAB_RUN": "/tmp/lab-x",
                                    "LOOKOUT_NOT_RUNNING": "grafana=grafana not on PATH;docker=the lab has no Docker logging driver"])
        #expect(runtime == Runtime(kind: .lab(runDirectory: "/tmp/lab-x"),
                                   notRunning: ["grafana": "grafana not on PATH", "docker": "the lab has no Docker logging driver"]))
        #expect(Runtime.from([:]) == .compose)
        let edge = try await FakeEdge(healthy: false)
        let alertmanager = try await RealAlertmanager(smarthost: "smtp.example.com:587")
        defer { edge.stop(); alertmanager.stop() }
        var options = Self.options(edge: edge, alertmanager: alertmanager, logsVia: .prometheus)
        options.runtime = runtime
        let report = await Doctor(options: options).run()
        func result(_ name: String) -> CheckResult? { report.results.first { $0.name == name } }
        for name in ["Grafana healthy", "Loki ready", "Grafana dashboards provisioned", "logs from docker"] {
            #expect(result(name)?.status == .skip, "\(name): \(String(describing: result(name)))")
        }
        #expect(result("Grafana healthy")?.detail == "grafana does not run here (grafana not on PATH); `lab/status` shows what does")
        #expect(result("Alertmanager SMTP configured")?.status == .pass)
        #expect(result("recording rules producing series")?.hint?.contains("/tmp/lab-x/logs/loki.log") == true)
        let hints = report.results.compactMap(\.hint).joined(separator: "\n")
        #expect(!hints.contains("docker compose"), "\(hints)")
    }

    @Test func brokenStackFailsWithWhatToDo() async throws {
        let edge = try await FakeEdge(healthy: false)
        let alertmanager = try await RealAlertmanager(smarthost: "smtp.example.com:587")
        defer { edge.stop(); alertmanager.stop() }

        let report = await Doctor(options: Self.options(edge: edge, alertmanager: alertmanager)).run()
        #expect(!report.succeeded)
        func result(_ name: String) -> CheckResult? { report.results.first { $0.name == name } }
        func failed(_ name: String, _ detail: String) {
            let line = result(name)
            #expect(line?.status == .fail && line?.detail.contains(detail) == true, "\(name): \(String(describing: line))")
            #expect(line?.hint?.isEmpty == false, "\(name) has no hint")
        }
        failed("Grafana healthy", "answered 503, database failing")
        failed("Prometheus targets up", "1 of 3 down: loki/loki:1 (connection refused)")
        failed("application probe succeeding", "probe failing for http://application:80")
        failed("logs from redis", "no lines with job=\"redis\" in the last 900s")
        failed("logs from frontend", "no lines with job=\"frontend\"")
        failed("/logger.js served", "answered 502")
        failed("CORS preflight for the application's origin", "Access-Control-Allow-Origin: none")
        failed("browser-like test push accepted", "POST answered 403")
        failed("recording rules producing series", "no nginx:* series")
        failed("Alertmanager SMTP configured", "still the placeholder smtp.example.com:587")
        failed("Grafana dashboards provisioned", "lookout-frontend → 404")
        // What works is still reported as working.
        #expect(result("logs from nginx")?.status == .pass)
        #expect(result("Alertmanager ready")?.status == .pass)
        #expect(result("Loki ready")?.status == .pass)
    }

    /// The Prometheus-side checks against the real thing: Prometheus, Blackbox Exporter and a
    /// site, with the job names of deploy/monitoring (only `nginx:*` is a stand-in rule, since
    /// the Loki ruler that writes it cannot run here).
    @Test(arguments: [true, false])
    func prometheusChecksAgainstRealPrometheus(healthy: Bool) async throws {
        let edge = try await FakeEdge(healthy: true)
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587")
        let prometheus = try await RealPrometheus(healthy: healthy)
        defer { edge.stop(); alertmanager.stop(); prometheus.stop() }
        var options = Self.options(edge: edge, alertmanager: alertmanager)
        options.prometheusURL = prometheus.url
        let report = await Doctor(options: options).run()
        func result(_ name: String) -> CheckResult { report.results.first { $0.name == name }! }
        #expect(result("Prometheus ready").status == .pass)
        // Without an edge in front, the real Prometheus answers anyone: doctor says so.
        #expect(result("Prometheus refuses anonymous access").detail == "answers 200 without a login")
        if healthy {
            // (The stand-ins speak plain HTTP: the TLS line is a warning, tested above.)
            let rest = report.results.filter { !$0.name.hasSuffix("refuses anonymous access") && $0.name != "TLS at the edge" }
            #expect(rest.allSatisfy { $0.status == .pass }, "\(report.renderText())")
            #expect(result("application probe succeeding").detail.contains("answer 200"))
            #expect(result("recording rules producing series").detail == "nginx:requests:rate1m")
        } else {
            #expect(result("Prometheus targets up").status == .fail)
            #expect(result("Prometheus targets up").detail.hasPrefix("1 of 3 down: loki/127.0.0.1:"))
            #expect(result("application probe succeeding").status == .fail)
            #expect(result("application probe succeeding").detail.contains("probe failing for http://127.0.0.1:"))
            #expect(result("application probe succeeding").detail.hasSuffix("(no answer)"))
            #expect(result("recording rules producing series").status == .fail)
        }
    }

    @Test func wrongCredentialsSayWhichLogin() async throws {
        let edge = try await FakeEdge(healthy: true)
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587")
        defer { edge.stop(); alertmanager.stop() }
        let wrong = BasicAuth(user: "admin", password: "not-it")
        let report = await Doctor(options: Self.options(edge: edge, alertmanager: alertmanager, edgeAuth: wrong, grafanaAuth: wrong)).run()
        let prometheus = report.results.first { $0.name == "Prometheus ready" }
        #expect(prometheus?.status == .fail && prometheus?.detail == "401 Unauthorized")
        #expect(prometheus?.hint?.contains("edge (:9090) credentials") == true)
        let dashboards = report.results.first { $0.name == "Grafana dashboards provisioned" }
        #expect(dashboards?.hint?.contains("Grafana admin credentials") == true)
        // No login at all: the Grafana-side checks say why they were skipped.
        let anonymous = await Doctor(options: Self.options(edge: edge, alertmanager: alertmanager, grafanaAuth: nil)).run()
        #expect(anonymous.results.first { $0.name == "logs from app" }?.status == .skip)
    }

    @Test func logsCanBeCountedThroughPrometheus() async throws {
        let edge = try await FakeEdge(healthy: false)
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587")
        defer { edge.stop(); alertmanager.stop() }
        let report = await Doctor(options: Self.options(edge: edge, alertmanager: alertmanager, grafanaAuth: nil, logsVia: .prometheus)).run()
        #expect(report.results.first { $0.name == "logs from nginx" }?.status == .pass)
        #expect(report.results.first { $0.name == "logs from app" }?.status == .fail)
    }

    /// The binary: credentials from --env-file, --json output, exit codes.
    @Test func commandLineReadsEnvFileAndExitsNonZeroOnFailure() async throws {
        let edge = try await FakeEdge(healthy: true)
        let alertmanager = try await RealAlertmanager(smarthost: "smtp.example.com:587")
        defer { edge.stop(); alertmanager.stop() }
        let folder = try TestSupport.temporaryFolder("doctor-env")
        defer { try? FileManager.default.removeItem(at: folder) }
        let envFile = folder.appendingPathComponent(".env")
        try """
            GRAFANA_ADMIN_USER=\(FakeEdge.grafana.user)
            GRAFANA_ADMIN_PASSWORD=\(FakeEdge.grafana.password)
            PROMETHEUS_USER=\(FakeEdge.edge.user)
            PROMETHEUS_PASSWORD=\(FakeEdge.edge.password)
            ALERTMANAGER_USER=\(FakeEdge.edge.user)
            ALERTMANAGER_PASSWORD=\(FakeEdge.edge.password)
            LOOKOUT_ALLOWED_ORIGINS=\(FakeEdge.origin),http://www.application

            """.write(to: envFile, atomically: true, encoding: .utf8)
        let result = try TestSupport.lookout([
            "doctor", "--url", "http://monitoring-host", "--grafana-url", edge.url, "--push-url", edge.url,
            "--prometheus-url", edge.url, "--alertmanager-url", alertmanager.url, "--env-file", envFile.path, "--json",
        ])
        #expect(result.status == 1, "the SMTP placeholder must fail the run")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(document["ok"] as? Bool == false)
        let checks = try #require(document["checks"] as? [[String: Any]])
        let failing = checks.filter { $0["status"] as? String == "fail" }.compactMap { $0["name"] as? String }
        #expect(failing == ["Alertmanager SMTP configured", "Alertmanager refuses anonymous access"], "\(result.stdout)")
        #expect(!result.stdout.contains(FakeEdge.edge.password) && !result.stdout.contains(FakeEdge.grafana.password))
    }
}
