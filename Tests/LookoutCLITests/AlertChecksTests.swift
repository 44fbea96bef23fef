import Foundation
import Testing
@testable import LookoutCLI

/// `check` on the alerts beyond the prompt's three: the heartbeat (dead man's switch) is
/// reported on or off, plain http warns, a URL Alertmanager would refuse fails; the API
/// probe list is read by promtool, and a malformed one is named in the hint.
@Suite struct AlertChecksTests {
    static let heartbeat = "heartbeat (dead man's switch)"
    static let token = "0f3c6a1e-7d5b-4c1a-9e2f-1a2b3c4d5e6f"

    /// The real deployment folder, copied alone, after `init` and the SMTP password (as in
    /// CheckTests.realDeploymentPassesAfterInit), so its own target lists and render script are used.
    static func realDeployment() throws -> URL {
        let real = TestSupport.packageRoot.appendingPathComponent("deploy/monitoring")
        let folder = try TestSupport.temporaryFolder("alerts")
        try TestSupport.copyContents(of: real, into: folder)
        try? FileManager.default.removeItem(at: folder.appendingPathComponent(".env"))
        for name in ["secrets/edge", "secrets/smtp_password", "secrets/tls", "secrets/ca"] { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        _ = try Initializer(options: .init(directory: folder, smtpHost: "mail.shop.test:587", alertTo: "ops@shop.test", tls: true)).run()
        try "smtp-relay-password-42".write(to: folder.appendingPathComponent("secrets/smtp_password"), atomically: true, encoding: .utf8)
        return folder
    }

    static func setHeartbeat(_ value: String, in folder: URL) throws {
        var env = try DotEnv(contentsOf: folder.appendingPathComponent(".env"))
        env[DeploymentContract.heartbeatURLKey] = value
        try env.render().write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
    }

    static func line(_ folder: URL, runTools: Bool = false, _ name: String = heartbeat) -> (CheckResult?, CheckReport) {
        let report = DeploymentChecker(directory: folder, runTools: runTools).run()
        return (report.results.first { $0.name == name }, report)
    }

    @Test func freshInitSaysTheHeartbeatIsOff() throws {
        let folder = try Self.realDeployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        // init copied HEARTBEAT_URL= (empty) from .env.example.
        #expect(try DotEnv(contentsOf: folder.appendingPathComponent(".env"))[DeploymentContract.heartbeatURLKey] == "")
        let (line, report) = Self.line(folder)
        #expect(line?.status == .skip, "\(report.renderText())")
        #expect(line?.detail.hasPrefix("off: HEARTBEAT_URL is empty") == true)
        #expect(report.succeeded)
    }

    @Test func httpsHeartbeatIsOnAndRendersForAlertmanager() throws {
        let folder = try Self.realDeployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.setHeartbeat("https://hc-ping.com/\(Self.token)", in: folder)
        let (line, report) = Self.line(folder, runTools: true)
        #expect(line?.status == .pass, "\(report.renderText())")
        #expect(line?.detail == "on: LookoutWatchdog is sent to https://hc-ping.com about once a minute, never by email")
        // The template rendered with the URL and amtool accepted it.
        #expect(report.results.first { $0.name == "amtool check-config" }?.status == .pass, "\(report.renderText())")
        #expect(report.succeeded, "\(report.renderText())")
        // The ping URL's token is never printed.
        #expect(!report.renderText().contains(Self.token))
    }

    @Test func plainHTTPHeartbeatWarns() throws {
        let folder = try CheckTests.preparedGoodDeployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.setHeartbeat("http://heartbeat.lab:8080/ping/\(Self.token)", in: folder)
        let (line, report) = Self.line(folder)
        #expect(line?.status == .warn, "\(report.renderText())")
        #expect(line?.detail.contains("plain http to heartbeat.lab:8080") == true)
        #expect(line?.hint?.contains("https") == true)
        #expect(!report.renderText().contains(Self.token))
    }

    @Test(arguments: [
        ("ftp://hc-ping.com/x", "must start with https://"),
        ("hc-ping.com/x", "is not a URL"),
        ("https://hc-ping.com/{{ .Status }}", "contains {{"),
        ("https://hc-ping.com/a b", "contains a space"),
        ("https://hc-ping.com/a\"b", "contains \""),
    ])
    func heartbeatURLAlertmanagerWouldRefuseFails(value: String, message: String) throws {
        let result = HeartbeatCheck.check(env: [DeploymentContract.heartbeatURLKey: value])
        #expect(result.status == .fail, "\(result)")
        #expect(result.detail.contains(message), "\(result.detail)")
        #expect(result.hint != nil)
        #expect(!result.detail.contains("hc-ping.com/"))
    }

    @Test func malformedAPIProbeListFailsNamingTheList() throws {
        let folder = try Self.realDeployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        // The shipped list passes with everything else.
        let (good, before) = Self.line(folder, runTools: true, "promtool check config")
        #expect(good?.status == .pass, "\(before.renderText())")

        // A bare string where a list of URLs belongs, labels as a list.
        try "- targets: http://application:80/api/health\n  labels: [application]\n"
            .write(to: folder.appendingPathComponent("prometheus/targets/api-probes.yml"), atomically: true, encoding: .utf8)
        let (line, report) = Self.line(folder, runTools: true, "promtool check config")
        #expect(line?.status == .fail, "\(report.renderText())")
        #expect(line?.detail.contains("checking SD file \"prometheus/targets/api-probes.yml\"") == true, "\(report.renderText())")
        #expect(line?.hint?.hasPrefix("fix prometheus/targets/api-probes.yml:") == true, "\(report.renderText())")
    }
}
