import ArgumentParser
import Collector
import Foundation
import Hummingbird
import Logging

/// `lookout serve`: runs the browser-telemetry collector. It only gathers configuration (each
/// flag wins over its environment variable) and hands over to `Collector.buildApplication`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the collector: logger.js, browser pushes to Loki, the agent push relay, /metrics.",
        discussion: "Every option can also be set through the environment variable named in its help; the flag wins."
    )

    @Option(help: "Address to listen on, host:port. [LOOKOUT_LISTEN, default 0.0.0.0:8081]")
    var listen: String?
    @Option(help: "Loki base URL. [LOOKOUT_LOKI_URL, default http://loki:3100]")
    var lokiURL: String?
    @Option(help: "User for basic auth to Loki, if Loki sits behind an authenticating proxy. [LOOKOUT_LOKI_USER]")
    var lokiUser: String?
    @Option(help: "Password for basic auth to Loki; prefer the environment variable, flags show in `ps`. [LOOKOUT_LOKI_PASSWORD]")
    var lokiPassword: String?
    @Option(help: "Comma-separated browser origins allowed to push (exact match); `*` allows all. [LOOKOUT_ALLOWED_ORIGINS, default none]")
    var allowedOrigins: String?
    @Option(help: "Push URL written into the served logger.js. [LOOKOUT_PUBLIC_PUSH_URL, default https://monitoring-host:3100/loki/api/v1/push]")
    var publicPushURL: String?
    @Option(help: "Path of the logger.js file to serve. [LOOKOUT_LOGGER_JS, default /usr/share/lookout/logger.js]")
    var loggerJS: String?
    @Option(help: "Cache-Control max-age of /logger.js in seconds. [LOOKOUT_LOGGER_JS_MAX_AGE, default 300]")
    var loggerJSMaxAge: String?
    @Option(help: "Largest push body in bytes (413 above). [LOOKOUT_MAX_BODY_BYTES, default 65536]")
    var maxBodyBytes: String?
    @Option(help: "Longest log line in bytes (400 above). [LOOKOUT_MAX_LINE_BYTES, default 16384]")
    var maxLineBytes: String?
    @Option(help: "Most entries in one push (400 above). [LOOKOUT_MAX_ENTRIES, default 100]")
    var maxEntries: String?
    @Option(help: "Oldest accepted entry, in seconds before now. [LOOKOUT_MAX_EVENT_AGE, default 3600]")
    var maxEventAge: String?
    @Option(help: "How far ahead of the server clock an entry may be, in seconds. [LOOKOUT_MAX_CLOCK_SKEW, default 600]")
    var maxClockSkew: String?
    @Option(help: "Sustained pushes per second per client. [LOOKOUT_RATE_PER_SECOND, default 10]")
    var ratePerSecond: String?
    @Option(help: "Burst of pushes per client. [LOOKOUT_RATE_BURST, default 50]")
    var rateBurst: String?
    @Option(help: "Events held in memory while Loki is slow or down. [LOOKOUT_QUEUE_CAPACITY, default 10000]")
    var queueCapacity: String?
    @Option(help: "Most events per push to Loki. [LOOKOUT_BATCH_SIZE, default 500]")
    var batchSize: String?
    @Option(help: "Longest wait before a partial batch is sent, in ms. [LOOKOUT_FLUSH_INTERVAL_MS, default 1000]")
    var flushIntervalMs: String?
    @Option(help: "Attempts per batch on 5xx/429/connection errors. [LOOKOUT_RETRY_ATTEMPTS, default 5]")
    var retryAttempts: String?
    @Option(help: "First retry delay in ms, doubled per attempt. [LOOKOUT_RETRY_BASE_MS, default 500]")
    var retryBaseMs: String?
    @Option(help: "Longest retry delay in ms. [LOOKOUT_RETRY_MAX_MS, default 30000]")
    var retryMaxMs: String?
    @Option(help: "Seconds the agent relay remembers an entry Loki accepted, to leave out its copies; 0 turns that off. [LOOKOUT_DEDUP_WINDOW, default 4200]")
    var dedupWindow: String?
    @Option(help: "Most entries the agent relay remembers; beyond it the oldest are forgotten early. [LOOKOUT_DEDUP_MAX_ENTRIES, default 1000000]")
    var dedupMaxEntries: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. [LOG_LEVEL, default info]")
    var logLevel: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var values = CollectorSetting.values(from: environment)
        let flags: [CollectorSetting: String?] = [
            .listen: listen, .lokiURL: lokiURL, .lokiUser: lokiUser, .lokiPassword: lokiPassword,
            .allowedOrigins: allowedOrigins, .publicPushURL: publicPushURL, .loggerJS: loggerJS,
            .loggerJSMaxAge: loggerJSMaxAge, .maxBodyBytes: maxBodyBytes, .maxLineBytes: maxLineBytes,
            .maxEntries: maxEntries, .maxEventAge: maxEventAge, .maxClockSkew: maxClockSkew,
            .ratePerSecond: ratePerSecond, .rateBurst: rateBurst, .queueCapacity: queueCapacity,
            .batchSize: batchSize, .flushInterval: flushIntervalMs, .retryAttempts: retryAttempts,
            .retryBase: retryBaseMs, .retryMax: retryMaxMs, .dedupWindow: dedupWindow,
            .dedupMaxEntries: dedupMaxEntries,
        ]
        for case let (setting, value?) in flags { values[setting] = value }

        let configuration: CollectorConfiguration
        do {
            configuration = try CollectorConfiguration(values: values)
        } catch let error as CollectorConfigurationError {
            throw ValidationError(error.description)
        }
        let levelName = logLevel ?? environment["LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName.lowercased()) else {
            throw ValidationError("LOG_LEVEL=\(levelName): expected trace, debug, info, notice, warning, error or critical")
        }
        var logger = Logger(label: "lookout.collector")
        logger.logLevel = level

        let app = try await buildApplication(
            configuration: configuration,
            dependencies: CollectorDependencies(logger: logger)
        )
        try await app.runService()
    }
}
