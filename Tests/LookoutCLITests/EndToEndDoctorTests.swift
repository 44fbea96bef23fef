import Foundation
import Testing
@testable import LookoutCLI

/// The operator's path in one test: `lookout init` writes .env and the htpasswd files, the
/// real edge config (nginx) uses them, and `lookout doctor --env-file .env` goes through that
/// edge to the real collector (`lookout serve`), a real Prometheus + Blackbox Exporter, a real
/// Alertmanager, and the Grafana/Loki stand-in (they cannot run here).
@Suite(.serialized) struct EndToEndDoctorTests {
    @Test(.enabled(if: RealEdge.addressesFree, "needs nginx and free ports on 127.0.77.2/3"))
    func doctorThroughTheRealEdgeWithInitsSecrets() async throws {
        let deployment = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: deployment) }
        // The real edge config, not the fixture's small one.
        try FileManager.default.removeItem(at: deployment.appendingPathComponent("edge"))
        try FileManager.default.copyItem(at: TestSupport.packageRoot.appendingPathComponent("deploy/monitoring/edge"),
                                         to: deployment.appendingPathComponent("edge"))
        _ = try Initializer(options: .init(directory: deployment, smtpHost: "mail.shop.test:587")).run()
        var env = try DotEnv(contentsOf: deployment.appendingPathComponent(".env"))
        // The stand-in Grafana knows one admin login: make it the one init generated.
        env["GRAFANA_ADMIN_USER"] = FakeEdge.grafana.user
        env["GRAFANA_ADMIN_PASSWORD"] = FakeEdge.grafana.password
        try env.render().write(to: deployment.appendingPathComponent(".env"), atomically: true, encoding: .utf8)

        let up = RealEdge.upstreamHost, edgeHost = RealEdge.edgeHost
        let grafana = try await FakeEdge(healthy: true, host: up, port: 3000)
        let loki = try await FakeEdge(healthy: true, host: up, port: 3100)
        let prometheus = try await RealPrometheus(healthy: true, host: up, port: 9090)
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587", host: up, port: 9093)
        let collector = try await RealCollector(host: up, port: 8081, lokiURL: "http://\(up):3100", origin: FakeEdge.origin,
                                                publicPushURL: "http://\(edgeHost):3100/loki/api/v1/push")
        let edge = try await RealEdge(deployment: deployment)
        defer { edge.stop(); collector.stop(); alertmanager.stop(); prometheus.stop(); loki.stop(); grafana.stop() }

        let result = try TestSupport.lookout([
            "doctor", "--url", "http://\(edgeHost)", "--env-file", deployment.appendingPathComponent(".env").path,
            "--origin", FakeEdge.origin,
        ])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)\nedge log:\n\(edge.output)")
        #expect(result.stdout.contains("✓ Prometheus ready: ready"))
        #expect(result.stdout.contains("✓ /logger.js served:"))
        #expect(result.stdout.contains("✓ CORS preflight for the application's origin: 204, allows http://application"))
        #expect(result.stdout.contains("✓ browser-like test push accepted: 204"))
        #expect(result.stdout.contains("✓ application probe succeeding:"))
        // The doors that must stay shut, checked through the real edge.
        #expect(result.stdout.contains("✓ Loki's query API closed on :3100: GET /loki/api/v1/labels → 404"))
        #expect(result.stdout.contains("✓ Prometheus refuses anonymous access: 401 without a login"))
        #expect(result.stdout.contains("✓ Alertmanager refuses anonymous access: 401 without a login"))
        // test-alert through the same door, with the Alertmanager login init wrote.
        let alert = try TestSupport.lookout([
            "test-alert", "--url", "http://\(edgeHost)", "--env-file", deployment.appendingPathComponent(".env").path, "--hold", "1",
        ])
        #expect(alert.status == 0, "\(alert.stdout)\n\(alert.stderr)")
        #expect(alert.stdout.contains("✓ Alertmanager lists it: active"))
        #expect(alert.stdout.contains("✓ resolve:"))
        // The edge really checked init's logins: a wrong one is refused at the door.
        let wrong = try TestSupport.lookout([
            "doctor", "--url", "http://\(edgeHost)", "--user", "admin", "--password", "wrong-password",
            "--grafana-user", FakeEdge.grafana.user, "--grafana-password", FakeEdge.grafana.password, "--origin", FakeEdge.origin,
            "--env-file", "/nonexistent/.env",
        ])
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("✗ Prometheus ready: 401 Unauthorized"))
        #expect(wrong.stdout.contains("✗ Alertmanager ready: 401 Unauthorized"))
    }
}
