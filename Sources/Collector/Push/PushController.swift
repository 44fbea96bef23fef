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

    /// Compares bytes instead of building lowercased strings: this runs on every push.
    static func isAccepted(mediaTypeOf header: String) -> Bool {
        var utf8 = Substring(header).utf8
        if let semicolon = utf8.firstIndex(of: UInt8(ascii: ";")) { utf8 = utf8[..<semicolon] }
        while let last = utf8.last, last == 0x20 || last == 0x09 { utf8 = utf8.dropLast() }
        while let first = utf8.first, first == 0x20 || first == 0x09 { utf8 = utf8.dropFirst() }
        func equalsIgnoringCase(_ expected: StaticString) -> Bool {
            guard utf8.count == expected.utf8CodeUnitCount else { return false }
            return zip(utf8, UnsafeBufferPointer(start: expected.utf8Start, count: expected.utf8CodeUnitCount))
                .allSatisfy { byte, lower in (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == lower : byte == lower }
        }
        return equalsIgnoringCase("application/json") || equalsIgnoringCase("text/plain")
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
