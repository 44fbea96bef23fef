import Foundation
@testable import LookoutCLI

/// The real Alertmanager from Debian (`prometheus-alertmanager`), on a free port, clustering off.
final class RealAlertmanager: @unchecked Sendable {
    let process: BackgroundProcess
    let folder: URL
    let url: String

    static var binary: String? { TestSupport.tool("prometheus-alertmanager", "alertmanager") }

    /// `smarthost` goes into the email receiver, as deploy/monitoring's rendered config does.
    init(smarthost: String, groupWait: String = "30s") async throws {
        guard let binary = Self.binary else { throw TestFailure("prometheus-alertmanager is not installed (scripts/install-deps installs it)") }
        folder = try TestSupport.temporaryFolder("alertmanager")
        let config = folder.appendingPathComponent("alertmanager.yml")
        try """
            global:
              smtp_smarthost: \(smarthost)
              smtp_from: lookout@shop.test
              smtp_require_tls: false
            route:
              receiver: email
              group_by: [alertname, site]
              group_wait: \(groupWait)
            receivers:
              - name: email
                email_configs:
                  - to: ops@shop.test
                    send_resolved: true
            """.write(to: config, atomically: true, encoding: .utf8)
        let port = TestSupport.freePort()
        url = "http://127.0.0.1:\(port)"
        process = try BackgroundProcess(binary, [
            "--config.file=\(config.path)", "--storage.path=\(folder.path)/data",
            "--web.listen-address=127.0.0.1:\(port)",
            // An empty address turns gossip off (it would otherwise bind 0.0.0.0:9094).
            "--cluster.listen-address=",
        ], log: folder.appendingPathComponent("alertmanager.log"))
        do {
            try await TestSupport.waitForHTTP(url + "/-/ready")
        } catch {
            process.stop()
            throw TestFailure("Alertmanager did not start: \(process.output)")
        }
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// tests/Fixtures/fake_edge.py: Grafana, Loki (through Grafana), the push door and Prometheus's API.
final class FakeEdge: @unchecked Sendable {
    let process: BackgroundProcess
    let folder: URL
    let url: String

    static let edge = BasicAuth(user: "admin", password: "edge-password-for-tests-0123456")
    static let grafana = BasicAuth(user: "admin", password: "grafana-password-for-tests-987")
    static let origin = "http://application"

    init(healthy: Bool) async throws {
        folder = try TestSupport.temporaryFolder("fake-edge")
        let script = TestSupport.fixtures.appendingPathComponent("fake_edge.py").path
        process = try BackgroundProcess("/usr/bin/env", [
            "python3", script, healthy ? "healthy" : "broken",
            "\(Self.edge.user):\(Self.edge.password)", "\(Self.grafana.user):\(Self.grafana.password)", Self.origin,
        ], log: folder.appendingPathComponent("fake.log"))
        let deadline = Date().addingTimeInterval(15)
        var port: Int?
        while port == nil && Date() < deadline {
            port = process.output.split(separator: "\n").first.flatMap { Int($0) }
            if port == nil { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        guard let port else {
            process.stop()
            throw TestFailure("fake edge did not start: \(process.output)")
        }
        url = "http://127.0.0.1:\(port)"
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: folder)
    }
}
