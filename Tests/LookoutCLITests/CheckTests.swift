import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LookoutCLI

@Suite struct CheckTests {
    /// A fixture made ready the way an operator would: `init`, then the SMTP password.
    static func preparedGoodDeployment() throws -> URL {
        let folder = try TestSupport.deployment("deployment-good")
        _ = try Initializer(options: .init(directory: folder, smtpHost: "mail.shop.test:587", alertTo: "ops@shop.test", tls: true)).run()
        try "smtp-relay-password-42".write(to: folder.appendingPathComponent("secrets/smtp_password"), atomically: true, encoding: .utf8)
        return folder
    }

    @Test func goodFixturePassesEveryCheck() throws {
        let folder = try Self.preparedGoodDeployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = DeploymentChecker(directory: folder).run()
        #expect(report.succeeded, "\(report.renderText())")
        // Every external tool ran (scripts/install-deps installs them all).
        for tool in ["promtool check config", "promtool check rules", "promtool test rules", "amtool check-config",
                     "docker-compose config", "nginx -t (edge)"] {
            #expect(report.results.first { $0.name == tool }?.status == .pass, "\(tool): \(report.renderText())")
        }
    }

    @Test func brokenFixtureFailsEachBreakWithAHint() throws {
        let folder = try TestSupport.deployment("deployment-good", overlays: ["deployment-broken"])
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: folder.appendingPathComponent("env.broken"), to: folder.appendingPathComponent(".env"))

        let result = try TestSupport.lookout(["check", folder.path])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        func failed(_ name: String, _ detail: String) {
            let line = lines.first { $0.hasPrefix("✗ \(name):") }
            #expect(line?.contains(detail) == true, "expected ✗ \(name): …\(detail)… in\n\(result.stdout)")
            // Every ✗ is followed by what to do.
            if let line, let index = lines.firstIndex(of: line) {
                #expect(lines.indices.contains(index + 1) && lines[index + 1].hasPrefix("  → "), "no hint after \(line)")
            }
        }
        failed("promtool check rules", "unclosed left parenthesis")
        failed("amtool check-config", "undefined receiver \"pager\"")
        failed("nginx -t (edge)", "unexpected \"}\" in edge/nginx.conf:4")
        failed("7-day retention (Prometheus)", "--storage.tsdb.retention.time=15d is not 7 days")
        failed("7-day retention (Loki)", "compactor.retention_enabled is not true")
        failed("Loki reads its rules (ruler.storage)", "ruler_storage is ignored while storage_config.use_thanos_objstore is false")
        failed("Loki writes only on its volume", "ruler.wal.dir is not set")
        failed("agent pushes go through the collector's relay", "promtail/promtail.yml pushes to http://loki:3100/loki/api/v1/push")
        failed("healthchecks use only what their image ships", "loki: healthcheck: /bin/sh is not in grafana/loki:3.7.6")
        failed("healthchecks use only what their image ships", "wget is not in grafana/loki:3.7.6")
        failed("dashboard datasources provisioned", "grafana/dashboards/logs.json uses unknown uid loki-old")
        failed("dashboard folder mounted where Grafana looks", "provider path /var/lib/grafana/dashboards is not inside any grafana volume")
        failed("no placeholder left in .env", "GRAFANA_ADMIN_PASSWORD is a placeholder")
        failed("no placeholder left in .env", "LOKI_PUSH_PASSWORD is empty")
        failed("edge htpasswd files", "secrets/edge/agents.htpasswd missing")
        failed("SMTP password set", "still holds the placeholder")
        failed("runbook anchors", "LookoutQueueStuck: #lookoutqueuestuck not in runbook.md")
        // An alert whose email would not mention active silences: a warning with what to add.
        let notice = lines.firstIndex { $0.hasPrefix("⚠ alert emails mention active silences: LookoutQueueStuck without the active_silences annotation") }
        #expect(notice.map { lines[$0 + 1].contains("active_silences: *active_silences") } == true, "\(result.stdout)")
        failed("logger endpoint and allowed origins agree", "port 3000, but the edge's push door is 3100")
        failed("logger endpoint and allowed origins agree", "http://application/ ends with /")
        // No certificate yet (init was not run): the edge would not start.
        failed("edge certificate", "secrets/tls/fullchain.pem is missing")
        failed("public URLs use the edge's scheme", "LOOKOUT_PUBLIC_PUSH_URL does not start with https://")
        // What is not broken still passes.
        #expect(lines.contains { $0.hasPrefix("✓ promtool test rules:") })
        #expect(lines.contains { $0.hasPrefix("✓ five dashboards with stable uids:") })
        // Values never appear, only variable names.
        #expect(!result.stdout.contains("Xq7pL2mN9vR4tK8wZ3yB6cD1fG5hJ0sA"))
    }

    /// The shipped folder sends both roads through the relay; undoing either half is caught.
    @Test func aPushPastTheRelayIsCaughtInPromtailAndInTheEdge() throws {
        let real = TestSupport.packageRoot.appendingPathComponent("deploy/monitoring")
        let folder = try TestSupport.temporaryFolder("relay")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TestSupport.copyContents(of: real, into: folder)
        let files = DeploymentFiles(root: folder)
        #expect(RelayCheck.check(files).status == .pass, "\(RelayCheck.check(files))")

        let door = folder.appendingPathComponent("edge/doors/push.conf")
        let text = try String(contentsOf: door, encoding: .utf8)
        try text.replacingOccurrences(of: "proxy_pass http://collector/agents/loki/api/v1/push;", with: "proxy_pass http://loki;")
            .write(to: door, atomically: true, encoding: .utf8)
        let promtail = folder.appendingPathComponent("promtail/promtail.yml")
        let config = try String(contentsOf: promtail, encoding: .utf8)
        try config.replacingOccurrences(of: "http://collector:8081/agents/loki/api/v1/push", with: "http://loki:3100/loki/api/v1/push")
            .write(to: promtail, atomically: true, encoding: .utf8)
        let result = RelayCheck.check(files)
        #expect(result.status == .fail)
        #expect(result.detail.contains("edge/doors/push.conf sends agents' pushes to Loki (proxy_pass http://loki;)"), "\(result.detail)")
        #expect(result.detail.contains("promtail/promtail.yml pushes to http://loki:3100/loki/api/v1/push"), "\(result.detail)")
        #expect(result.hint?.contains("collector:8081/agents/loki/api/v1/push") == true)
    }

    /// One typo in a rule file is one ✗, naming that file, not four lines that point elsewhere.
    @Test func aRuleFileTypoIsReportedOnceAgainstThatFile() throws {
        let folder = try Self.preparedGoodDeployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        let rules = folder.appendingPathComponent("prometheus/rules/uptime.rules.yml")
        let text = try String(contentsOf: rules, encoding: .utf8)
        try text.replacingOccurrences(of: "expr: ", with: "expr: sum(", options: [], range: text.range(of: "expr: "))
            .write(to: rules, atomically: true, encoding: .utf8)
        let report = DeploymentChecker(directory: folder).run()
        let promtool = report.results.filter { $0.name.hasPrefix("promtool") }
        #expect(promtool.filter { $0.status == .fail }.map(\.name) == ["promtool check rules"], "\(report.renderText())")
        #expect(promtool.first { $0.status == .fail }?.hint == "fix prometheus/rules/uptime.rules.yml (the message gives the line and column)")
        for name in ["promtool check config", "promtool test rules"] {
            let line = promtool.first { $0.name == name }
            #expect(line?.status == .skip && line?.detail.contains("prometheus/rules/uptime.rules.yml") == true, "\(name): \(report.renderText())")
        }
    }

    @Test func missingToolsAreReportedAsSkipped() throws {
        let folder = try Self.preparedGoodDeployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        var checker = DeploymentChecker(directory: folder)
        checker.tools = .onPath("/nonexistent")
        let report = checker.run()
        let skipped = report.results.filter { $0.status == .skip }.map(\.detail)
        #expect(skipped.contains("promtool is not installed"))
        #expect(skipped.contains("amtool is not installed"))
        #expect(skipped.contains("docker-compose is not installed"))
        #expect(report.renderText().contains("– promtool check config: promtool is not installed"))
    }

    @Test func htpasswdNotMatchingEnvIsCaught() throws {
        let folder = try Self.preparedGoodDeployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        let agents = folder.appendingPathComponent("secrets/edge/agents.htpasswd")
        try (Htpasswd.line(user: "agent", password: "some-other-password-entirely") + "\n").write(to: agents, atomically: true, encoding: .utf8)
        let report = DeploymentChecker(directory: folder, runTools: false).run()
        let line = report.results.first { $0.name == "edge htpasswd files" }
        #expect(line?.status == .fail)
        #expect(line?.detail.contains("agents.htpasswd does not accept LOKI_PUSH_USER/LOKI_PUSH_PASSWORD") == true)
    }

    @Test func htpasswdIsNotPassedWhenItsLoginIsMissingFromEnv() throws {
        let folder = try Self.preparedGoodDeployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        let envURL = folder.appendingPathComponent(".env")
        let kept = try String(contentsOf: envURL, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("LOKI_PUSH_PASSWORD=") }
        try kept.joined(separator: "\n").write(to: envURL, atomically: true, encoding: .utf8)
        let report = DeploymentChecker(directory: folder, runTools: false).run()
        let line = report.results.first { $0.name == "edge htpasswd files" }
        #expect(line?.status == .fail)
        #expect(line?.detail.contains("agents.htpasswd cannot be checked: LOKI_PUSH_USER or LOKI_PUSH_PASSWORD is missing or empty") == true,
                "\(report.renderText())")
    }

    /// The real deployment folder, copied on its own (as the README says), after `init --tls`
    /// and the SMTP password: nothing else to edit, the runbook included.
    @Test func realDeploymentPassesAfterInit() throws {
        let real = TestSupport.packageRoot.appendingPathComponent("deploy/monitoring")
        try #require(FileManager.default.fileExists(atPath: real.appendingPathComponent("docker-compose.yml").path))
        let folder = try TestSupport.temporaryFolder("real")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TestSupport.copyContents(of: real, into: folder)
        // Whatever .env or secrets this checkout holds must not influence the result.
        try? FileManager.default.removeItem(at: folder.appendingPathComponent(".env"))
        for name in ["secrets/edge", "secrets/smtp_password", "secrets/tls", "secrets/ca"] { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }

        _ = try Initializer(options: .init(directory: folder, smtpHost: "mail.shop.test:587", alertTo: "ops@shop.test", tls: true)).run()
        try "smtp-relay-password-42".write(to: folder.appendingPathComponent("secrets/smtp_password"), atomically: true, encoding: .utf8)

        let report = DeploymentChecker(directory: folder).run()
        #expect(report.succeeded, "\(report.renderText())")
        // nginx -t loaded the real edge config with the certificate init made, through the
        // same /etc/nginx/tls paths compose mounts.
        #expect(report.results.first { $0.name == "nginx -t (edge)" }?.status == .pass, "\(report.renderText())")
        #expect(report.results.first { $0.name == "edge certificate" }?.status == .pass)
        #expect(!report.results.contains { $0.status == .warn }, "\(report.renderText())")
    }
}

/// `check`'s TLS lines on certificates made for each case: the deployment would not start, or
/// clients would refuse it, and the line names the file.
@Suite struct TLSCheckTests {
    static func deployment() throws -> URL {
        try CheckTests.preparedGoodDeployment()
    }

    static func line(_ folder: URL, _ name: String) -> CheckResult? {
        DeploymentChecker(directory: folder, runTools: false).run().results.first { $0.name == name }
    }

    static let tls = "secrets/tls/"

    /// A certificate from the deployment's own private CA, issued as if `now` were `issuedAt`.
    static func issue(_ folder: URL, names: [String] = ["monitoring-host"], issuedAt: Date = Date(), keyOf other: Bool = false) throws {
        let ca = PrivateCA(
            certificate: try PEMFiles.certificates(at: folder.appendingPathComponent(DeploymentContract.caCertificateFile), named: "ca")[0],
            key: try PEMFiles.privateKey(at: folder.appendingPathComponent(DeploymentContract.caKeyFile), named: "ca"))
        let (certificate, key) = try ca.issue(names: names, now: issuedAt)
        let wrongKey = try ca.issue(names: names).key
        try (try certificate.serializeAsPEM().pemString).write(to: folder.appendingPathComponent(tls + "fullchain.pem"), atomically: true, encoding: .utf8)
        try (try (other ? wrongKey : key).serializeAsPEM().pemString).write(to: folder.appendingPathComponent(tls + "privkey.pem"), atomically: true, encoding: .utf8)
    }

    @Test func initsCertificatePasses() throws {
        let folder = try Self.deployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        let line = try #require(Self.line(folder, "edge certificate"))
        #expect(line.status == .pass, "\(line)")
        #expect(line.detail.contains("issued by the private CA secrets/ca/lookout-ca.crt"))
        #expect(line.detail.contains("secrets/tls/privkey.pem fits it"))
        #expect(Self.line(folder, "edge certificate names")?.status == .pass)
        #expect(Self.line(folder, "TLS at the edge")?.status == .pass)
    }

    @Test func missingCertificateFailsNamingTheFile() throws {
        let folder = try Self.deployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent(Self.tls + "fullchain.pem"))
        let line = try #require(Self.line(folder, "edge certificate"))
        #expect(line.status == .fail)
        #expect(line.detail == "secrets/tls/fullchain.pem is missing")
        #expect(line.hint?.contains("lookout init --tls") == true)
    }

    @Test func keyThatDoesNotFitFailsNamingBothFiles() throws {
        let folder = try Self.deployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.issue(folder, keyOf: true)
        let line = try #require(Self.line(folder, "edge certificate"))
        #expect(line.status == .fail)
        #expect(line.detail.hasPrefix("secrets/tls/privkey.pem does not fit secrets/tls/fullchain.pem"), "\(line.detail)")
    }

    @Test func expiredCertificateFails() throws {
        let folder = try Self.deployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Issued 900 days ago, valid 825 days: it ended 75 days ago.
        try Self.issue(folder, issuedAt: Date().addingTimeInterval(-900 * 86_400))
        let line = try #require(Self.line(folder, "edge certificate"))
        #expect(line.status == .fail)
        #expect(line.detail.hasPrefix("secrets/tls/fullchain.pem expired on "), "\(line.detail)")
    }

    @Test func certificateAboutToExpireWarns() throws {
        let folder = try Self.deployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.issue(folder, issuedAt: Date().addingTimeInterval(-820 * 86_400))
        let report = DeploymentChecker(directory: folder, runTools: false).run()
        let line = try #require(report.results.first { $0.name == "edge certificate" })
        #expect(line.status == .warn, "\(line)")
        // 5 days minus the seconds since issuing (X.509 keeps whole seconds, so 4 or 5 whole days).
        #expect(line.detail.contains("(4 days)") || line.detail.contains("(5 days)"), "\(line.detail)")
        #expect(report.succeeded, "a warning does not fail check")
        #expect(report.renderText().contains("⚠ edge certificate:"))
    }

    @Test func unreadableKeyFailsNamingTheFile() throws {
        let folder = try Self.deployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = folder.appendingPathComponent(Self.tls + "privkey.pem")
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: key.path)
        if getuid() == 0 {
            // root reads anything: check as the unprivileged user an operator would be.
            for path in [folder.path, folder.appendingPathComponent("secrets").path, folder.appendingPathComponent(Self.tls).path] {
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            }
            let setpriv = try #require(TestSupport.tool("setpriv"), "setpriv (util-linux) runs check as nobody")
            let result = try TestSupport.run(setpriv, ["--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                                       TestSupport.lookoutBinary.path, "check", "--no-tools", folder.path])
            #expect(result.stdout.contains("✗ edge certificate: secrets/tls/privkey.pem cannot be read by this user (permissions)"), "\(result.stdout)\(result.stderr)")
            #expect(result.status == 1)
        } else {
            #expect(Self.line(folder, "edge certificate")?.detail == "secrets/tls/privkey.pem cannot be read by this user (permissions)")
        }
    }

    @Test func namesTheURLsUseMustBeInTheCertificate() throws {
        let folder = try Self.deployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        var env = try DotEnv(contentsOf: folder.appendingPathComponent(".env"))
        env["GRAFANA_ROOT_URL"] = "https://grafana.shop.test:3000/"
        try env.render().write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let line = try #require(Self.line(folder, "edge certificate names"))
        #expect(line.status == .fail)
        #expect(line.detail.hasPrefix("grafana.shop.test (GRAFANA_ROOT_URL) not among the names of secrets/tls/fullchain.pem"), "\(line.detail)")
        // A wildcard certificate for the domain covers it.
        try Self.issue(folder, names: ["*.shop.test", "monitoring-host"])
        #expect(Self.line(folder, "edge certificate names")?.status == .pass)
    }

    @Test func plainHTTPIsAWarningAndHTTPURLsMustFollow() throws {
        let folder = try Self.deployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        var env = try DotEnv(contentsOf: folder.appendingPathComponent(".env"))
        env["EDGE_SCHEME"] = "http"
        try env.render().write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let report = DeploymentChecker(directory: folder, runTools: false).run()
        let scheme = try #require(report.results.first { $0.name == "TLS at the edge" })
        #expect(scheme.status == .warn)
        #expect(scheme.detail.contains("crosses the network readable"))
        #expect(report.results.first { $0.name == "edge certificate" }?.status == .skip)
        // The public URLs still say https: they would not reach a plain edge.
        #expect(report.results.first { $0.name == "public URLs use the edge's scheme" }?.status == .fail)
        // And Grafana's Secure cookie (the default) would make logging in impossible over http.
        #expect(report.results.first { $0.name == "Grafana login cookie fits the scheme" }?.status == .fail)
        env["GRAFANA_COOKIE_SECURE"] = "false"
        try env.render().write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        #expect(Self.line(folder, "Grafana login cookie fits the scheme")?.status == .pass)
        env["EDGE_SCHEME"] = "https"
        try env.render().write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        #expect(Self.line(folder, "Grafana login cookie fits the scheme")?.status == .warn)

        env["EDGE_SCHEME"] = "tls"
        try env.render().write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        #expect(Self.line(folder, "TLS at the edge")?.status == .fail)
    }

    @Test func httpsOriginWithHTTPPushURLIsStillRefused() throws {
        let folder = try Self.deployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        var env = try DotEnv(contentsOf: folder.appendingPathComponent(".env"))
        env["LOOKOUT_ALLOWED_ORIGINS"] = "https://shop.test"
        env["LOOKOUT_PUBLIC_PUSH_URL"] = "http://monitoring-host:3100/loki/api/v1/push"
        try env.render().write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let line = try #require(Self.line(folder, "logger endpoint and allowed origins agree"))
        #expect(line.status == .fail)
        #expect(line.detail.contains("https://shop.test is https but LOOKOUT_PUBLIC_PUSH_URL is http: browsers block mixed content"))
    }
}
