import Collector
import Hummingbird
import HummingbirdTesting
import Logging
import LokiPush
import Testing

/// The collector as a real server, forwarding to a recording fake Loki on port 0.
@Suite struct ForwardingLiveTests {
    let loki = FakeLoki()

    func collector(
        lokiURL: String,
        _ configure: (inout CollectorConfiguration) -> Void = { _ in }
    ) async throws -> some ApplicationProtocol {
        var configuration = try testConfiguration()
        configuration.lokiURL = lokiURL
        configure(&configuration)
        return try await buildApplication(configuration: configuration, dependencies: CollectorDependencies(logger: quietLogger))
    }

    @Test func forwardsAcceptedEventsWithRewrittenLabels() async throws {
        try await loki.run { url async throws -> Void in
            let app = try await collector(lokiURL: url)
            try await app.test(.live) { client async throws -> Void in
                let labels = ["app": "other", "kind": "error", "env": "staging", "release": "2.0.0-rc.1", "session": "abc"]
                let lines = [#"{"kind":"error","type":"error","message":"boom"}"#, #"{"kind":"error","type":"resource"}"#]
                #expect(try await client.push(pushBody(labels: labels, lines: lines)).status == .noContent)
                try await eventually("two lines at Loki") { loki.receivedLines.count == 2 }
                let stream = try #require(loki.received.first?.streams.first)
                #expect(stream.stream == ["app": "frontend", "job": "frontend", "kind": "error", "env": "staging", "release": "2.0.0-rc.1"])
                #expect(stream.values.map(\.line) == lines)
                // The fake records a push before it answers, so the counter may trail by a moment.
                try await eventually("forwarded counter") {
                    try await client.metric("lookout_collector_events_forwarded_total") == 2
                }
            }
        }
    }

    @Test func basicAuthTowardsLokiOnlyWhenConfigured() async throws {
        try await loki.run { url async throws -> Void in
            let plain = try await collector(lokiURL: url)
            try await plain.test(.live) { client async throws -> Void in
                #expect(try await client.push(pushBody(lines: ["no auth"])).status == .noContent)
                try await eventually("delivered") { loki.receivedLines.count == 1 }
            }
            let withAuth = try await collector(lokiURL: url) {
                $0.lokiUser = "collector"
                $0.lokiPassword = "s3cret"
            }
            try await withAuth.test(.live) { client async throws -> Void in
                #expect(try await client.push(pushBody(lines: ["with auth"])).status == .noContent)
                try await eventually("delivered") { loki.receivedLines.count == 2 }
            }
            // base64("collector:s3cret")
            #expect(loki.authorizations == [nil, "Basic Y29sbGVjdG9yOnMzY3JldA=="])
        }
    }

    @Test func retriesAfter5xxUntilDelivered() async throws {
        loki.script([500, 503])
        try await loki.run { url async throws -> Void in
            let app = try await collector(lokiURL: url) { $0.forwarding.maxAttempts = 5 }
            try await app.test(.live) { client async throws -> Void in
                #expect(try await client.push(pushBody()).status == .noContent)
                try await eventually("delivery after two failures") { loki.receivedLines.count == 1 }
                #expect(loki.attempts == 3)
                #expect(try await client.metric("lookout_collector_forward_retries_total") == 2)
                #expect(try await client.metric("lookout_collector_events_dropped_total") == 0)
                try await eventually("forwarded counter") {
                    try await client.metric("lookout_collector_events_forwarded_total") == 1
                }
            }
        }
    }

    @Test func neverRetriesA4xx() async throws {
        loki.script([400])
        try await loki.run { url async throws -> Void in
            let app = try await collector(lokiURL: url) { $0.forwarding.maxAttempts = 5 }
            try await app.test(.live) { client async throws -> Void in
                #expect(try await client.push(pushBody(lines: ["a", "b"])).status == .noContent)
                try await eventually("the refused batch counted as dropped") {
                    try await client.metric("lookout_collector_events_dropped_total") == 2
                }
                // The forwarder is sequential: once the next event arrives, a retry would have come first.
                #expect(try await client.push(pushBody(lines: ["c"])).status == .noContent)
                try await eventually("the next event delivered") { loki.receivedLines == ["c"] }
                #expect(loki.attempts == 2)
                #expect(try await client.metric("lookout_collector_forward_retries_total") == 0)
            }
        }
    }

    @Test func lokiDownKeepsTheQueueBoundedCountsDropsAndRecovers() async throws {
        loki.setDefaultStatus(503)
        try await loki.run { url async throws -> Void in
            let app = try await collector(lokiURL: url) {
                $0.forwarding.queueCapacity = 5
                $0.forwarding.batchSize = 5
                $0.forwarding.maxAttempts = 1_000_000  // keep retrying: the batch in flight must survive the outage
            }
            try await app.test(.live) { client async throws -> Void in
                for index in 0..<30 {
                    #expect(try await client.push(pushBody(lines: ["event \(index)"])).status == .noContent)
                }
                let depth = try #require(try await client.metric("lookout_collector_queue_depth"))
                #expect(depth <= 5)
                // At most one batch in flight plus a full queue can be held; the rest is dropped and counted.
                let dropped = try #require(try await client.metric("lookout_collector_events_dropped_total"))
                #expect(dropped >= 20)
                #expect(try await client.metric("lookout_collector_events_accepted_total") == 30)
                #expect(loki.receivedLines.isEmpty)
                #expect(try await client.metric("lookout_collector_forward_retries_total") ?? 0 > 0)

                loki.setDefaultStatus(204)
                try await eventually("held events delivered once Loki is back") {
                    Double(loki.receivedLines.count) == 30 - dropped
                }
                #expect(try await client.push(pushBody(lines: ["after recovery"])).status == .noContent)
                try await eventually("new events flow again") { loki.receivedLines.last == "after recovery" }
            }
        }
    }

    @Test func unreachableLokiIsRetriedAndReportedNotReady() async throws {
        // Nothing listens on port 1 of the loopback address: connections are refused. AsyncHTTPClient
        // keeps trying to connect until the request deadline, so keep that short here.
        let app = try await collector(lokiURL: "http://127.0.0.1:1") {
            $0.forwarding.maxAttempts = 2
            $0.forwarding.requestTimeoutMilliseconds = 200
        }
        try await app.test(.live) { client async throws -> Void in
            #expect(try await client.execute(uri: "/ready", method: .get).status == .serviceUnavailable)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            #expect(try await client.push(pushBody()).status == .noContent)
            try await eventually("the batch given up after its attempts") {
                try await client.metric("lookout_collector_events_dropped_total") == 1
            }
            #expect(try await client.metric("lookout_collector_forward_retries_total") == 1)
        }
    }

    @Test func readyFollowsLoki() async throws {
        try await loki.run { url async throws -> Void in
            let app = try await collector(lokiURL: url)
            try await app.test(.live) { client async throws -> Void in
                #expect(try await client.execute(uri: "/ready", method: .get).status == .ok)
                loki.setReady(false)
                #expect(try await client.execute(uri: "/ready", method: .get).status == .serviceUnavailable)
            }
        }
    }

    @Test func gracefulShutdownFlushesTheQueue() async throws {
        try await loki.run { url async throws -> Void in
            // No timer flush and no full batch during the test: only shutdown can deliver.
            let app = try await collector(lokiURL: url) {
                $0.forwarding.flushIntervalMilliseconds = 600_000
                $0.forwarding.batchSize = 1_000
            }
            try await app.test(.live) { client async throws -> Void in
                for index in 0..<3 {
                    #expect(try await client.push(pushBody(lines: ["queued \(index)"])).status == .noContent)
                }
                #expect(try await client.metric("lookout_collector_queue_depth") == 3)
                #expect(loki.receivedLines.isEmpty)
            }
            // app.test ends with a graceful shutdown, as SIGTERM would.
            #expect(loki.receivedLines == ["queued 0", "queued 1", "queued 2"])
        }
    }
}
