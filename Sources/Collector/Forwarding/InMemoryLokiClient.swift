import LokiPush
import NIOConcurrencyHelpers

/// A LokiClient that keeps pushes in memory and answers with scripted outcomes: for tests and
/// for running the collector without a Loki.
public final class InMemoryLokiClient: LokiClient {
    private struct State {
        var received: [LokiPushRequest] = []
        var scripted: [LokiPushOutcome] = []
        var ready = true
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Pushes delivered so far (those answered with `.delivered`).
    public var received: [LokiPushRequest] { state.withLockedValue { $0.received } }

    /// The next pushes get these outcomes, in order; afterwards every push is delivered.
    public func script(_ outcomes: [LokiPushOutcome]) {
        state.withLockedValue { $0.scripted.append(contentsOf: outcomes) }
    }

    public func setReady(_ ready: Bool) {
        state.withLockedValue { $0.ready = ready }
    }

    public func push(_ request: LokiPushRequest) async -> LokiPushOutcome {
        state.withLockedValue { state in
            let outcome = state.scripted.isEmpty ? .delivered : state.scripted.removeFirst()
            if outcome == .delivered { state.received.append(request) }
            return outcome
        }
    }

    public func isReady() async -> Bool {
        state.withLockedValue { $0.ready }
    }
}
