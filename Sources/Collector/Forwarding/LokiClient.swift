import LokiPush

/// What happened to one push to Loki; decides between done, retry and give up.
public enum LokiPushOutcome: Sendable, Equatable {
    case delivered
    /// Loki refused the data (4xx other than 429): sending it again cannot help.
    case refused(status: Int, message: String)
    /// Loki or the network failed (5xx, 429, connection error, timeout): worth another try.
    case failed(reason: String)
}

/// The collector's only network dependency, behind a protocol so that tests and other
/// transports can stand in for Loki.
public protocol LokiClient: Sendable {
    func push(_ request: LokiPushRequest) async -> LokiPushOutcome
    /// Whether Loki answers its readiness endpoint (drives the collector's /ready).
    func isReady() async -> Bool
}
