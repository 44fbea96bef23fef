import Foundation
import Testing
@testable import LookoutCLI

/// `lookout silence` (the binary) against the real Alertmanager: what it creates is what
/// Alertmanager stores and applies, `list` and `expire` read and change that state, and every
/// refused input leaves Alertmanager without a silence.
@Suite(.serialized) struct SilenceTests {
    /// The shipped deployment folder: its rule files name the alerts, its targets the sites.
    static let deployment = TestSupport.packageRoot.appendingPathComponent("deploy/monitoring").path

    static func silence(_ alertmanager: RealAlertmanager, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TestSupport.lookout(["silence"] + arguments + ["--alertmanager-url", alertmanager.url, "--env-file", "/nonexistent/.env"])
    }

    /// Alertmanager's own list, as its API gives it.
    static func stored(_ alertmanager: RealAlertmanager) async throws -> [[String: Any]] {
        try await WebClient().send(.GET, alertmanager.url + "/api/v2/silences").json() as? [[String: Any]] ?? []
    }

    static func state(_ silence: [String: Any]) -> String? { (silence["status"] as? [String: Any])?["state"] as? String }

    static func matchers(_ silence: [String: Any]) -> Set<String> {
        Set((silence["matchers"] as? [[String: Any]] ?? []).map { matcher in
            "\(matcher["name"]!)\((matcher["isRegex"] as? Bool) == true ? "=~" : "=")\(matcher["value"]!)"
        })
    }

    /// Posts alerts as Prometheus would and returns, per site, the silences Alertmanager says hide it.
    static func silencedBy(_ alertmanager: RealAlertmanager, alertname: String, sites: [String]) async throws -> [String: [String]] {
        let alerts = sites.map { ["labels": ["alertname": alertname, "site": $0, "severity": "critical"], "annotations": ["summary": "test"]] }
        let post = try await WebClient().send(.POST, alertmanager.url + "/api/v2/alerts", headers: [("Content-Type", "application/json")],
                                              body: try JSONSerialization.data(withJSONObject: alerts))
        #expect(post.status == 200)
        var seen: [String: [String]] = [:]
        for _ in 0..<50 {
            let listed = try await WebClient().send(.GET, alertmanager.url + "/api/v2/alerts?filter=alertname%3D%22\(alertname)%22").json() as? [[String: Any]] ?? []
            seen = Dictionary(uniqueKeysWithValues: listed.compactMap { alert -> (String, [String])? in
                guard let site = (alert["labels"] as? [String: String])?["site"] else { return nil }
                return (site, (alert["status"] as? [String: Any])?["silencedBy"] as? [String] ?? [])
            })
            if Set(seen.keys) == Set(sites) { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        return seen
    }

    @Test func createListExpire() async throws {
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587")
        defer { alertmanager.stop() }
        let created = try Self.silence(alertmanager, ["--for", "2h", "--site", "application", "--alert", "LookoutSiteDown",
                                                      "--comment", "deploy v1.4, ask alice", "--author", "alice", "--dir", Self.deployment])
        #expect(created.status == 0, "\(created.stdout)\n\(created.stderr)")

        // What Alertmanager stored: exactly the two matchers, the author, the comment, ends in 2 h.
        let stored = try await Self.stored(alertmanager)
        #expect(stored.count == 1)
        let silence = try #require(stored.first)
        let id = try #require(silence["id"] as? String)
        #expect(Self.matchers(silence) == ["site=application", "alertname=LookoutSiteDown"])
        #expect(silence["createdBy"] as? String == "alice")
        #expect(silence["comment"] as? String == "deploy v1.4, ask alice")
        #expect(Self.state(silence) == "active")
        let endsAt = try #require((silence["endsAt"] as? String).flatMap { text -> Date? in
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.date(from: text)
        })
        #expect(abs(endsAt.timeIntervalSinceNow - 7200) < 60)

        // The printout: the id, the end in UTC and local time, how to undo it.
        #expect(created.stdout.contains("Silence \(id) created by alice."), "\(created.stdout)")
        #expect(created.stdout.contains("silences: site=\"application\", alertname=\"LookoutSiteDown\""))
        #expect(created.stdout.contains("ends:     \(SilenceText.utc(endsAt).prefix(16))"), "\(created.stdout)")
        #expect(created.stdout.contains(" local), in 1h59m") || created.stdout.contains(" local), in 2h"), "\(created.stdout)")
        #expect(created.stdout.contains("End it early: lookout silence expire \(id)"))
        #expect(created.stdout.contains("\(alertmanager.url)/#/silences/\(id)"))

        // Alertmanager applies it: the site's alert is silenced by it, another site's is not.
        let hidden = try await Self.silencedBy(alertmanager, alertname: "LookoutSiteDown", sites: ["application", "shop"])
        #expect(hidden["application"] == [id])
        #expect(hidden["shop"] == [])

        let listed = try Self.silence(alertmanager, ["list"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("1 silence at \(alertmanager.url):"), "\(listed.stdout)")
        #expect(listed.stdout.contains(id))
        #expect(listed.stdout.contains("active, ends \(SilenceText.utc(endsAt))"), "\(listed.stdout)")
        #expect(listed.stdout.contains("silences: site=\"application\", alertname=\"LookoutSiteDown\""))
        #expect(listed.stdout.contains("by alice: deploy v1.4, ask alice"))
        let json = try Self.silence(alertmanager, ["list", "--json"])
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(decoded.map { $0["id"] as? String } == [id])

        let expired = try Self.silence(alertmanager, ["expire", id])
        #expect(expired.status == 0, "\(expired.stderr)")
        #expect(expired.stdout.contains("Silence \(id) expired"))
        #expect(try await Self.stored(alertmanager).map(Self.state) == ["expired"])
        #expect(try Self.silence(alertmanager, ["list"]).stdout.contains("No active or pending silences"))

        // Expiring it again, an id Alertmanager never had, and something that is no id: exit 1, said plainly.
        for (argument, message) in [
            (id, "silence \(id) has already ended"),
            ("0b6b1e6c-4d35-4f4b-9a3e-8f7c5d2a1b90", "no silence with id 0b6b1e6c-4d35-4f4b-9a3e-8f7c5d2a1b90"),
            ("not-an-id", "'not-an-id' is not a silence id"),
        ] {
            let refused = try Self.silence(alertmanager, ["expire", argument])
            #expect(refused.status == 1, "\(argument): \(refused.stdout)")
            #expect(refused.stderr.contains(message), "\(argument): \(refused.stderr)")
        }
    }

    @Test func badInputIsRefusedAndCreatesNothing() async throws {
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587")
        defer { alertmanager.stop() }
        let dir = ["--dir", Self.deployment]
        let cases: [([String], String)] = [
            (["--for", "2 hours", "--site", "application", "--comment", "deploy"], "--for must be a duration such as 2h, 90m or 1h30m"),
            (["--for=-2h", "--site", "application", "--comment", "deploy"], "--for must be a duration"),
            (["--for", "0s", "--site", "application", "--comment", "deploy"], "--for must be at least 1m"),
            (["--for", "30d", "--site", "application", "--comment", "deploy"], "--for must be at most 7d (168h)"),
            (["--for", "2h", "--alert", "LookoutSiteDwn", "--comment", "deploy"] + dir, "unknown alert name 'LookoutSiteDwn'"),
            (["--for", "2h", "--alert", "lookoutsitedown", "--comment", "deploy"] + dir, "(did you mean LookoutSiteDown?)"),
            (["--for", "2h", "--site", "shopp", "--comment", "deploy"] + dir, "unknown site 'shopp'"),
            (["--for", "2h", "--site", "application", "--comment", "  "] + dir, "--comment is required"),
            (["--for", "2h", "--site", "application"] + dir, "--comment is required"),
            (["--for", "2h", "--comment", "deploy"] + dir, "A silence of every alert needs --all"),
            (["--for", "2h", "--all", "--alert", "LookoutSiteDown", "--comment", "deploy"] + dir, "cannot be combined with --site or --alert"),
            (["--for", "2h", "--alert", "LookoutSiteDown", "--comment", "deploy", "--dir", "/nonexistent"], "cannot check --alert against the deployment's rules"),
        ]
        for (arguments, message) in cases {
            let result = try Self.silence(alertmanager, arguments)
            #expect(result.status == 64, "\(arguments) should be refused: \(result.stdout)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        // The unknown-name message lists what the deployment knows, new rule files included.
        let unknown = try Self.silence(alertmanager, ["--for", "2h", "--alert", "Nope", "--comment", "deploy"] + dir)
        for name in DeploymentNames(folder: URL(fileURLWithPath: Self.deployment)).alerts {
            #expect(unknown.stderr.contains(name), "\(name) missing from: \(unknown.stderr)")
        }
        #expect(try await Self.stored(alertmanager).isEmpty, "a refused input created a silence")
    }

    @Test func allSeveralSitesAndTheDefaultAuthor() async throws {
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587")
        defer { alertmanager.stop() }
        // A deployment probing two sites.
        let folder = try TestSupport.deployment("deployment-good")
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
            - targets: [http://application:80]
              labels: {site: application}
            - targets: [https://shop.example]
              labels: {site: shop.example}
            """.write(to: folder.appendingPathComponent(DeploymentContract.probeTargetsFile), atomically: true, encoding: .utf8)

        let sites = try Self.silence(alertmanager, ["--for", "90m", "--site", "application", "--site", "shop.example",
                                                    "--comment", "network work", "--dir", folder.path])
        #expect(sites.status == 0, "\(sites.stderr)")
        #expect(sites.stdout.contains("silences: site=~\"application|shop\\\\.example\""), "\(sites.stdout)")
        let hidden = try await Self.silencedBy(alertmanager, alertname: "LookoutSiteDown", sites: ["application", "shop.example", "shopXexample"])
        #expect(hidden["application"]?.count == 1)
        #expect(hidden["shop.example"]?.count == 1)
        #expect(hidden["shopXexample"] == [], "the dot must be literal")
        // No --author: the OS user.
        #expect(try await Self.stored(alertmanager).first?["createdBy"] as? String == SilenceRequest.defaultAuthor())

        let everything = try Self.silence(alertmanager, ["--for", "1h", "--all", "--comment", "moving the host", "--dir", folder.path])
        #expect(everything.status == 0, "\(everything.stderr)")
        #expect(everything.stdout.contains("silences: alertname=~\".+\" (every alert)"))
        let all = try await Self.silencedBy(alertmanager, alertname: "LookoutWhatever", sites: ["elsewhere"])
        #expect(all["elsewhere"]?.count == 1)
    }

    @Test func listShowsPendingSilencesButNotExpiredOnes() async throws {
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587")
        defer { alertmanager.stop() }
        let client = AlertmanagerSilences(alertmanagerURL: alertmanager.url, auth: nil)
        let tonight = SilenceRequest(matchers: [SilenceMatcher(name: "site", value: "application")], duration: 3600,
                                     comment: "database upgrade tonight", createdBy: "bob")
        let (pending, _) = try await client.create(tonight, now: Date().addingTimeInterval(6 * 3600))
        let (gone, _) = try await client.create(tonight)
        _ = try await client.expire(id: gone)

        let current = try await client.current()
        #expect(current.map(\.id) == [pending])
        #expect(current.first?.isPending == true)
        let listed = try Self.silence(alertmanager, ["list"])
        #expect(listed.stdout.contains("pending, starts "), "\(listed.stdout)")
        #expect(listed.stdout.contains("(in 5h59m)") || listed.stdout.contains("(in 6h)"), "\(listed.stdout)")
        #expect(listed.stdout.contains("by bob: database upgrade tonight"))
        #expect(!listed.stdout.contains(gone))
    }

    @Test func unreachableAlertmanagerIsOneLine() throws {
        let port = TestSupport.freePort()
        let result = try TestSupport.lookout(["silence", "list", "--alertmanager-url", "http://127.0.0.1:\(port)", "--env-file", "/nonexistent/.env"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("lookout silence: no answer from Alertmanager at http://127.0.0.1:\(port): connection refused"), "\(result.stderr)")
    }

    /// ALERTMANAGER_EXTERNAL_URL from the deployment's .env is the door when no URL option is given.
    @Test func alertmanagerURLFromTheEnvFile() async throws {
        let alertmanager = try await RealAlertmanager(smarthost: "mail.shop.test:587")
        defer { alertmanager.stop() }
        let folder = try TestSupport.temporaryFolder("silence-env")
        defer { try? FileManager.default.removeItem(at: folder) }
        try "ALERTMANAGER_EXTERNAL_URL=\(alertmanager.url)/\n".write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let result = try TestSupport.lookout(["silence", "list", "--env-file", folder.appendingPathComponent(".env").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("No active or pending silences at \(alertmanager.url)"), "\(result.stdout)")
    }
}

/// Parsing and wording that need no Alertmanager.
@Suite struct SilenceRequestTests {
    @Test(arguments: [("2h", 7200.0), ("90m", 5400), ("1h30m", 5400), ("1d", 86400), ("7d", 604800), ("1m", 60), ("168h", 604800)])
    func durations(text: String, seconds: Double) throws {
        #expect(try SilenceRequest.parseDuration(text) == seconds)
    }

    @Test(arguments: ["", "2", "h", "2 h", "-1h", "1.5h", "0m", "59s", "7d1s", "1y", "2hours"])
    func refusedDurations(text: String) {
        #expect(throws: SilenceRequest.Invalid.self) { try SilenceRequest.parseDuration(text) }
    }

    @Test func spans() {
        #expect(SilenceText.span(7140) == "1h59m")
        #expect(SilenceText.span(7200) == "2h")
        #expect(SilenceText.span(45) == "45s")
        #expect(SilenceText.span(61) == "1m1s")
        #expect(SilenceText.span(3 * 86400 + 7200 + 60) == "3d2h")
    }

    @Test func matchersAreQuotedAsAlertmanagerShowsThem() {
        #expect(SilenceMatcher(name: "site", value: "a\"b").text == #"site="a\"b""#)
        #expect(SilenceMatcher(name: "alertname", value: "A|B", isRegex: true).text == #"alertname=~"A|B""#)
        #expect(SilenceRequest.regexEscaped("shop.example-1") == #"shop\.example\-1"#)
    }

    @Test func namesComeFromTheDeploymentFolder() throws {
        let names = DeploymentNames(folder: TestSupport.fixtures.appendingPathComponent("deployment-good"))
        #expect(names.alerts == ["LookoutSiteDown", TestAlert.alertName])
        #expect(names.sites == ["application"])
        #expect(names.ruleFiles == 1)
        let none = DeploymentNames(folder: URL(fileURLWithPath: "/nonexistent"))
        #expect(none.alerts.isEmpty && none.sites.isEmpty)
    }
}
