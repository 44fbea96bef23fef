import Hummingbird

/// CORS for the push path with an exact-match origin allowlist: answers preflights for allowed
/// origins, adds `Access-Control-Allow-Origin` to their answers (errors included, so the logger
/// can read why), and refuses pushes that carry any other `Origin` with 403.
struct CORSAllowlistMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowlist: OriginAllowlist
    let metrics: CollectorMetrics
    /// Chrome caps preflight caching at 2 hours; longer values are ignored.
    static var maxAgeSeconds: Int { 7_200 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers.value(of: .origin) else {
            // Not a browser cross-origin request (curl, the edge's own checks, tests).
            return try await next(request, context)
        }
        let allowed = allowlist.allows(origin)
        if request.method == .options {
            guard allowed else {
                throw HTTPError(.forbidden, headers: [.vary: "Origin"], message: "origin not allowed")
            }
            var headers = self.grant(origin)
            headers[.accessControlAllowMethods] = "POST, OPTIONS"
            headers[.accessControlAllowHeaders] = "Content-Type"
            headers[.accessControlMaxAge] = String(Self.maxAgeSeconds)
            return Response(status: .noContent, headers: headers)
        }
        guard allowed else {
            metrics.rejected(.origin)
            throw HTTPError(.forbidden, headers: [.vary: "Origin"], message: "origin \(origin) is not allowed to push")
        }
        do {
            var response = try await next(request, context)
            response.headers.append(contentsOf: self.grant(origin))
            return response
        } catch var error as HTTPError {
            error.headers.append(contentsOf: self.grant(origin))
            throw error
        }
    }

    private func grant(_ origin: String) -> HTTPFields {
        switch allowlist {
        case .any: [.accessControlAllowOrigin: "*"]
        default: [.accessControlAllowOrigin: origin, .vary: "Origin"]
        }
    }
}
