import ArgumentParser
import Collector

/// `lookout serve`: runs the browser-telemetry collector (placeholder until the collector lands).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the browser-telemetry collector.")
    func run() async throws {}
}
