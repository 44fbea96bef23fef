import ArgumentParser
import Foundation
import Testing
@testable import lookout

/// The --help texts are the CLI's user interface: any change to them shows up here as a diff
/// against Golden/*.txt. After an intended change: LOOKOUT_UPDATE_GOLDEN=1 swift test --filter HelpTests
@Suite struct HelpTests {
    static let commands: [(String, any ParsableCommand.Type)] = [
        ("lookout", Lookout.self),
        ("init", InitCommand.self),
        ("check", CheckCommand.self),
        ("doctor", DoctorCommand.self),
        ("test-alert", TestAlertCommand.self),
        ("silence", SilenceCommand.self),
        ("silence-create", SilenceCreateCommand.self),
        ("silence-list", SilenceListCommand.self),
        ("silence-expire", SilenceExpireCommand.self),
    ]

    @Test(arguments: commands.map(\.0))
    func helpMatchesGolden(name: String) throws {
        let command = Self.commands.first { $0.0 == name }!.1
        // A fixed width: the golden text must not depend on the terminal running the tests.
        let help = Lookout.helpMessage(for: command, columns: 100) + "\n"
        let file = TestSupport.golden.appendingPathComponent("\(name).txt")
        if ProcessInfo.processInfo.environment["LOOKOUT_UPDATE_GOLDEN"] == "1" {
            try help.write(to: file, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: file, encoding: .utf8)
        #expect(help == golden, "--help of \(name) changed; if intended, run with LOOKOUT_UPDATE_GOLDEN=1")
    }

    /// swift-argument-parser's own description of the command tree: every argument has help text.
    @Test func everyOptionHasHelp() throws {
        let result = try TestSupport.lookout(["--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        var checked = 0
        func visit(_ command: [String: Any], path: String) {
            for case let argument as [String: Any] in command["arguments"] as? [Any] ?? [] {
                let names = (argument["names"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
                let abstract = argument["abstract"] as? String ?? ""
                #expect(!abstract.isEmpty, "\(path) \(names) has no help text")
                checked += 1
            }
            for case let sub as [String: Any] in command["subcommands"] as? [Any] ?? [] {
                let name = sub["commandName"] as? String ?? "?"
                // `serve` belongs to the collector (its own tests); `help` is the parser's built-in.
                if name != "serve" && name != "help" { visit(sub, path: "\(path) \(name)") }
            }
        }
        visit(root["command"] as? [String: Any] ?? [:], path: "lookout")
        #expect(checked > 20)
    }

    @Test func badArgumentsAreRejectedWithAClearMessage() throws {
        let cases: [([String], String)] = [
            (["check", "/nonexistent-folder"], "is not a folder"),
            (["init", "--dir", "/nonexistent-folder"], ".env.example' not found"),
            (["doctor", "--url", "monitoring-host"], "--url must be an http(s) URL"),
            (["doctor", "--url", "http://monitoring-host", "--since", "5x"], "--since must be a duration"),
            (["doctor", "--url", "http://monitoring-host", "--user", "admin"], "--user and --password go together"),
            (["test-alert", "--env-file", "/nonexistent/.env"], "pass --url"),
            (["silence", "list", "--env-file", "/nonexistent/.env"], "pass --url"),
            (["silence", "--url", "http://monitoring-host", "--for", "2x", "--site", "application", "--comment", "c"], "--for must be a duration such as 2h"),
            (["silence", "--url", "http://monitoring-host", "--for", "0m", "--site", "application", "--comment", "c"], "--for must be at least 1m"),
            (["silence", "--url", "http://monitoring-host", "--for", "8d", "--site", "application", "--comment", "c"], "--for must be at most 7d"),
            (["silence", "--url", "http://monitoring-host", "--for", "2h", "--site", "application"], "--comment is required"),
            (["silence", "--url", "http://monitoring-host", "--for", "2h", "--comment", "deploy"], "--all"),
            (["silence", "--url", "http://monitoring-host", "--for", "2h", "--all", "--site", "application", "--comment", "deploy"], "cannot be combined"),
            (["silence", "expire"], "Missing expected argument '<id>'"),
            (["init", "--dir", TestSupport.fixtures.appendingPathComponent("deployment-good").path, "--tls-name", "mon.test"], "--tls-name needs --tls"),
            (["init", "--dir", TestSupport.fixtures.appendingPathComponent("deployment-good").path, "--tls", "--tls-name", "mon_test!"], "--tls-name must be a DNS name"),
            (["doctor", "--url", "https://monitoring-host", "--ca-file", "/nonexistent/ca.crt"], "--ca-file '/nonexistent/ca.crt' does not exist"),
        ]
        for (arguments, message) in cases {
            let result = try TestSupport.lookout(arguments)
            #expect(result.status == 64, "\(arguments) should be a usage error")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    /// A mistyped option is named as such, even where the default folder does not exist.
    @Test(arguments: ["check", "init"])
    func unknownOptionIsReportedBeforeAMissingFolder(command: String) throws {
        let elsewhere = try TestSupport.temporaryFolder("elsewhere")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let result = try TestSupport.lookout([command, "--bogus"], in: elsewhere)
        #expect(result.status == 64)
        #expect(result.stderr.contains("Unknown option '--bogus'"), "\(result.stderr)")
        #expect(!result.stderr.contains("deploy/monitoring"), "\(result.stderr)")
    }
}
