import Foundation
import Hummingbird
import HummingbirdTesting
import LokiPush
import NIOConcurrencyHelpers

/// A recording stand-in for Loki's push and ready endpoints, served by a real HTTP server on
/// port 0. It answers with scripted statuses, then with `defaultStatus`.
final class FakeLoki: Sendable {
    private struct State {
        var received: [LokiPushRequest] = []
        var attempts = 0
        var scripted: [Int] = []
        var defaultStatus = 204
        var ready = true
        var authorizations: [String?] = []
        var raw: [RawPush] = []
    }

    /// A push as it arrived, whatever its format (the agent relay's are snappy protobuf).
    struct RawPush: Sendable {
        let headers: HTTPFields
        let body: [UInt8]
    }

    private let state = NIOLockedValueBox(State())

    var received: [LokiPushRequest] { state.withLockedValue { $0.received } }
    var attempts: Int { state.withLockedValue { $0.attempts } }
    /// The `Authorization` header of every push attempt.
    var authorizations: [String?] { state.withLockedValue { $0.authorizations } }
    var receivedLines: [String] { received.flatMap { $0.streams.flatMap { $0.values.map(\.line) } } }
    /// Every push it answered 2xx, as it arrived.
    var raw: [RawPush] { state.withLockedValue { $0.raw } }

    func script(_ statuses: [Int]) { state.withLockedValue { $0.scripted.append(contentsOf: statuses) } }
    func setDefaultStatus(_ status: Int) { state.withLockedValue { $0.defaultStatus = status } }
    func setReady(_ ready: Bool) { state.withLockedValue { $0.ready = ready } }

    /// Runs `body` while the fake listens; passes Loki's base URL.
    func run<Value: Sendable>(_ body: @Sendable @escaping (String) async throws -> Value) async throws -> Value {
        let router = Router()
        router.post("loki/api/v1/push") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 16 * 1_048_576)
            // Loki parses JSON only when told so; other bodies are kept raw for the test to read.
            let isJSON = request.headers[.contentType]?.hasPrefix("application/json") ?? false
            let push = isJSON ? try JSONDecoder().decode(LokiPushRequest.self, from: Data(buffer: bytes)) : nil
            let raw = RawPush(headers: request.headers, body: Array(buffer: bytes))
            let authorization = request.headers[.authorization]
            let status = self.state.withLockedValue { state -> Int in
                state.attempts += 1
                state.authorizations.append(authorization)
                let status = state.scripted.isEmpty ? state.defaultStatus : state.scripted.removeFirst()
                if (200..<300).contains(status) {
                    if let push { state.received.append(push) }
                    state.raw.append(raw)
                }
                return status
            }
            return Response(status: .init(code: status))
        }
        router.get("ready") { _, _ -> Response in
            Response(status: self.state.withLockedValue { $0.ready } ? .ok : .serviceUnavailable)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)")
        }
    }
}
