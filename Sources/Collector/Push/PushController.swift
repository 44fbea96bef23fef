import Hummingbird
import NIOCore

/// `POST /loki/api/v1/push` from browsers: check, rewrite, count, queue, answer 204 at once.
struct PushController: Sendable {
    let limits: CollectorConfiguration.Limits
    let validator: PushValidator
    let eventMetrics: FrontendEventMetrics
    let queue: ForwardQueue
    let metrics: CollectorMetrics
    let wallClockNanoseconds: @Sendable () -> Int64

    func addRoutes(to group: RouterGroup<CollectorRequestContext>) {
        group.post(use: self.push)
        // Reached only without an Origin header (the CORS middleware answers real preflights).
        group.on("", method: .options) { _, _ in
            Response(status: .noContent, headers: [.allow: "POST, OPTIONS"])
        }
        for method in [HTTPRequest.Method.get, .head, .put, .patch, .delete] {
            group.on("", method: method) { _, _ -> Response in
                metrics.rejected(.method)
                throw PushRejection(reason: .method, message: "use POST to push").httpError
            }
        }
    }

    @Sendable func push(_ request: Request, context: CollectorRequestContext) async throws -> Response {
        do {
            try Self.checkContentType(request.headers.value(of: .contentType))
            let body = try await self.collectBody(request)
            let validated = try validator.validate(body, now: wallClockNanoseconds())
            let streams = validated.streams
            for label in validated.droppedLabels { metrics.labelDropped(label) }
            let entries = streams.reduce(0) { $0 + $1.entries.count }
            metrics.accepted.increment(by: Int64(entries))
            eventMetrics.observe(streams)
            // A full queue drops (and counts) the events; the browser still gets 204, since
            // there is nothing it could do better by retrying into an outage.
            queue.enqueue(streams)
            return Response(status: .noContent)
        } catch let rejection as PushRejection {
            metrics.rejected(rejection.reason)
            throw rejection.httpError
        }
    }

    /// JSON, and text/plain because `sendBeacon` with a string sends that and needs no preflight.
    static func checkContentType(_ header: String?) throws(PushRejection) {
        guard let header, isAccepted(mediaTypeOf: header) else {
            throw PushRejection(
                reason: .contentType,
                message: "Content-Type must be application/json or text/plain (got \(header ?? "none"))"
            )
        }
    }

    static func isAccepted(mediaTypeOf header: String) -> Bool {
        let media = MediaType.of(header)
        return MediaType.matches(media, "application/json") || MediaType.matches(media, "text/plain")
    }

    private func collectBody(_ request: Request) async throws -> ByteBuffer {
        let tooLarge = PushRejection(reason: .tooLarge, message: "body larger than \(limits.maxBodyBytes) bytes")
        if let length = request.headers.value(of: .contentLength).flatMap({ Int($0) }), length > limits.maxBodyBytes {
            throw tooLarge
        }
        do {
            return try await request.body.collect(upTo: limits.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }
}
