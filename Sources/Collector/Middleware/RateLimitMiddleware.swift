import Hummingbird

/// Per-client rate limit on pushes (token bucket): over the limit answers 429 with Retry-After.
/// The client is the address the edge forwards (`X-Real-IP`, else the last `X-Forwarded-For`
/// hop, which the edge appended), else the TCP peer.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = CollectorRequestContext

    let buckets: TokenBuckets
    let metrics: CollectorMetrics
    let monotonicNanoseconds: @Sendable () -> UInt64

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post else { return try await next(request, context) }
        // Bounded, so that forged long header values cannot inflate the bucket map.
        let key = String(decoding: Self.clientKey(request.headers, peer: context.peerAddress).utf8.prefix(64), as: UTF8.self)
        if let wait = buckets.take(key, now: monotonicNanoseconds()) {
            metrics.rateLimited.increment()
            let seconds = max(1, Int(wait.rounded(.up)))
            throw HTTPError(.tooManyRequests, headers: [.retryAfter: String(seconds)], message: "rate limit exceeded; retry in \(seconds) s")
        }
        return try await next(request, context)
    }

    static func clientKey(_ headers: HTTPFields, peer: String?) -> String {
        if let realIP = headers[.xRealIP], !realIP.isEmpty {
            return realIP
        }
        // The leftmost entries are whatever the browser claimed; the last one is the edge's view.
        if let forwarded = headers[values: .xForwardedFor].last,
            let last = forwarded.split(separator: ",").last
        {
            let hop = String(last).trimmingWhitespace()
            if !hop.isEmpty { return hop }
        }
        return peer ?? "unknown"
    }
}

extension HTTPFields.Element.Name {
    static var xRealIP: Self { Self("X-Real-IP")! }
    static var xForwardedFor: Self { Self("X-Forwarded-For")! }
}
