import ArgumentParser

/// The `lookout` binary: the operator CLI and, through `lookout serve`, the collector.
@main
struct Lookout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookout",
        abstract: "Set up, check and run the Lookout monitoring stack.",
        discussion: """
            Typical order on a new monitoring host: `lookout init` (secrets and targets), \
            `lookout check` (offline validation), `docker compose up -d`, `lookout doctor` \
            (live end-to-end checks), `lookout test-alert` (see an alert email arrive). During a maintenance: `lookout silence`.
            """,
        subcommands: [InitCommand.self, CheckCommand.self, DoctorCommand.self, TestAlertCommand.self, SilenceCommand.self, Serve.self]
    )
}
