import ArgumentParser
import Foundation
import LookoutCLI

/// `lookout check [DIR]`: offline validation of a deployment folder.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a deployment folder offline (nothing is started).",
        discussion: """
            Runs promtool, amtool, docker-compose and nginx -t when they are installed (and says so \
            when they are not), then Lookout's own checks: 7-day retention in Prometheus and Loki, \
            dashboard datasources provisioned, no placeholder secret left, runbook anchors, logger \
            endpoint and collector origins in agreement. Exits 1 when any check fails.
            """
    )

    @Argument(help: ArgumentHelp("The deployment folder.", valueName: "dir"))
    var directory: String = "deploy/monitoring"

    @Option(help: ArgumentHelp("The runbook the alerts link to (default: the folder's runbook/index.html, else docs/runbook.md above it).", valueName: "path"))
    var runbook: String?

    @Flag(help: "Skip the external tools (promtool, amtool, docker-compose, nginx).")
    var noTools = false

    @Flag(help: "Print the results as JSON.")
    var json = false

    /// Called by run(), not validate(): a mistyped option must be reported as such, not as a
    /// missing default folder.
    func checkPaths() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("'\(directory)' is not a folder: pass the deployment folder (e.g. deploy/monitoring).")
        }
        if let runbook, !FileManager.default.fileExists(atPath: runbook) {
            throw ValidationError("runbook '\(runbook)' does not exist.")
        }
    }

    func run() throws {
        try checkPaths()
        let checker = DeploymentChecker(
            directory: URL(fileURLWithPath: directory),
            runbook: runbook.map { URL(fileURLWithPath: $0) },
            runTools: !noTools
        )
        let report = checker.run()
        print(json ? try report.renderJSON() : report.renderText(), terminator: "")
        if !report.succeeded { throw ExitCode.failure }
    }
}
