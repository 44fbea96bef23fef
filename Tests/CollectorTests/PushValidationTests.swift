import Collector
import Foundation
import Hummingbird
import Logging
import HummingbirdTesting
import LokiPush
import Testing

/// Every way a push is refused, through the router (no network).
@Suite struct PushValidationTests {
    let loki = InMemoryLokiClient()

    func withApp(
        _ configure: (inout CollectorConfiguration) -> Void = { _ in },
        clock: ManualClock = ManualClock(),
        _ test: @Sendable @escaping (any TestClientProtocol) async throws -> Void
    ) async throws {
        var configuration = try testConfiguration()
        configure(&configuration)
        let app = try await buildApplication(
            configuration: configuration,
            dependencies: CollectorDependencies(lokiClient: loki, monotonicNanoseconds: { clock.now }, logger: quietLogger)
        )
        try await app.test(.router) { client in try await test(client) }
    }

    @Test func acceptedPushIsForwardedWithRewrittenLabels() async throws {
        try await withApp { client in
            let labels = ["app": "backend", "job": "nginx", "kind": "pageload", "env": "production", "release": "1.4.2", "user": "alice"]
            let response = try await client.push(pushBody(labels: labels, lines: ["{\"kind\":\"pageload\"}", "{\"kind\":\"pageload\",\"ttfb\":5}"]))
            #expect(response.status == .noContent)
        }
        // Graceful shutdown at the end of the test flushed the queue.
        let streams = loki.received.flatMap(\.streams)
        #expect(streams.count == 1)
        #expect(streams.first?.stream == ["app": "frontend", "job": "frontend", "kind": "pageload", "env": "production", "release": "1.4.2"])
        #expect(streams.first?.values.map(\.line) == ["{\"kind\":\"pageload\"}", "{\"kind\":\"pageload\",\"ttfb\":5}"])
    }

    @Test(arguments: ["text/plain;charset=UTF-8", "application/json; charset=utf-8", "Application/JSON", " text/plain "])
    func acceptedContentTypes(_ contentType: String) async throws {
        try await withApp { client in
            let response = try await client.push(pushBody(), headers: [.contentType: contentType])
            #expect(response.status == .noContent)
        }
    }

    @Test(arguments: [HTTPRequest.Method.get, .put, .delete, .patch])
    func otherMethodsAre405(_ method: HTTPRequest.Method) async throws {
        try await withApp { client in
            let response = try await client.execute(uri: "/loki/api/v1/push", method: method)
            #expect(response.status == .methodNotAllowed)
            #expect(response.headers[.allow] == "POST, OPTIONS")
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="method"}"#) == 1)
        }
    }

    @Test(arguments: [
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/x-protobuf",
        "application/json-seq", "text/plainx", "text/html", "application\u{0F}json", nil,
    ])
    func otherContentTypesAre415(_ contentType: String?) async throws {
        try await withApp { client in
            var headers: HTTPFields = [:]
            if let contentType { headers[.contentType] = contentType }
            let response = try await client.push(pushBody(), headers: headers)
            #expect(response.status == .unsupportedMediaType)
            #expect(errorMessage(response).contains("Content-Type"))
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="content_type"}"#) == 1)
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await withApp({ $0.limits.maxBodyBytes = 1_024; $0.limits.maxLineBytes = 4_096 }) { client in
            let big = pushBody(lines: [String(repeating: "x", count: 2_000)])
            let response = try await client.push(big)
            #expect(response.status == .contentTooLarge)
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="too_large"}"#) == 1)
        }
    }

    @Test(arguments: [
        ("not json at all", "not valid JSON"),
        (#"{"stream":[]}"#, "missing key 'streams'"),
        (#"{"streams":{}}"#, "streams: expected an array"),
        (#"{"streams":[]}"#, "streams is empty"),
        (#"{"streams":[{"stream":{"kind":"error"}}]}"#, "missing key 'values' in streams[0]"),
        (#"{"streams":[{"stream":{"kind":"error"},"values":[]}]}"#, "streams[0].values is empty"),
        (#"{"streams":[{"stream":{"kind":"error"},"values":[[1700000000000000000,"x"]]}]}"#, "streams[0].values[0][0]: expected a string"),
        (#"{"streams":[{"stream":{"kind":"error"},"values":[["1","x",{"a":"b"}]]}]}"#, "structured metadata"),
        (#"{"streams":[{"stream":{"kind":7},"values":[["1","x"]]}]}"#, "streams[0].stream.kind: expected a string"),
    ])
    func schemaErrorsAre400WithAMessage(_ body: String, _ expected: String) async throws {
        try await withApp { client in
            let response = try await client.push(ByteBuffer(string: body))
            #expect(response.status == .badRequest)
            #expect(errorMessage(response).contains(expected), "message was: \(errorMessage(response))")
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="schema"}"#) == 1)
        }
    }

    /// `kind` chooses the stream and the metrics: a bad value refuses the push.
    @Test(arguments: ["page load", "ünïcode", "", String(repeating: "k", count: 65)])
    func badKindValuesAre400(_ kind: String) async throws {
        try await withApp { client in
            let response = try await client.push(pushBody(labels: ["kind": kind, "env": "production"]))
            #expect(response.status == .badRequest)
            #expect(errorMessage(response).contains("stream.kind"))
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="label"}"#) == 1)
        }
        #expect(loki.received.isEmpty)
    }

    /// `env` and `release` only describe the source: a bad value loses the label, not the events.
    @Test(arguments: [
        ("env", ""), ("env", "prod\"}"), ("env", "ünïcode"), ("release", String(repeating: "1", count: 65)),
        ("release", "1.2.0+build/7"),
    ])
    func badOptionalLabelValuesAreDroppedAndCounted(_ name: String, _ value: String) async throws {
        let other = name == "env" ? ("release", "1.4.2") : ("env", "production")
        try await withApp { client in
            let labels = ["kind": "pageload", name: value, other.0: other.1]
            let response = try await client.push(pushBody(labels: labels))
            #expect(response.status == .noContent)
            #expect(try await client.metric(#"lookout_collector_labels_dropped_total{label="\#(name)"}"#) == 1)
            #expect(try await client.metric(#"lookout_collector_labels_dropped_total{label="\#(other.0)"}"#) == 0)
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="label"}"#) == 0)
            #expect(try await client.metric("lookout_collector_events_accepted_total") == 1)
        }
        let streams = loki.received.flatMap(\.streams)
        #expect(streams.map(\.stream) == [["app": "frontend", "job": "frontend", "kind": "pageload", other.0: other.1]])
        #expect(streams.first?.values.count == 1)
    }

    /// A dropped label does not excuse the rest of the push: other checks still refuse it.
    @Test func droppedLabelIsNotCountedWhenThePushIsRefusedLater() async throws {
        try await withApp { client in
            let response = try await client.push(pushBody(labels: ["kind": "pageload", "env": "bad env"], timestamp: 1))
            #expect(response.status == .badRequest)
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="timestamp"}"#) == 1)
            #expect(try await client.metric(#"lookout_collector_labels_dropped_total{label="env"}"#) == 0)
        }
        #expect(loki.received.isEmpty)
    }

    @Test func timestampsOutsideTheWindowAre400() async throws {
        try await withApp { client in
            let hour: Int64 = 3_600_000_000_000
            for (stamp, expected) in [
                (nowNanoseconds() - 2 * hour, "outside the accepted window"),
                (nowNanoseconds() + hour, "outside the accepted window"),
                (0, "outside the accepted window"),
            ] {
                let response = try await client.push(pushBody(timestamp: stamp))
                #expect(response.status == .badRequest)
                #expect(errorMessage(response).contains(expected))
            }
            for raw in ["1.7e18", "-1", "", "17000000000000000000000", "now"] {
                let body = #"{"streams":[{"stream":{"kind":"error"},"values":[["\#(raw)","x"]]}]}"#
                let response = try await client.push(ByteBuffer(string: body))
                #expect(response.status == .badRequest)
                #expect(errorMessage(response).contains("Unix nanoseconds"), "for \(raw)")
            }
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="timestamp"}"#) == 8)
        }
    }

    @Test func longLinesAre400() async throws {
        try await withApp({ $0.limits.maxLineBytes = 100 }) { client in
            let ok = try await client.push(pushBody(lines: [String(repeating: "a", count: 100)]))
            #expect(ok.status == .noContent)
            let response = try await client.push(pushBody(lines: ["short", String(repeating: "a", count: 101)]))
            #expect(response.status == .badRequest)
            #expect(errorMessage(response).contains("values[1]: line is 101 bytes"))
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="line_too_long"}"#) == 1)
        }
    }

    @Test func tooManyEntriesAre400() async throws {
        try await withApp({ $0.limits.maxEntriesPerPush = 3 }) { client in
            let ok = try await client.push(pushBody(lines: ["a", "b", "c"]))
            #expect(ok.status == .noContent)
            let response = try await client.push(pushBody(lines: ["a", "b", "c", "d"]))
            #expect(response.status == .badRequest)
            #expect(errorMessage(response).contains("4 entries"))
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="too_many_entries"}"#) == 1)
        }
    }

    @Test func rateLimitAnswers429WithRetryAfterPerClient() async throws {
        let clock = ManualClock()
        try await withApp({ $0.limits.ratePerSecond = 0.5; $0.limits.rateBurst = 2 }, clock: clock) { client in
            let alice: HTTPFields = [.contentType: "application/json", HTTPFields.Element.Name("X-Real-IP")!: "203.0.113.7"]
            #expect(try await client.push(pushBody(), headers: alice).status == .noContent)
            #expect(try await client.push(pushBody(), headers: alice).status == .noContent)
            let limited = try await client.push(pushBody(), headers: alice)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "2")

            // Another client has its own bucket.
            let bob: HTTPFields = [.contentType: "application/json", HTTPFields.Element.Name("X-Real-IP")!: "198.51.100.9"]
            #expect(try await client.push(pushBody(), headers: bob).status == .noContent)

            // The bucket refills with time.
            clock.advance(seconds: 2)
            #expect(try await client.push(pushBody(), headers: alice).status == .noContent)
            #expect(try await client.metric("lookout_collector_rate_limited_total") == 1)
        }
    }

    @Test func rateLimitKeyIsTheHopTheEdgeAppended() async throws {
        try await withApp({ $0.limits.ratePerSecond = 0.001; $0.limits.rateBurst = 1 }) { client in
            // A browser can put anything in front; the edge appends the real address last.
            let first = try await client.push(pushBody(), headers: Self.forwardedFor("1.1.1.1, 192.0.2.5"))
            #expect(first.status == .noContent)
            let spoofed = try await client.push(pushBody(), headers: Self.forwardedFor("2.2.2.2, 192.0.2.5"))
            #expect(spoofed.status == .tooManyRequests)
            let other = try await client.push(pushBody(), headers: Self.forwardedFor("192.0.2.6"))
            #expect(other.status == .noContent)
        }
    }

    static func forwardedFor(_ value: String) -> HTTPFields {
        [.contentType: "application/json", HTTPFields.Element.Name("X-Forwarded-For")!: value]
    }
}
