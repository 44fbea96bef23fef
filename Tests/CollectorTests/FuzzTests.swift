import Collector
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Many malformed bodies against a live server: only 4xx answers, and the server still works.
@Suite struct FuzzTests {
    /// Bodies that are each invalid by construction.
    static func malformedBodies(count: Int) -> [[UInt8]] {
        var random = SplitMix64(state: 20_261_125)
        let valid = Array(String(buffer: pushBody(lines: [#"{"kind":"error","message":"x"}"#])).utf8)
        let templates = [
            #"{"streams":[{"stream":{"kind":"error"},"values":[["%", "x"]]}]}"#,
            #"{"streams":[{"stream":{"kind":"%"},"values":[["1","x"]]}]}"#,
            #"{"streams":[{"stream":%,"values":[["1","x"]]}]}"#,
            #"{"streams":%}"#,
            #"{"streams":[{"stream":{},"values":%}]}"#,
            #"%"#,
        ]
        let fillers = ["", "-1", "1e400", "\u{0}", "[]", "{}", "null", "true", String(repeating: "9", count: 40), "\\ud800", "é"]
        var bodies: [[UInt8]] = []
        for index in 0..<count {
            switch index % 5 {
            case 0:
                // Random bytes that cannot start a JSON document.
                var bytes = [UInt8(ascii: "#")]
                for _ in 0..<Int.random(in: 0..<400, using: &random) { bytes.append(UInt8.random(in: 0...255, using: &random)) }
                bodies.append(bytes)
            case 1:
                // Any proper prefix of a JSON object is incomplete.
                bodies.append(Array(valid.prefix(Int.random(in: 0..<valid.count, using: &random))))
            case 2:
                let template = templates[Int.random(in: 0..<templates.count, using: &random)]
                let filler = fillers[Int.random(in: 0..<fillers.count, using: &random)]
                let body = template.replacing("%", with: filler)
                // Two templates accept an empty object as a value only where that is still invalid.
                bodies.append(Array(body.utf8))
            case 3:
                // Deep nesting.
                let depth = Int.random(in: 100..<5_000, using: &random)
                bodies.append(Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8))
            default:
                // A valid document with a stray byte in place of its last closing bracket.
                var bytes = valid
                bytes[bytes.count - 1] = [UInt8(ascii: ","), UInt8(ascii: "]"), 0, 0xFF][Int.random(in: 0..<4, using: &random)]
                bodies.append(bytes)
            }
        }
        return bodies
    }

    @Test func malformedBodiesOnlyGet4xxAndTheServerSurvives() async throws {
        let app = try await buildApplication(
            configuration: try testConfiguration(),
            dependencies: CollectorDependencies(lokiClient: InMemoryLokiClient(), logger: quietLogger)
        )
        try await app.test(.live) { client async throws -> Void in
            var statuses: [Int: Int] = [:]
            for (index, body) in Self.malformedBodies(count: 500).enumerated() {
                let contentType = index % 2 == 0 ? "application/json" : "text/plain;charset=UTF-8"
                let response = try await client.push(ByteBuffer(bytes: body), headers: [.contentType: contentType])
                statuses[response.status.code, default: 0] += 1
                if !(400..<500).contains(response.status.code) {
                    Issue.record("body #\(index) got \(response.status.code): \(String(decoding: body.prefix(200), as: UTF8.self))")
                }
            }
            #expect(statuses.keys.allSatisfy { (400..<500).contains($0) }, "\(statuses)")
            #expect(try await client.push(pushBody()).status == .noContent)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            #expect(try await client.metric("lookout_collector_events_accepted_total") == 1)
        }
    }
}
