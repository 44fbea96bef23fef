import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL

/// One HTTP answer, fully read (the doctor's responses are small).
public struct WebResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body in a few words, for one line of a report: an HTML error page's <title>
    /// ("502 Bad Gateway"), else its first line, cut at 120 characters.
    public var gist: String {
        let text = self.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let open = text.range(of: "<title>", options: .caseInsensitive),
           let close = text.range(of: "</title>", options: .caseInsensitive, range: open.upperBound..<text.endIndex) {
            return text[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
        }
        if text.hasPrefix("<") { return "an HTML page" }
        let line = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        return line.count > 120 ? line.prefix(120) + "…" : line
    }

    public func json() -> Any? { try? JSONSerialization.jsonObject(with: body) }
}

public struct BasicAuth: Sendable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    var headerValue: String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }
}

/// Thin wrapper over AsyncHTTPClient: no redirects followed (an edge that redirects to a login
/// page must show up as such), a timeout per request, a body cap. HTTPS is always verified
/// (certificate chain and host name), against the system's roots plus `caFile` when given
/// (the private CA of `lookout init --tls`).
public struct WebClient: Sendable {
    public var timeout: TimeAmount
    public var caFile: String?

    public init(timeoutSeconds: Int64 = 10, caFile: String? = nil) {
        timeout = .seconds(timeoutSeconds)
        self.caFile = caFile
    }

    /// The TLS settings every client of the edge gets: full verification, TLS 1.2 or newer.
    public static func tlsConfiguration(caFile: String?) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        if let caFile { tls.additionalTrustRoots = [.file(caFile)] }
        return tls
    }

    /// One long-lived client per trust configuration (the process ends without shutting them down).
    private static let clients = NIOLockedValueBox<[String: HTTPClient]>([:])

    var client: HTTPClient {
        Self.clients.withLockedValue { clients in
            let key = caFile ?? ""
            if let existing = clients[key] { return existing }
            var configuration = HTTPClient.Configuration(tlsConfiguration: Self.tlsConfiguration(caFile: caFile))
            configuration.redirectConfiguration = .disallow
            // AsyncHTTPClient retries a refused connection until the connect timeout: keep it short
            // so that a door that is down is reported in seconds, not after a long wait.
            configuration.timeout = .init(connect: .seconds(3), read: .seconds(30))
            let created = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[key] = created
            return created
        }
    }

    public func send(
        _ method: HTTPMethod = .GET,
        _ url: String,
        headers: [(String, String)] = [],
        auth: BasicAuth? = nil,
        body: Data? = nil
    ) async throws -> WebResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let auth { request.headers.replaceOrAdd(name: "Authorization", value: auth.headerValue) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 8 << 20)
        return WebResponse(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) },
            body: Data(buffer.readableBytesView)
        )
    }
}

/// A short, human description of a transport error (connection refused, timeout, DNS).
func describe(_ error: any Error) -> String {
    let text = String(describing: error)
    let known: [(String, String)] = [
        ("Connection refused", "connection refused"),
        ("connectTimeout", "connection timed out"),
        ("deadlineExceeded", "no answer in time"),
        ("readTimeout", "no answer in time"),
        ("UnknownHost", "host name not found"),
        ("NXDOMAIN", "host name not found"),
        ("getaddrinfo", "host name not found"),
        ("No address associated", "host name not found"),
        ("remoteConnectionClosed", "connection closed by the server"),
        ("CERTIFICATE_VERIFY_FAILED", "the edge's TLS certificate was refused (expired, or from a CA not trusted here: lookout doctor explains which)"),
        ("failedToValidateHostname", "the edge's TLS certificate is not for this host name (lookout doctor shows its names)"),
        ("handshakeFailed", "TLS handshake failed (lookout doctor explains why)"),
        ("WRONG_VERSION_NUMBER", "the server does not speak TLS here (plain HTTP?): use http:// or enable TLS at the edge"),
    ]
    return known.first { text.contains($0.0) }?.1 ?? text
}
