import ArgumentParser

/// The `lookout` binary: the operator CLI and, through `lookout serve`, the collector.
@main
struct Lookout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookout",
        abstract: "Set up, check and run the Lookout monitoring stack.",
        subcommands: [Serve.self]
    )
}
