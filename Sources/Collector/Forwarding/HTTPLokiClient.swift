#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import AsyncHTTPClient
import Logging
import LokiPush
import NIOCore

/// Pushes to Loki's HTTP API with AsyncHTTPClient.
public struct HTTPLokiClient: LokiClient {
    let baseURL: String
    let authorization: String?
    let timeout: TimeAmount
    let httpClient: HTTPClient
    let logger: Logger

    /// - Parameters:
    ///   - baseURL: e.g. `http://loki:3100`; the push and ready paths are appended.
    public init(
        baseURL: String,
        user: String? = nil,
        password: String? = nil,
        timeout: TimeAmount = .seconds(10),
        httpClient: HTTPClient = .shared,
        logger: Logger
    ) {
        self.baseURL = baseURL
        self.authorization = Self.basicAuthorization(user: user, password: password)
        self.timeout = timeout
        self.httpClient = httpClient
        self.logger = logger
    }

    /// Loki's push path, appended to the base URL (by the agent relay too).
    static let pushPath = "/loki/api/v1/push"

    /// The Authorization header for Loki's basic auth, when both are set.
    static func basicAuthorization(user: String?, password: String?) -> String? {
        guard let user, let password else { return nil }
        return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    public func push(_ push: LokiPushRequest) async -> LokiPushOutcome {
        var request = HTTPClientRequest(url: baseURL + Self.pushPath)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(LokiPushEncoder.encode(push))
        do {
            let response = try await httpClient.execute(request, timeout: timeout)
            let status = Int(response.status.code)
            // Reading the (small) answer lets the connection go back to the pool; for a 4xx it
            // also says why (out of order, too old, line too long…).
            let text = (try? await response.body.collect(upTo: 4_096)).map { String(buffer: $0) } ?? ""
            switch status {
            case 200..<300:
                return .delivered
            case 429, 500...:
                return .failed(reason: "Loki answered \(status)")
            default:
                return .refused(status: status, message: text)
            }
        } catch {
            return .failed(reason: "\(error)")
        }
    }

    public func isReady() async -> Bool {
        var request = HTTPClientRequest(url: baseURL + "/ready")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        do {
            let response = try await httpClient.execute(request, timeout: .seconds(2))
            _ = try? await response.body.collect(upTo: 4_096)
            return response.status.code == 200
        } catch {
            logger.debug("loki not ready", metadata: ["loki.error": "\(error)"])
            return false
        }
    }
}
