import Collector
import Hummingbird
import Logging
import HummingbirdTesting
import Testing

/// CORS on the push path: grants for allowlisted origins only.
@Suite struct CORSTests {
    func withApp(
        origins: OriginAllowlist = .exactly(["https://app.example.com"]),
        _ test: @Sendable @escaping (any TestClientProtocol) async throws -> Void
    ) async throws {
        var configuration = try testConfiguration()
        configuration.allowedOrigins = origins
        let app = try await buildApplication(
            configuration: configuration,
            dependencies: CollectorDependencies(lokiClient: InMemoryLokiClient(), logger: quietLogger)
        )
        try await app.test(.router) { client in try await test(client) }
    }

    static let preflightHeaders: HTTPFields = [
        .accessControlRequestMethod: "POST",
        .accessControlRequestHeaders: "content-type",
    ]

    @Test func preflightFromAnAllowedOriginIsGranted() async throws {
        try await withApp { client in
            var headers = Self.preflightHeaders
            headers[.origin] = "https://app.example.com"
            let response = try await client.execute(uri: "/loki/api/v1/push", method: .options, headers: headers)
            #expect(response.status == .noContent)
            #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(response.headers[.accessControlAllowMethods]?.contains("POST") == true)
            #expect(response.headers[.accessControlAllowHeaders]?.lowercased().contains("content-type") == true)
            #expect(response.headers[.accessControlMaxAge] == "7200")
            #expect(response.headers[.vary] == "Origin")
        }
    }

    @Test(arguments: ["https://evil.example.com", "https://app.example.com.evil.net", "http://app.example.com", "null"])
    func preflightFromOtherOriginsGetsNoGrant(_ origin: String) async throws {
        try await withApp { client in
            var headers = Self.preflightHeaders
            headers[.origin] = origin
            let response = try await client.execute(uri: "/loki/api/v1/push", method: .options, headers: headers)
            #expect(response.status == .forbidden)
            #expect(response.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func pushFromAnAllowedOriginCarriesTheGrantEvenOnErrors() async throws {
        try await withApp { client in
            let origin: HTTPFields = [.origin: "https://app.example.com", .contentType: "text/plain"]
            let accepted = try await client.push(pushBody(), headers: origin)
            #expect(accepted.status == .noContent)
            #expect(accepted.headers[.accessControlAllowOrigin] == "https://app.example.com")

            let refused = try await client.push(ByteBuffer(string: "{}"), headers: origin)
            #expect(refused.status == .badRequest)
            #expect(refused.headers[.accessControlAllowOrigin] == "https://app.example.com")
        }
    }

    @Test func pushFromAnotherOriginIsRefused() async throws {
        try await withApp { client in
            let response = try await client.push(pushBody(), headers: [.origin: "https://evil.example.com", .contentType: "text/plain"])
            #expect(response.status == .forbidden)
            #expect(response.headers[.accessControlAllowOrigin] == nil)
            #expect(try await client.metric(#"lookout_collector_events_rejected_total{reason="origin"}"#) == 1)
        }
    }

    @Test func noOriginsConfiguredMeansNoBrowserMayPush() async throws {
        try await withApp(origins: .none) { client in
            var headers = Self.preflightHeaders
            headers[.origin] = "https://app.example.com"
            let preflight = try await client.execute(uri: "/loki/api/v1/push", method: .options, headers: headers)
            #expect(preflight.headers[.accessControlAllowOrigin] == nil)
            let push = try await client.push(pushBody(), headers: [.origin: "https://app.example.com", .contentType: "text/plain"])
            #expect(push.status == .forbidden)
        }
    }

    @Test func explicitWildcardGrantsEveryOrigin() async throws {
        try await withApp(origins: .any) { client in
            let push = try await client.push(pushBody(), headers: [.origin: "https://anyone.example", .contentType: "text/plain"])
            #expect(push.status == .noContent)
            #expect(push.headers[.accessControlAllowOrigin] == "*")
        }
    }

    @Test func logicalOriginsParseStrictly() throws {
        let parsed = try CollectorConfiguration(values: [.allowedOrigins: " https://a.example , http://b.example:8080 "])
        #expect(parsed.allowedOrigins == .exactly(["https://a.example", "http://b.example:8080"]))
        #expect(try CollectorConfiguration(values: [.allowedOrigins: "*"]).allowedOrigins == .any)
        #expect(throws: CollectorConfigurationError.self) { try CollectorConfiguration(values: [.allowedOrigins: "*, https://a.example"]) }
        #expect(throws: CollectorConfigurationError.self) { try CollectorConfiguration(values: [.allowedOrigins: "https://a.example/"]) }
        #expect(throws: CollectorConfigurationError.self) { try CollectorConfiguration(values: [.allowedOrigins: "a.example"]) }
    }
}
