import Collector
import Foundation
import Hummingbird
import Logging
import HummingbirdTesting
import LokiPush
import NIOConcurrencyHelpers
import Testing

/// A logger.js stand-in with the endpoint literal the real one carries.
let sampleLoggerSource = """
    (function(){var ENDPOINT="https://monitoring-host:3100/loki/api/v1/push";window.lookout={endpoint:ENDPOINT};})();
    """

/// Writes `source` to a temporary file named after its content and returns its path. Same
/// content, same file: runs do not pile up files, and parallel tests write identical bytes.
func temporaryLoggerFile(_ source: String = sampleLoggerSource) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-collector-tests")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in source.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    let file = directory.appendingPathComponent("logger-\(String(hash, radix: 16)).js")
    try Data(source.utf8).write(to: file, options: .atomic)
    return file.path
}

/// Settings that make tests fast: port 0, short flush interval and retry delays.
func testConfiguration() throws -> CollectorConfiguration {
    var configuration = CollectorConfiguration()
    configuration.host = "127.0.0.1"
    configuration.port = 0
    configuration.loggerJSPath = try temporaryLoggerFile()
    configuration.allowedOrigins = .exactly(["https://app.example.com"])
    configuration.limits.ratePerSecond = 100_000
    configuration.limits.rateBurst = 100_000
    configuration.forwarding.flushIntervalMilliseconds = 10
    configuration.forwarding.retryBaseMilliseconds = 1
    configuration.forwarding.retryMaxMilliseconds = 5
    configuration.forwarding.maxAttempts = 3
    return configuration
}

/// A clock the test moves by hand (for the rate limiter).
final class ManualClock: Sendable {
    private let nanoseconds = NIOLockedValueBox<UInt64>(1_000_000_000)
    var now: UInt64 { nanoseconds.withLockedValue { $0 } }
    func advance(seconds: Double) {
        nanoseconds.withLockedValue { $0 += UInt64(seconds * 1_000_000_000) }
    }
}

func nowNanoseconds() -> Int64 {
    Int64(Date().timeIntervalSince1970 * 1_000_000_000)
}

/// A push like logger.js sends: one stream, its labels, JSON lines stamped now.
func pushBody(
    labels: [String: String] = ["app": "frontend", "kind": "pageload", "env": "production", "release": "1.4.2"],
    lines: [String] = [#"{"kind":"pageload","page":"/","ttfb":120,"dcl":800,"load":1500}"#],
    timestamp: Int64? = nil
) -> ByteBuffer {
    let stamp = timestamp ?? nowNanoseconds()
    let push = LokiPushRequest(streams: [
        LokiStream(stream: labels, values: lines.map { LokiEntry(nanoseconds: stamp, line: $0) })
    ])
    return ByteBuffer(bytes: try! JSONEncoder().encode(push))
}

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

extension TestClientProtocol {
    func push(
        _ body: ByteBuffer,
        headers: HTTPFields = jsonHeaders
    ) async throws -> TestResponse {
        try await self.execute(uri: "/loki/api/v1/push", method: .post, headers: headers, body: body)
    }

    /// The value of one series on /metrics, e.g. `lookout_collector_events_rejected_total{reason="schema"}`.
    func metric(_ series: String) async throws -> Double? {
        let response = try await self.execute(uri: "/metrics", method: .get)
        return parseMetric(series, in: String(buffer: response.body))
    }
}

func parseMetric(_ series: String, in text: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1).split(separator: " ")[0])
    }
    return nil
}

/// The `error.message` of a Hummingbird error answer.
func errorMessage(_ response: TestResponse) -> String {
    struct Answer: Decodable {
        struct Inner: Decodable { let message: String }
        let error: Inner
    }
    return (try? JSONDecoder().decode(Answer.self, from: Data(buffer: response.body)))?.error.message ?? ""
}

/// Polls until `condition` holds (delivery is asynchronous); fails the test after `timeout`.
func eventually(
    timeout: Duration = .seconds(5),
    _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    Issue.record("timed out waiting for: \(what)", sourceLocation: sourceLocation)
}

/// Test logs stay quiet unless something is badly wrong.
let quietLogger: Logger = {
    var logger = Logger(label: "lookout.collector.test")
    logger.logLevel = .critical
    return logger
}()
