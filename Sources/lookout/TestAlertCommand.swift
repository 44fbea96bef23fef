import ArgumentParser
import Foundation
import LookoutCLI

/// `lookout test-alert`: a synthetic alert through Alertmanager, then its resolution.
struct TestAlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-alert",
        abstract: "Fire a synthetic alert through Alertmanager, wait, then resolve it.",
        discussion: """
            Posts LookoutTestAlert (severity info) to Alertmanager's /api/v2/alerts through the \
            edge, checks Alertmanager lists it, keeps it firing long enough for the email to go \
            out (group_wait + 30 s unless --hold is given), then resolves it. Exits 1 on failure.
            """
    )

    @OptionGroup var door: AlertmanagerDoor

    @Option(help: ArgumentHelp("The site label of the test alert.", valueName: "site"))
    var site: String = "application"

    @Option(help: ArgumentHelp("Seconds the alert stays firing (default: Alertmanager's group_wait + 30).", valueName: "seconds"))
    var hold: Double?

    func validate() throws {
        if let hold, hold < 0 || hold > 3600 { throw ValidationError("--hold must be between 0 and 3600 seconds.") }
        guard !site.isEmpty else { throw ValidationError("--site must not be empty.") }
    }

    func run() async throws {
        let alert = TestAlert(options: .init(alertmanagerURL: door.target, auth: door.login.resolve().alertmanager, site: site,
                                             holdSeconds: hold, caFile: door.login.trustedCAFile))
        let report = await alert.run { line in print(line) }
        if !report.succeeded { throw ExitCode.failure }
    }
}
