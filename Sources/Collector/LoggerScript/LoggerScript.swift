#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CompressNIO
import Hummingbird
import NIOCore

/// logger.js as served: read once at start, the push endpoint filled in, gzipped once.
struct LoggerScript: Sendable {
    let plain: ByteBuffer
    let gzipped: ByteBuffer
    let etag: String
    let maxAgeSeconds: Int

    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    static func load(path: String, publicPushURL: String, maxAgeSeconds: Int) throws -> LoggerScript {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LoadError(description: "cannot read logger.js at \(path) (LOOKOUT_LOGGER_JS): \(error)")
        }
        var text = String(decoding: data, as: UTF8.self)
        let literal = CollectorConfiguration.loggerDefaultEndpoint
        if publicPushURL != literal {
            guard text.contains(literal) else {
                throw LoadError(
                    description: "logger.js at \(path) does not contain \(literal), so LOOKOUT_PUBLIC_PUSH_URL cannot be filled in"
                )
            }
            text = text.replacing(literal, with: publicPushURL)
        }
        return try LoggerScript(source: text, maxAgeSeconds: maxAgeSeconds)
    }

    init(source: String, maxAgeSeconds: Int) throws {
        var plain = ByteBuffer(string: source)
        self.plain = plain
        self.gzipped = try plain.compress(with: .gzip())
        self.etag = "\"\(Self.fnv1a(source.utf8))\""
        self.maxAgeSeconds = maxAgeSeconds
    }

    func response(to request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/javascript; charset=utf-8",
            .cacheControl: "public, max-age=\(maxAgeSeconds)",
            .eTag: etag,
            .vary: "Accept-Encoding",
            .xContentTypeOptions: "nosniff",
            // Lets pages load it with `crossorigin` (full error details) and under COEP.
            .accessControlAllowOrigin: "*",
            .crossOriginResourcePolicy: "cross-origin",
        ]
        if let match = request.headers[values: .ifNoneMatch].first(where: { self.matches($0) }), !match.isEmpty {
            return Response(status: .notModified, headers: headers)
        }
        var body = plain
        if Self.acceptsGzip(request.headers[values: .acceptEncoding]) {
            headers[.contentEncoding] = "gzip"
            body = gzipped
        }
        headers[.contentLength] = String(body.readableBytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// `If-None-Match` is a list of tags (weak ones match too for GET) or `*`.
    private func matches(_ header: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            var tag = String(candidate).trimmingWhitespace()
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }

    static func acceptsGzip(_ values: [String]) -> Bool {
        for value in values {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";").map { String($0).trimmingWhitespace().lowercased() }
                guard let coding = parts.first, coding == "gzip" || coding == "x-gzip" || coding == "*" else { continue }
                // `gzip;q=0` means "not gzip".
                let refused = parts.dropFirst().contains { $0.hasPrefix("q=") && (Double($0.dropFirst(2)) ?? 1) == 0 }
                if !refused { return true }
            }
        }
        return false
    }

    /// FNV-1a: a fast, stable content hash; the ETag only has to change when the content does.
    static func fnv1a(_ bytes: some Sequence<UInt8>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension HTTPFields.Element.Name {
    static var xContentTypeOptions: Self { Self("X-Content-Type-Options")! }
    static var crossOriginResourcePolicy: Self { Self("Cross-Origin-Resource-Policy")! }
}
