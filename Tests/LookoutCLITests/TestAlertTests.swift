import Foundation
import Testing
@testable import LookoutCLI

/// test-alert against the real Alertmanager: the alert must show up in its API, then resolve.
@Suite(.serialized) struct TestAlertTests {
    /// Alertmanager's own view of the test alert (nil when it is not active).
    static func activeTestAlert(_ alertmanager: RealAlertmanager) async throws -> [String: Any]? {
        let response = try await WebClient().send(.GET, alertmanager.url + "/api/v2/alerts")
        let alerts = response.json() as? [[String: Any]] ?? []
        return alerts.first { ($0["labels"] as? [String: String])?["alertname"] == TestAlert.alertName }
    }

    @Test func firesThenResolves() async throws {
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587")
        defer { alertmanager.stop() }
        let alert = TestAlert(options: .init(alertmanagerURL: alertmanager.url, site: "shop", holdSeconds: 3))
        let lines = Locked([String]())
        let run = Task { await alert.run { line in lines.value.append(line) } }

        // While it holds, Alertmanager lists it with our labels.
        var seen: [String: Any]?
        let deadline = Date().addingTimeInterval(3)
        while seen == nil && Date() < deadline {
            seen = try await Self.activeTestAlert(alertmanager)
            if seen == nil { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        let labels = try #require(seen?["labels"] as? [String: String], "Alertmanager never listed the test alert")
        #expect(labels["severity"] == "info")
        #expect(labels["site"] == "shop")
        #expect(labels["lookout_test_id"] == alert.runID)
        #expect(((seen?["status"] as? [String: Any])?["state"] as? String) == "active")

        let report = await run.value
        #expect(report.succeeded, "\(report.renderText())")
        #expect(report.results.map(\.name) == ["send LookoutTestAlert", "Alertmanager lists it", "resolve"])
        // Resolved: Alertmanager no longer lists it as active.
        #expect(try await Self.activeTestAlert(alertmanager) == nil)
        #expect(lines.value.contains { $0.contains("firing for 3 s") })
    }

    @Test func holdDefaultsToGroupWaitPlusMargin() async throws {
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587", groupWait: "45s")
        defer { alertmanager.stop() }
        let alert = TestAlert(options: .init(alertmanagerURL: alertmanager.url))
        #expect(try await alert.holdDuration() == 75)
    }

    @Test func unreachableAlertmanagerFails() async throws {
        let port = TestSupport.freePort()
        let result = try TestSupport.lookout(["test-alert", "--alertmanager-url", "http://127.0.0.1:\(port)", "--hold", "0",
                                              "--env-file", "/nonexistent/.env"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("✗ reach Alertmanager"))
    }
}
