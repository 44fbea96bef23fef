import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP answer, fully read (the doctor's responses are small).
public struct WebResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

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

/// Thin wrapper over AsyncHTTPClient's shared client: no redirects followed (an edge that
/// redirects to a login page must show up as such), a timeout per request, a body cap.
public struct WebClient: Sendable {
    public var timeout: TimeAmount

    public init(timeoutSeconds: Int64 = 10) {
        timeout = .seconds(timeoutSeconds)
    }

    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        // AsyncHTTPClient retries a refused connection until the connect timeout: keep it short
        // so that a door that is down is reported in seconds, not after a long wait.
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

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
        let response = try await Self.client.execute(request, timeout: timeout)
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
    ]
    return known.first { text.contains($0.0) }?.1 ?? text
}
