import Foundation
import Testing
import X509
@testable import LookoutCLI

/// The small parsers the commands rely on.
@Suite struct UnitTests {
    /// The same cases as deploy/tests/test_images.py's, on the Swift twin of its parser.
    @Test func shellCommandsFindTheProgramsAHealthcheckRuns() {
        #expect(ShellCommands.commands("exec 3<>/dev/tcp/127.0.0.1/9080 && printf 'GET /ready HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '") == ["head", "grep"])
        #expect(ShellCommands.commands(">/dev/null 2>&1 wget x; A=1 B=2 env | sort") == ["wget", "env", "sort"])
        #expect(ShellCommands.commands("wget -q -O /dev/null http://127.0.0.1:3100/ready || exit 1") == ["wget"])
        #expect(ShellCommands.commands("FOO=\"a b\" curl -fsS x 2>/dev/null || wget -q x") == ["curl", "wget"])
    }

    @Test func imageContentsRefuseWhatTheImageLacks() {
        let loki = ImageContents(reference: "grafana/loki:3.7.6", programs: ["/usr/bin/loki"], toolset: [])
        #expect(loki.problems(["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:3100/ready || exit 1"])
            == ["/bin/sh is not in grafana/loki:3.7.6", "wget is not in grafana/loki:3.7.6"])
        #expect(loki.problems(["CMD", "/usr/bin/loki", "-health"]).isEmpty)
        let busybox = ImageContents(reference: "prom/prometheus:v3.13.2", programs: ["/bin/prometheus"], toolset: ["sh", "wget", "head"])
        #expect(busybox.problems(["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/ready"]).isEmpty)
        #expect(busybox.problems(["CMD-SHELL", "exec 3<>/dev/tcp/127.0.0.1/9090 && head -n1 <&3"])
            == ["/dev/tcp needs bash, but the script runs under /bin/sh"])
        let ubuntu = ImageContents(reference: "grafana/promtail:3.6.11", programs: ["/usr/bin/promtail"], toolset: ["sh", "bash", "head", "grep"])
        #expect(ubuntu.problems(["CMD", "curl", "-fsS", "http://127.0.0.1:9080/ready"]) == ["curl is not in grafana/promtail:3.6.11"])
        #expect(ubuntu.problems(["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9080 && head -n1 <&3 | grep -q 200"]).isEmpty)
    }

    @Test func dotEnvReadsComposeSyntaxAndRoundTrips() {
        let text = """
            # comment
            export A=1
            B = two words # inline comment
            C="quoted # not a comment"
            D='single'
            E=
            not a line
            A=last-wins

            """
        let env = DotEnv(parsing: text)
        #expect(env["A"] == "last-wins")
        #expect(env["B"] == "two words")
        #expect(env["C"] == "quoted # not a comment")
        #expect(env["D"] == "single")
        #expect(env["E"] == "")
        #expect(env.keys == ["A", "B", "C", "D", "E"])
        var changed = env
        changed["E"] = "filled"
        #expect(changed.render().contains("# comment\n"))
        #expect(changed.render().contains("E=filled\n"))
        #expect(DotEnv(parsing: "X=1\n").render() == "X=1\n")
    }

    @Test func durations() {
        #expect(PromDuration.seconds("7d") == 604_800)
        #expect(PromDuration.seconds("168h") == 604_800)
        #expect(PromDuration.seconds("1w") == 604_800)
        #expect(PromDuration.seconds("1h30m") == 5_400)
        #expect(PromDuration.seconds("15") == nil)
        #expect(PromDuration.seconds("") == nil)
    }

    @Test func secretPolicy() {
        #expect(SecretPolicy.isSecretKey("GRAFANA_ADMIN_PASSWORD"))
        #expect(SecretPolicy.isSecretKey("API_TOKEN"))
        #expect(!SecretPolicy.isSecretKey("SMTP_AUTH_PASSWORD_FILE"))
        #expect(!SecretPolicy.isSecretKey("GRAFANA_ADMIN_USER"))
        #expect(SecretPolicy.problem(with: "CHANGE-ME") == "a placeholder")
        #expect(SecretPolicy.problem(with: "") == "empty")
        #expect(SecretPolicy.problem(with: "short1") == "shorter than 12 characters")
        #expect(SecretPolicy.problem(with: "an-example-but-long", exampleValue: "an-example-but-long") == "the committed example value")
        #expect(SecretPolicy.problem(with: SecretGenerator.password()) == nil)
    }

    @Test func runbookAnchorsFollowGitHubSlugs() {
        let anchors = RunbookCheck.anchors(inMarkdown: """
            # Runbook
            ## LookoutSiteDown
            ## High error rate (>5%)
            ## `LookoutLogsMissing`
            ## Notes
            ## Notes
            ```
            ## NotAHeading
            ```
            ## Custom {#my-id}
            <a id="explicit"></a>
            """)
        for anchor in ["lookoutsitedown", "high-error-rate-5", "lookoutlogsmissing", "notes", "notes-1", "my-id", "explicit"] {
            #expect(anchors.contains(anchor), "\(anchor) missing from \(anchors.sorted())")
        }
        #expect(!anchors.contains("notaheading"))
    }

    @Test func composeInterpolation() {
        let env = ["A": "1", "EMPTY": ""]
        #expect(ComposeFile.interpolate("x${A}y$A", env: env) == "x1y1")
        #expect(ComposeFile.interpolate("${EMPTY:-d}|${EMPTY-d}|${MISSING-d}", env: env) == "d||d")
        #expect(ComposeFile.interpolate("${A:?set A}", env: env) == "1")
    }

    @Test func nginxUpstreamsAreMappedToLoopbackOnly() {
        let config = """
            upstream grafana { server grafana:3000; }
            upstream loki {
                server loki:3100 max_fails=3;
            }
            server { listen 3000; proxy_pass http://grafana; }
            """
        let local = NginxCheck.localUpstreams(config)
        #expect(local.contains("upstream grafana { server 127.0.0.1:3000; }"))
        #expect(local.contains("server 127.0.0.1:3100 max_fails=3;"))
        #expect(local.contains("listen 3000; proxy_pass http://grafana;"))
    }

    @Test func credentialsPreferOptionsThenEnvironmentThenDotEnv() {
        let dotEnv = ["PROMETHEUS_USER": "file-user", "PROMETHEUS_PASSWORD": "file-pass", "ALERTMANAGER_USER": "am",
                      "ALERTMANAGER_PASSWORD": "am-pass", "GRAFANA_ADMIN_USER": "admin", "GRAFANA_ADMIN_PASSWORD": "g",
                      "LOOKOUT_ALLOWED_ORIGINS": "*, http://shop.test ,http://b.test"]
        let fromFile = Credentials.resolve(explicit: .init(), environment: [:], dotEnv: dotEnv)
        #expect(fromFile.prometheus?.user == "file-user" && fromFile.alertmanager?.password == "am-pass")
        #expect(fromFile.grafana?.password == "g")
        #expect(fromFile.origin == "http://shop.test", "`*` is not an origin a browser sends")
        let fromEnvironment = Credentials.resolve(explicit: .init(), environment: ["PROMETHEUS_PASSWORD": "env-pass"], dotEnv: dotEnv)
        #expect(fromEnvironment.prometheus?.password == "env-pass")
        let explicit = Credentials.resolve(explicit: .init(user: "u", password: "p", origin: "http://o.test"), environment: [:], dotEnv: dotEnv)
        #expect(explicit.prometheus?.user == "u" && explicit.alertmanager?.user == "u")
        #expect(explicit.origin == "http://o.test")
        #expect(Credentials.resolve(explicit: .init(), environment: [:], dotEnv: [:]).grafana == nil)
    }

    @Test func originCheckCatchesMixedContentAndWildcards() throws {
        let folder = try TestSupport.temporaryFolder("origins")
        defer { try? FileManager.default.removeItem(at: folder) }
        func check(_ origins: String, _ endpoint: String) throws -> CheckResult {
            try "LOOKOUT_ALLOWED_ORIGINS=\(origins)\nLOOKOUT_PUBLIC_PUSH_URL=\(endpoint)\n"
                .write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
            return OriginCheck.check(DeploymentFiles(root: folder))
        }
        #expect(try check("https://shop.test", "https://mon.test:3100/loki/api/v1/push").status == .pass)
        #expect(try check("https://shop.test", "http://mon.test:3100/loki/api/v1/push").detail.contains("mixed content"))
        #expect(try check("*", "http://mon.test:3100/loki/api/v1/push").detail.contains("any site could fill your logs"))
        #expect(try check("", "http://mon.test:3100/loki/api/v1/push").detail.contains("refuses every browser"))
        #expect(try check("http://shop.test:80", "http://mon.test:3100/loki/api/v1/push").detail.contains("default port"))
        #expect(try check("http://shop.test", "http://shop.test:3100/loki/api/v1/push").detail.contains("must be the monitoring host"))
    }

    /// A .env.example without the edge logins (compose does not need them): init adds them.
    @Test func initAddsMissingEdgeLogins() throws {
        let folder = try TestSupport.temporaryFolder("minimal")
        defer { try? FileManager.default.removeItem(at: folder) }
        try "GRAFANA_ADMIN_USER=admin\nGRAFANA_ADMIN_PASSWORD=CHANGE-ME\n"
            .write(to: folder.appendingPathComponent(".env.example"), atomically: true, encoding: .utf8)
        _ = try Initializer(options: .init(directory: folder)).run()
        let env = try DotEnv(contentsOf: folder.appendingPathComponent(".env"))
        for account in DeploymentContract.edgeAccounts {
            #expect(env[account.userKey] == account.defaultUser)
            #expect(SecretPolicy.problem(with: env[account.passwordKey] ?? "") == nil)
            let file = try String(contentsOf: folder.appendingPathComponent(account.htpasswdFile), encoding: .utf8)
            #expect(Htpasswd.verify(file: file, user: account.defaultUser, password: env[account.passwordKey]!))
        }
        #expect(env.render().contains("# --- Edge logins (added by lookout init"))
    }

    @Test func toolOutputNeverCarriesASecret() {
        let report = CheckReport([.fail("docker-compose config", "invalid value \"s3cr3t-value-123\" in grafana", hint: "see s3cr3t-value-123")])
        let clean = DeploymentChecker.redacting(secrets: ["s3cr3t-value-123", ""], in: report)
        #expect(clean.results[0].detail == "invalid value \"<redacted>\" in grafana")
        #expect(clean.results[0].hint == "see <redacted>")
    }

    @Test func smarthostsFromGlobalAndReceivers() {
        let yaml = """
            global:
              smtp_smarthost: relay.shop.test:587
            receivers:
              - name: a
                email_configs:
                  - to: x@shop.test
              - name: b
                email_configs:
                  - to: y@shop.test
                    smarthost: other.shop.test:25
              - name: webhook-only
            """
        #expect(Doctor.smarthosts(inAlertmanagerConfig: yaml) == ["other.shop.test:25", "relay.shop.test:587"])
        #expect(Doctor.smarthosts(inAlertmanagerConfig: "receivers:\n  - name: none\n").isEmpty)
    }
}

@Suite struct CertificateFactsTests {
    static func certificate(_ names: [String]) throws -> X509.Certificate {
        try PrivateCA.create(name: "unit").issue(names: names).certificate
    }

    @Test func namesMatchAsClientsMatchThem() throws {
        let wildcard = try Self.certificate(["*.shop.test", "10.0.0.5", "::1", "Monitoring-Host"])
        #expect(CertificateFacts.names(of: wildcard) == ["*.shop.test", "10.0.0.5", "::1", "Monitoring-Host"])
        #expect(CertificateFacts.covers(wildcard, host: "mon.shop.test"))
        #expect(CertificateFacts.covers(wildcard, host: "MON.SHOP.TEST"))
        // One label only, and not the bare domain (RFC 6125).
        #expect(!CertificateFacts.covers(wildcard, host: "a.mon.shop.test"))
        #expect(!CertificateFacts.covers(wildcard, host: "shop.test"))
        #expect(CertificateFacts.covers(wildcard, host: "10.0.0.5"))
        #expect(!CertificateFacts.covers(wildcard, host: "10.0.0.6"))
        #expect(CertificateFacts.covers(wildcard, host: "[::1]"))
        #expect(CertificateFacts.covers(wildcard, host: "monitoring-host"))
    }

    @Test func aCASignsOnlyWhatItIssued() throws {
        let ca = try PrivateCA.create(name: "one"), other = try PrivateCA.create(name: "two")
        let issued = try ca.issue(names: ["monitoring-host"]).certificate
        #expect(ca.signed(issued))
        #expect(!other.signed(issued))
        #expect(CertificateFacts.daysLeft(issued) == PrivateCA.serverLifetimeDays - 1 || CertificateFacts.daysLeft(issued) == PrivateCA.serverLifetimeDays)
        #expect(PrivateCA.primaryName(["10.0.0.5", "mon.test"]) == "mon.test")
    }
}
