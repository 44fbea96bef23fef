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
        let key = Self.bounded(Self.clientKey(request.headers, peer: context.peerAddress))
        if let wait = buckets.take(key, now: monotonicNanoseconds()) {
            metrics.rateLimited.increment()
            let seconds = max(1, Int(wait.rounded(.up)))
            throw HTTPError(.tooManyRequests, headers: [.retryAfter: String(seconds)], message: "rate limit exceeded; retry in \(seconds) s")
        }
        return try await next(request, context)
    }

    /// At most 64 bytes; a key that already fits is used as it is (no copy per request).
    static func bounded(_ key: String) -> String {
        key.utf8.count <= 64 ? key : String(decoding: key.utf8.prefix(64), as: UTF8.self)
    }

    /// `peer` is only evaluated when neither header names the client.
    static func clientKey(_ headers: HTTPFields, peer: @autoclosure () -> String?) -> String {
        if let realIP = headers.value(of: .xRealIP), !realIP.isEmpty {
            return realIP
        }
        // The leftmost entries are whatever the browser claimed; the last one is the edge's view.
        if let forwarded = headers[values: .xForwardedFor].last,
            let last = forwarded.split(separator: ",").last
        {
            let hop = String(last).trimmingWhitespace()
            if !hop.isEmpty { return hop }
        }
        return peer() ?? "unknown"
    }
}

extension HTTPFields.Element.Name {
    // Stored, not computed: building a name validates and lowercases it, once per request before.
    static let xRealIP = Self("X-Real-IP")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}
