import Foundation
import Testing
import X509
@testable import LookoutCLI

/// The operator's path in one test: `lookout init --tls` writes .env, the htpasswd files, a
/// private CA and the edge's certificate; the real edge config (nginx, TLS on every door) uses
/// them, and `lookout doctor --env-file .env` goes through that edge over HTTPS, trusting the CA
/// it finds beside .env, to the real collector (`lookout serve`), a real Prometheus + Blackbox
/// Exporter, a real Alertmanager, and the Grafana/Loki stand-in (they cannot run here). Then the
/// certificates doctor and test-alert must refuse: another CA, an expired one, another name.
@Suite(.serialized) struct EndToEndDoctorTests {
    static let edgeHost = RealEdge.edgeHost

    @Test(.enabled(if: RealEdge.addressesFree, "needs nginx and free ports on 127.0.77.2/3"))
    func doctorThroughTheRealTLSEdgeWithInitsSecrets() async throws {
        let deployment = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: deployment) }
        // The real edge config, not the fixture's small one.
        try FileManager.default.removeItem(at: deployment.appendingPathComponent("edge"))
        try FileManager.default.copyItem(at: TestSupport.packageRoot.appendingPathComponent("deploy/monitoring/edge"),
                                         to: deployment.appendingPathComponent("edge"))
        _ = try Initializer(options: .init(directory: deployment, smtpHost: "mail.shop.test:587", tls: true,
                                           tlsNames: [Self.edgeHost])).run()
        var env = try DotEnv(contentsOf: deployment.appendingPathComponent(".env"))
        // The stand-in Grafana knows one admin login: make it the one init generated.
        env["GRAFANA_ADMIN_USER"] = FakeEdge.grafana.user
        env["GRAFANA_ADMIN_PASSWORD"] = FakeEdge.grafana.password
        try env.render().write(to: deployment.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let envFile = deployment.appendingPathComponent(".env").path

        let up = RealEdge.upstreamHost, edgeHost = Self.edgeHost
        let grafana = try await FakeEdge(healthy: true, host: up, port: 3000)
        let loki = try await FakeEdge(healthy: true, host: up, port: 3100)
        let prometheus = try await RealPrometheus(healthy: true, host: up, port: 9090)
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587", host: up, port: 9093)
        let collector = try await RealCollector(host: up, port: 8081, lokiURL: "http://\(up):3100", origin: FakeEdge.origin,
                                                publicPushURL: "https://\(edgeHost):3100/loki/api/v1/push")
        let edge = try await RealEdge(deployment: deployment)
        defer { edge.stop(); collector.stop(); alertmanager.stop(); prometheus.stop(); loki.stop(); grafana.stop() }

        let result = try TestSupport.lookout(["doctor", "--url", "https://\(edgeHost)", "--env-file", envFile, "--origin", FakeEdge.origin])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)\nedge log:\n\(edge.output)")
        // TLS as a client meets it, with the private CA found beside .env.
        #expect(result.stdout.contains("✓ edge TLS certificate: verified on :3000, :3100, :9090, :9093 for \(edgeHost)"), "\(result.stdout)")
        #expect(result.stdout.contains("expires in 824 days") || result.stdout.contains("expires in 825 days"), "\(result.stdout)")
        #expect(result.stdout.contains("✓ plain HTTP refused on the TLS doors: :3000 301, :3100 400, :9090 400, :9093 400"))
        #expect(result.stdout.contains("✓ HSTS on the Grafana door: Strict-Transport-Security: max-age=63072000"))
        #expect(!result.stdout.contains("⚠"))
        #expect(result.stdout.contains("✓ Prometheus ready: ready"))
        #expect(result.stdout.contains("✓ /logger.js served:"))
        #expect(result.stdout.contains("✓ CORS preflight for the application's origin: 204, allows http://application"))
        #expect(result.stdout.contains("✓ browser-like test push accepted: 204"))
        #expect(result.stdout.contains("✓ application probe succeeding:"))
        // The doors that must stay shut, checked through the real edge.
        #expect(result.stdout.contains("✓ Loki's query API closed on :3100: GET /loki/api/v1/labels → 404"))
        #expect(result.stdout.contains("✓ Prometheus refuses anonymous access: 401 without a login"))
        #expect(result.stdout.contains("✓ Alertmanager refuses anonymous access: 401 without a login"))
        // The served logger.js pushes to the HTTPS push door.
        let logger = try await WebClient(caFile: deployment.appendingPathComponent(DeploymentContract.caCertificateFile).path)
            .send(.GET, "https://\(edgeHost):3000/logger.js")
        #expect(logger.text.contains("https://\(edgeHost):3100/loki/api/v1/push"))
        // test-alert through the same door, with the Alertmanager login init wrote.
        let alert = try TestSupport.lookout(["test-alert", "--url", "https://\(edgeHost)", "--env-file", envFile, "--hold", "1"])
        #expect(alert.status == 0, "\(alert.stdout)\n\(alert.stderr)")
        #expect(alert.stdout.contains("✓ Alertmanager lists it: active"))
        #expect(alert.stdout.contains("✓ resolve:"))
        // A maintenance silence through the same door and login: created, listed, expired.
        let silenced = try TestSupport.lookout(["silence", "--url", "https://\(edgeHost)", "--env-file", envFile, "--for", "2h",
                                                "--site", "application", "--comment", "end to end"])
        #expect(silenced.status == 0, "\(silenced.stdout)\n\(silenced.stderr)")
        let silenceID = try #require(silenced.stdout.split(separator: " ").dropFirst().first.map(String.init))
        let silences = try TestSupport.lookout(["silence", "list", "--url", "https://\(edgeHost)", "--env-file", envFile])
        #expect(silences.stdout.contains(silenceID) && silences.stdout.contains("silences: site=\"application\""), "\(silences.stdout)\n\(silences.stderr)")
        let unsilenced = try TestSupport.lookout(["silence", "expire", silenceID, "--url", "https://\(edgeHost)", "--env-file", envFile])
        #expect(unsilenced.status == 0, "\(unsilenced.stderr)")
        let wrongSilence = try TestSupport.lookout(["silence", "list", "--url", "https://\(edgeHost)", "--env-file", envFile,
                                                    "--user", "admin", "--password", "wrong-password"])
        #expect(wrongSilence.status == 1)
        #expect(wrongSilence.stderr.contains("Alertmanager's door refused the login (401)"), "\(wrongSilence.stderr)")
        // The edge really checked init's logins: a wrong one is refused at the door.
        let wrong = try TestSupport.lookout([
            "doctor", "--url", "https://\(edgeHost)", "--user", "admin", "--password", "wrong-password",
            "--grafana-user", FakeEdge.grafana.user, "--grafana-password", FakeEdge.grafana.password, "--origin", FakeEdge.origin,
            "--env-file", "/nonexistent/.env", "--ca-file", deployment.appendingPathComponent(DeploymentContract.caCertificateFile).path,
        ])
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("✗ Prometheus ready: 401 Unauthorized"))
        #expect(wrong.stdout.contains("✗ Alertmanager ready: 401 Unauthorized"))

        // An http:// URL for the TLS edge: said plainly, nothing else tried.
        let plain = try TestSupport.lookout(["doctor", "--url", "http://\(edgeHost)", "--env-file", envFile, "--no-test-push"])
        #expect(plain.status == 1)
        #expect(plain.stdout.contains("✗ TLS at the edge: :3000 redirects to https://\(edgeHost):3000/: the edge speaks TLS, but the URL is http://"), "\(plain.stdout)")
        #expect(plain.stdout.contains("→ run doctor with --url https://\(edgeHost)"))

        // ---- certificates a client must refuse -------------------------------------------
        // A CA the client was not given: the system's roots alone do not vouch for the edge.
        let stranger = try TestSupport.lookout(["doctor", "--url", "https://\(edgeHost)", "--env-file", "/nonexistent/.env", "--no-test-push"])
        #expect(stranger.status == 1)
        #expect(stranger.stdout.contains("✗ edge TLS certificate: :3000 refused: the certificate (issued by CN=Lookout private CA"), "\(stranger.stdout)")
        #expect(stranger.stdout.contains("is not signed by a CA this client trusts"))
        #expect(stranger.stdout.contains("→ a private CA? pass --ca-file"))
        // Nothing else is asked over a connection that cannot be trusted.
        #expect(stranger.stdout.contains("– the other checks: not run: no HTTPS connection to the edge can be trusted"), "\(stranger.stdout)")
        #expect(!stranger.stdout.contains("Prometheus ready"))
        let strangerAlert = try TestSupport.lookout(["test-alert", "--url", "https://\(edgeHost)", "--env-file", "/nonexistent/.env", "--hold", "1"])
        #expect(strangerAlert.status == 1)
        #expect(strangerAlert.stdout.contains("✗ reach Alertmanager: https://\(edgeHost):9093: the edge's TLS certificate was refused"), "\(strangerAlert.stdout)")

        // Expired (issued as if 900 days ago) and then for another name, each served after a reload.
        for (issuedAt, names, expected) in [
            (Date().addingTimeInterval(-900 * 86_400), [edgeHost], "the certificate expired on "),
            (Date(), ["monitoring-host"], "the certificate is for monitoring-host, not \(edgeHost)"),
        ] {
            try TLSCheckTests.issue(deployment, names: names, issuedAt: issuedAt)
            let serial = try PEMFiles.certificates(at: edge.tlsFolder.appendingPathComponent("fullchain.pem"), named: "")[0].serialNumber
            edge.reload()
            try await Self.waitUntilServed(serial)
            let refused = try TestSupport.lookout(["doctor", "--url", "https://\(edgeHost)", "--env-file", envFile, "--no-test-push"])
            #expect(refused.status == 1)
            #expect(refused.stdout.contains("✗ edge TLS certificate: :3000 refused: \(expected)"), "\(refused.stdout)")
            let alertRefused = try TestSupport.lookout(["test-alert", "--url", "https://\(edgeHost)", "--env-file", envFile, "--hold", "1"])
            #expect(alertRefused.status == 1, "test-alert accepted a certificate it must refuse: \(alertRefused.stdout)")
            #expect(alertRefused.stdout.contains("✗ reach Alertmanager: https://\(edgeHost):9093: the edge's TLS certificate"), "\(alertRefused.stdout)")
        }
    }

    /// nginx reloads in the background: poll the door until it serves the certificate `serial`.
    static func waitUntilServed(_ serial: Certificate.SerialNumber) async throws {
        for _ in 0..<100 {
            if case .refused(_, let served?) = await EdgeCertificateProbe.probe(host: edgeHost, port: 3000, caFile: nil), served.serialNumber == serial { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw TestFailure("the edge did not serve the new certificate after a reload")
    }
}
