import ArgumentParser
import Foundation
import LookoutCLI

/// `lookout silence`: maintenance windows as Alertmanager silences, through the edge.
struct SilenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Silence alerts for a maintenance, list the silences, end one early.",
        discussion: """
            `lookout silence --for 2h --site application --comment "deploy v1.4"` creates an \
            Alertmanager silence through the edge (:9093) and prints its id and end. --site and \
            --alert become matchers (site="S", alertname="NAME"; both: both must match; repeated: \
            any of them). A silence of every alert needs --all. Alert names are checked against \
            the rule files of the deployment folder, sites against its probe targets: a typo is \
            refused instead of silencing nothing. While a silence is active, every alert email \
            says so. `lookout silence list` shows the active and pending silences, `lookout \
            silence expire ID` ends one.
            """,
        subcommands: [SilenceCreateCommand.self, SilenceListCommand.self, SilenceExpireCommand.self],
        defaultSubcommand: SilenceCreateCommand.self
    )
}

/// Runs one silence operation; a refusal from Alertmanager (or no answer) is one line on
/// stderr and exit code 1, not a stack trace.
private func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as AlertmanagerSilences.Failure {
        FileHandle.standardError.write(Data("lookout silence: \(failure.description)\n".utf8))
        throw ExitCode.failure
    }
}

extension AlertmanagerDoor {
    var silences: AlertmanagerSilences {
        AlertmanagerSilences(alertmanagerURL: target, auth: login.resolve().alertmanager, caFile: login.trustedCAFile)
    }
}

struct SilenceCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a silence (the default: `lookout silence --for 2h …`)."
    )

    @Option(name: .customLong("for"), help: ArgumentHelp("How long, from now: 2h, 90m, 1h30m, 1d (1m to 7d).", valueName: "duration"))
    var duration: String

    @Option(help: ArgumentHelp("Silence the alerts of this site (repeat for several).", valueName: "site"))
    var site: [String] = []

    @Option(help: ArgumentHelp("Silence this alert (repeat for several); a name from the deployment's rule files.", valueName: "name"))
    var alert: [String] = []

    @Flag(help: "Silence every alert (instead of --site/--alert): no alert is emailed until it ends.")
    var all = false

    @Option(help: ArgumentHelp("Why, and who to ask (required; shown in `silence list` and Alertmanager's UI).", valueName: "text"))
    var comment: String?

    @Option(help: ArgumentHelp("Who creates it (default: the OS user, or SUDO_USER under sudo).", valueName: "name"))
    var author: String?

    @Option(help: ArgumentHelp("The deployment folder whose rule files and probe targets name the alerts and sites (default: the folder of --env-file).", valueName: "dir"))
    var dir: String?

    @OptionGroup var door: AlertmanagerDoor

    var deploymentFolder: String {
        dir ?? URL(fileURLWithPath: door.login.envFile).deletingLastPathComponent().path
    }

    /// Everything that can be checked without Alertmanager; a refusal is a usage error (64)
    /// and nothing is created.
    func request() throws -> SilenceRequest {
        let folder = deploymentFolder
        var isDirectory: ObjCBool = false
        let names = FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue
            ? DeploymentNames(folder: URL(fileURLWithPath: folder)) : nil
        do {
            return try SilenceRequest.make(duration: duration, sites: site, alerts: alert, all: all, comment: comment,
                                           author: author, names: names, deploymentFolder: folder)
        } catch let invalid as SilenceRequest.Invalid {
            throw ValidationError(invalid.description)
        }
    }

    func validate() throws {
        // The duration and the comment need no files: refuse them before anything is read.
        do { _ = try SilenceRequest.parseDuration(duration) } catch let invalid as SilenceRequest.Invalid {
            throw ValidationError(invalid.description)
        }
    }

    func run() async throws {
        let request = try request()
        let silences = door.silences
        try await reportingFailures {
            let (id, endsAt) = try await silences.create(request)
            print(SilenceText.created(id: id, request: request, endsAt: endsAt, uiURL: silences.uiURL(id: id)), terminator: "")
        }
    }
}

struct SilenceListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show the active and pending silences: id, matchers, end, author, comment."
    )

    @OptionGroup var door: AlertmanagerDoor

    @Flag(help: "Print the silences as JSON.")
    var json = false

    func run() async throws {
        let silences = door.silences
        try await reportingFailures {
            let current = try await silences.current()
            print(json ? try SilenceText.json(current) : SilenceText.list(current, at: silences.alertmanagerURL), terminator: "")
        }
    }
}

struct SilenceExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire",
        abstract: "End a silence now (its id is in `lookout silence list`)."
    )

    @Argument(help: ArgumentHelp("The silence's id.", valueName: "id"))
    var id: String

    @OptionGroup var door: AlertmanagerDoor

    func run() async throws {
        let silences = door.silences
        try await reportingFailures {
            print(SilenceText.expired(try await silences.expire(id: id)), terminator: "")
        }
    }
}
