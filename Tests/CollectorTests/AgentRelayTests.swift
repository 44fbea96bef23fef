@testable import Collector
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The agent relay as a real server between an agent and a recording fake Loki: pushes are
/// snappy protobuf as Promtail sends them, built with the same generated types and Google's
/// snappy. (deploy/tests/test_agent_relay.py sends pushes compressed by another snappy
/// implementation; lab test 65 runs it between the real Promtails and the real Loki.)
@Suite struct AgentRelayTests {
    let loki = FakeLoki()
    let clock = ManualClock()

    func relay(lokiURL: String, _ configure: (inout CollectorConfiguration) -> Void = { _ in }) async throws -> some ApplicationProtocol {
        var configuration = try testConfiguration()
        configuration.lokiURL = lokiURL
        configure(&configuration)
        let clock = self.clock
        return try await buildApplication(
            configuration: configuration,
            dependencies: CollectorDependencies(monotonicNanoseconds: { clock.now }, logger: quietLogger)
        )
    }

    static let labels = #"{job="nginx", logtype="access", site="application"}"#

    static func entry(_ line: String, at seconds: Int64, nanos: Int32 = 0) -> Logproto_EntryAdapter {
        var entry = Logproto_EntryAdapter()
        entry.timestamp.seconds = seconds
        entry.timestamp.nanos = nanos
        entry.line = Data(line.utf8)
        return entry
    }

    static func push(_ entries: [Logproto_EntryAdapter], labels: String = labels) -> [UInt8] {
        var stream = Logproto_StreamAdapter()
        stream.labels = Data(labels.utf8)
        stream.entries = entries
        var request = Logproto_PushRequest()
        request.streams = [stream]
        return Snappy.compress(try! request.serializedBytes())
    }

    static func lines(_ raw: FakeLoki.RawPush) throws -> [String] {
        let request = try Logproto_PushRequest(serializedBytes: try Snappy.decompress(raw.body, maxLength: 1 << 20))
        return request.streams.flatMap { $0.entries.map { String(decoding: $0.line, as: UTF8.self) } }
    }

    static let protobuf: HTTPFields = [.contentType: "application/x-protobuf", .userAgent: "promtail/3.6.11"]

    func send(_ client: some TestClientProtocol, _ body: [UInt8], headers: HTTPFields = protobuf) async throws -> TestResponse {
        try await client.execute(uri: "/agents/loki/api/v1/push", method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    @Test func aCopyOfAnAcceptedEntryIsLeftOutAndOnlyNewEntriesReachLoki() async throws {
        try await loki.run { url async throws -> Void in
            let app = try await relay(lokiURL: url)
            try await app.test(.live) { client async throws -> Void in
                let first = [Self.entry("a", at: 100), Self.entry("b", at: 101)]
                #expect(try await send(client, Self.push(first)).status == .noContent)
                // The other Promtail's copy of the same batch: answered like Loki, Loki not asked.
                #expect(try await send(client, Self.push(first)).status == .noContent)
                #expect(loki.attempts == 1)
                // A batch with one old and one new line: only the new one travels on.
                #expect(try await send(client, Self.push([Self.entry("b", at: 101), Self.entry("c", at: 102)])).status == .noContent)
                #expect(try loki.raw.map(Self.lines) == [["a", "b"], ["c"]])
                #expect(try await client.metric(#"lookout_relay_entries_total{outcome="forwarded"}"#) == 3)
                #expect(try await client.metric(#"lookout_relay_entries_total{outcome="duplicate"}"#) == 3)
                #expect(try await client.metric(#"lookout_relay_pushes_total{outcome="all_duplicates"}"#) == 1)
                #expect(try await client.metric("lookout_relay_remembered_entries") == 3)
            }
        }
    }

    @Test func theSameLineAtAnotherTimeOrInAnotherStreamIsNotACopy() async throws {
        try await loki.run { url async throws -> Void in
            let app = try await relay(lokiURL: url)
            try await app.test(.live) { client async throws -> Void in
                _ = try await send(client, Self.push([Self.entry("same", at: 100)]))
                _ = try await send(client, Self.push([Self.entry("same", at: 100, nanos: 1)]))
                _ = try await send(client, Self.push([Self.entry("same", at: 100)], labels: #"{job="nginx", logtype="error"}"#))
                #expect(loki.attempts == 3)
                #expect(try loki.raw.map(Self.lines) == [["same"], ["same"], ["same"]])
            }
        }
    }

    @Test func aPushLokiRefusedIsNotRememberedSoItsRetryIsNotACopy() async throws {
        loki.script([503, 429])
        try await loki.run { url async throws -> Void in
            let app = try await relay(lokiURL: url)
            try await app.test(.live) { client async throws -> Void in
                let batch = Self.push([Self.entry("retried", at: 100)])
                // Loki's status comes back as it is, so Promtail's own retry rules apply.
                #expect(try await send(client, batch).status == .serviceUnavailable)
                #expect(try await send(client, batch).status == .tooManyRequests)
                #expect(try await send(client, batch).status == .noContent)
                #expect(loki.attempts == 3)
                #expect(try loki.raw.map(Self.lines) == [["retried"]])
                #expect(try await client.metric("lookout_relay_loki_failures_total") == 2)
            }
        }
    }

    @Test func lokiUnreachableIsA503TheAgentRetries() async throws {
        // A port nobody listens on (the fake's own, after it stopped).
        let closed = try await loki.run { url in url }
        let app = try await relay(lokiURL: closed) { $0.forwarding.requestTimeoutMilliseconds = 2_000 }
        try await app.test(.live) { client async throws -> Void in
            let answer = try await send(client, Self.push([Self.entry("x", at: 1)]))
            #expect(answer.status == .serviceUnavailable)
            #expect(String(buffer: answer.body).contains("Loki is unreachable"))
        }
    }

    @Test func anEntryIsForgottenWhenItsWindowEnds() async throws {
        try await loki.run { url async throws -> Void in
            let app = try await relay(lokiURL: url) { $0.relay.dedupWindowSeconds = 60 }
            try await app.test(.live) { client async throws -> Void in
                let batch = Self.push([Self.entry("late", at: 100)])
                _ = try await send(client, batch)
                clock.advance(seconds: 59)
                _ = try await send(client, batch)
                #expect(loki.attempts == 1)
                clock.advance(seconds: 1)
                _ = try await send(client, batch)
                #expect(loki.attempts == 2)
                #expect(try await client.metric("lookout_relay_remembered_entries") == 1)
            }
        }
    }

    @Test func bodiesTheRelayCannotReadGoToLokiUnchanged() async throws {
        loki.setDefaultStatus(204)
        try await loki.run { url async throws -> Void in
            let app = try await relay(lokiURL: url)
            try await app.test(.live) { client async throws -> Void in
                let json = Array(#"{"streams":[{"stream":{"job":"x"},"values":[["1","a"]]}]}"#.utf8)
                _ = try await send(client, json, headers: [.contentType: "application/json"])
                _ = try await send(client, json, headers: [.contentType: "application/json"])
                let notSnappy: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
                _ = try await send(client, notSnappy)
                let gzipped = Self.push([Self.entry("g", at: 1)])
                _ = try await send(client, gzipped, headers: [.contentType: "application/x-protobuf", .contentEncoding: "gzip"])
                // Nothing read, so nothing judged a copy: all four reached Loki byte for byte.
                #expect(loki.raw.map(\.body) == [json, json, notSnappy, gzipped])
                #expect(loki.raw.map { $0.headers[.contentType] } == ["application/json", "application/json", "application/x-protobuf", "application/x-protobuf"])
                #expect(loki.raw.last?.headers[.contentEncoding] == "gzip")
                #expect(try await client.metric(#"lookout_relay_pushes_total{outcome="passed_through"}"#) == 4)
            }
        }
    }

    @Test func lokisRefusalStatusReachesTheAgent() async throws {
        loki.setDefaultStatus(400)
        try await loki.run { url async throws -> Void in
            let app = try await relay(lokiURL: url)
            try await app.test(.live) { client async throws -> Void in
                #expect(try await send(client, Self.push([Self.entry("old", at: 1)])).status == .badRequest)
            }
        }
    }

    @Test func headersLokiReadsTravelOnTheAgentsCredentialsDoNot() async throws {
        try await loki.run { url async throws -> Void in
            let app = try await relay(lokiURL: url) {
                $0.lokiUser = "collector"
                $0.lokiPassword = "s3cret"
            }
            try await app.test(.live) { client async throws -> Void in
                var headers = Self.protobuf
                headers[HTTPField.Name("X-Scope-OrgID")!] = "tenant-1"
                headers[.authorization] = "Basic YWdlbnQ6YWdlbnQ="
                _ = try await send(client, Self.push([Self.entry("h", at: 1)]), headers: headers)
                let forwarded = try #require(loki.raw.first?.headers)
                #expect(forwarded[HTTPField.Name("X-Scope-OrgID")!] == "tenant-1")
                #expect(forwarded[.userAgent] == "promtail/3.6.11")
                #expect(forwarded[.authorization] == "Basic Y29sbGVjdG9yOnMzY3JldA==")
            }
        }
    }

    @Test func whatTheRelayDoesNotReadSurvivesFiltering() async throws {
        try await loki.run { url async throws -> Void in
            let app = try await relay(lokiURL: url)
            try await app.test(.live) { client async throws -> Void in
                _ = try await send(client, Self.push([Self.entry("first", at: 1)]))
                var kept = Self.entry("\u{FF}not utf-8", at: 2)
                kept.line = Data([0xff, 0xfe]) + Data("not utf-8".utf8)
                var pair = Logproto_LabelPairAdapter()
                pair.name = Data("trace_id".utf8)
                pair.value = Data("abc".utf8)
                kept.structuredMetadata = [pair]
                var request = Logproto_PushRequest()
                var stream = Logproto_StreamAdapter()
                stream.labels = Data(Self.labels.utf8)
                stream.entries = [Self.entry("first", at: 1), kept]
                stream.hash = 42
                request.streams = [stream]
                request.format = "loki"
                // A field this relay's schema does not know (number 15, a string).
                var bytes = try request.serializedBytes() as [UInt8]
                bytes += [0x7a, 0x03] + Array("new".utf8)
                #expect(try await send(client, Snappy.compress(bytes)).status == .noContent)

                let second = try #require(loki.raw.last)
                let relayed = try Logproto_PushRequest(serializedBytes: try Snappy.decompress(second.body, maxLength: 1 << 20))
                #expect(relayed.streams.count == 1)
                #expect(relayed.streams[0].entries == [kept])
                #expect(relayed.streams[0].hash == 42)
                #expect(relayed.format == "loki")
                #expect(Array(relayed.unknownFields.data) == [0x7a, 0x03] + Array("new".utf8))
            }
        }
    }
}

@Suite struct RecentEntriesTests {
    func key(_ n: Int) -> RecentEntries.Key {
        RecentEntries.key(labels: Data("{}".utf8), seconds: Int64(n), nanos: 0, line: Data("line".utf8))
    }

    @Test func rememberedOnlyWhenToldAndForgottenOldestFirstOverCapacity() {
        let recent = RecentEntries(windowSeconds: 3_600, capacity: 3)
        #expect(recent.seen([key(1)], now: 0) == [false])
        #expect(recent.remember([key(1), key(2), key(3)], now: 0) == (3, 0))
        #expect(recent.remember([key(4)], now: 1) == (3, 1))
        #expect(recent.seen([key(1), key(2), key(3), key(4)], now: 2) == [false, true, true, true])
        #expect(recent.count == 3)
    }

    @Test func rememberedAgainKeepsTheLaterExpiry() {
        let recent = RecentEntries(windowSeconds: 10, capacity: 100)
        recent.remember([key(1)], now: 0)
        recent.remember([key(1)], now: 5_000_000_000)
        #expect(recent.seen([key(1)], now: 12_000_000_000) == [true])
        #expect(recent.seen([key(1)], now: 15_000_000_000) == [false])
    }

    @Test func keysTellStreamTimeAndLineApart() {
        let base = RecentEntries.key(labels: Data("{a=\"1\"}".utf8), seconds: 1, nanos: 2, line: Data("x".utf8))
        #expect(base == RecentEntries.key(labels: Data("{a=\"1\"}".utf8), seconds: 1, nanos: 2, line: Data("x".utf8)))
        #expect(base != RecentEntries.key(labels: Data("{a=\"2\"}".utf8), seconds: 1, nanos: 2, line: Data("x".utf8)))
        #expect(base != RecentEntries.key(labels: Data("{a=\"1\"}".utf8), seconds: 1, nanos: 3, line: Data("x".utf8)))
        #expect(base != RecentEntries.key(labels: Data("{a=\"1\"}".utf8), seconds: 1, nanos: 2, line: Data("y".utf8)))
        // The length prefix keeps the label/line boundary: "ab" + "c" is not "a" + "bc".
        #expect(RecentEntries.key(labels: Data("ab".utf8), seconds: 0, nanos: 0, line: Data("c".utf8))
            != RecentEntries.key(labels: Data("a".utf8), seconds: 0, nanos: 0, line: Data("bc".utf8)))
    }
}

@Suite struct SnappyTests {
    @Test func roundTripsAndCompresses() throws {
        let text = Array(String(repeating: "GET /api/health 200 ", count: 200).utf8)
        let compressed = Snappy.compress(text)
        #expect(compressed.count < text.count / 4)
        #expect(try Snappy.decompress(compressed, maxLength: text.count) == text)
    }

    @Test func refusesWhatIsNotSnappyOrExpandsTooFar() {
        #expect(throws: Snappy.Failure.self) { try Snappy.decompress(Array("{\"streams\":[]}".utf8), maxLength: 1 << 20) }
        #expect(throws: Snappy.Failure.self) { try Snappy.decompress([], maxLength: 1 << 20) }
        let big = Snappy.compress([UInt8](repeating: 7, count: 10_000))
        #expect(throws: Snappy.Failure.self) { try Snappy.decompress(big, maxLength: 9_999) }
    }
}
