#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwiftProtobuf

/// `POST /agents/loki/api/v1/push`: both Promtails (and the Docker driver) push here, and the
/// relay passes each push on to Loki without the entries Loki already accepted
/// (`RecentEntries`). Everything else about the push is Loki's: its answer, status and body go
/// back to the agent unchanged, so the agent's own retry rules still apply (5xx and 429 are
/// retried, 4xx is not).
///
/// Nothing is lost by the relay: a body it cannot read (JSON, gzip, corrupt) goes to Loki as
/// it came, and an entry counts as accepted only once Loki answered 2xx for it.
struct AgentPushRelay: Sendable {
    let pushURL: String
    let authorization: String?
    let timeout: TimeAmount
    let httpClient: HTTPClient
    let recent: RecentEntries
    let metrics: CollectorMetrics
    let monotonicNanoseconds: @Sendable () -> UInt64
    let logger: Logger

    /// Promtail sends batches of about 1 MiB before compression; the edge allows 4 MiB.
    static let maxBodyBytes = 8 << 20
    /// Bounds what a small body may claim to expand to.
    static let maxDecompressedBytes = 64 << 20
    /// Headers Loki reads from a push (tenant, agent name, body format).
    static let forwardedHeaders: [HTTPField.Name] = [.contentType, .contentEncoding, .userAgent, HTTPField.Name("X-Scope-OrgID")!]

    @Sendable func push(_ request: Request, context: CollectorRequestContext) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw HTTPError(.contentTooLarge, message: "push body larger than \(Self.maxBodyBytes) bytes")
        }
        let original = Array(buffer: body)
        guard let filtered = self.filter(original, headers: request.headers) else {
            metrics.relayPushes(.passedThrough)
            return await self.forward(original, headers: request.headers, accepted: [])
        }
        metrics.relayEntries(forwarded: filtered.keys.count, duplicates: filtered.duplicates)
        if filtered.keys.isEmpty {
            // Every entry is already in Loki: answer as Loki answers a push it stored.
            metrics.relayPushes(.allDuplicates)
            return Response(status: .noContent)
        }
        metrics.relayPushes(.forwarded)
        let forwardedBody = filtered.duplicates == 0 ? original : Snappy.compress(try filtered.request.serializedBytes())
        return await self.forward(forwardedBody, headers: request.headers, accepted: filtered.keys)
    }

    struct Filtered {
        var request: Logproto_PushRequest
        var keys: [RecentEntries.Key]
        var duplicates: Int
    }

    /// The push without entries Loki already has, or nil when the body is not a protobuf push
    /// the relay can read (then it travels on unchanged, and Loki judges it).
    func filter(_ body: [UInt8], headers: HTTPFields) -> Filtered? {
        guard Self.isProtobuf(headers[.contentType]), (headers[.contentEncoding] ?? "").isEmpty else { return nil }
        let decoded: Logproto_PushRequest
        do {
            let bytes = try Snappy.decompress(body, maxLength: Self.maxDecompressedBytes)
            decoded = try Logproto_PushRequest(serializedBytes: bytes)
        } catch {
            logger.debug("agent push not readable, relayed unchanged", metadata: ["relay.error": "\(error)"])
            return nil
        }
        var request = decoded
        var keys: [RecentEntries.Key] = []
        for stream in decoded.streams {
            for entry in stream.entries {
                keys.append(RecentEntries.key(labels: stream.labels, seconds: entry.timestamp.seconds, nanos: entry.timestamp.nanos, line: entry.line))
            }
        }
        let seen = recent.seen(keys, now: monotonicNanoseconds())
        let kept = zip(keys, seen).compactMap { key, wasSeen in wasSeen ? nil : key }
        let duplicates = keys.count - kept.count
        if duplicates > 0 {
            var position = 0
            for index in request.streams.indices {
                request.streams[index].entries = request.streams[index].entries.filter { _ in
                    defer { position += 1 }
                    return !seen[position]
                }
            }
            request.streams.removeAll { $0.entries.isEmpty }
        }
        return Filtered(request: request, keys: kept, duplicates: duplicates)
    }

    private func forward(_ body: [UInt8], headers: HTTPFields, accepted keys: [RecentEntries.Key]) async -> Response {
        var upstream = HTTPClientRequest(url: pushURL)
        upstream.method = .POST
        for name in Self.forwardedHeaders {
            if let value = headers[name] { upstream.headers.add(name: name.rawName, value: value) }
        }
        if let authorization { upstream.headers.add(name: "Authorization", value: authorization) }
        upstream.body = .bytes(body)
        do {
            let answer = try await httpClient.execute(upstream, timeout: timeout)
            let text = (try? await answer.body.collect(upTo: 65_536)) ?? ByteBuffer()
            if (200..<300).contains(answer.status.code) {
                let (remembered, forgotten) = recent.remember(keys, now: monotonicNanoseconds())
                metrics.relayRemembered(remembered, forgottenEarly: forgotten)
            } else {
                metrics.relayLokiRefusals.increment()
            }
            var responseHeaders = HTTPFields()
            if let type = answer.headers.first(name: "Content-Type") { responseHeaders[.contentType] = type }
            return Response(
                status: .init(code: Int(answer.status.code), reasonPhrase: answer.status.reasonPhrase),
                headers: responseHeaders,
                body: .init(byteBuffer: text)
            )
        } catch {
            // 503: the agent keeps the batch and retries, as it would if Loki itself were down.
            metrics.relayLokiRefusals.increment()
            logger.warning("agent push not relayed: Loki unreachable", metadata: ["relay.error": "\(error)"])
            return Response(
                status: .serviceUnavailable,
                headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: "Loki is unreachable from the collector: \(error)\n"))
            )
        }
    }

    static func isProtobuf(_ contentType: String?) -> Bool {
        contentType.map { MediaType.matches(MediaType.of($0), "application/x-protobuf") } ?? false
    }
}
