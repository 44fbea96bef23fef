import Collector
import CompressNIO
import Hummingbird
import Logging
import HummingbirdTesting
import Testing

/// GET /logger.js: the configured endpoint filled in, cacheable, gzip when asked.
@Suite struct LoggerScriptTests {
    func withApp(
        publicPushURL: String = "https://monitor.example.com:3100/loki/api/v1/push",
        _ test: @Sendable @escaping (any TestClientProtocol) async throws -> Void
    ) async throws {
        var configuration = try testConfiguration()
        configuration.publicPushURL = publicPushURL
        configuration.loggerJSMaxAgeSeconds = 120
        let app = try await buildApplication(
            configuration: configuration,
            dependencies: CollectorDependencies(lokiClient: InMemoryLokiClient(), logger: quietLogger)
        )
        try await app.test(.router) { client in try await test(client) }
    }

    @Test func servesTheScriptWithTheConfiguredEndpoint() async throws {
        try await withApp { client in
            let response = try await client.execute(uri: "/logger.js", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(response.headers[.cacheControl] == "public, max-age=120")
            #expect(response.headers[.eTag]?.hasPrefix("\"") == true)
            #expect(response.headers[.contentEncoding] == nil)
            let body = String(buffer: response.body)
            #expect(body.contains("\"https://monitor.example.com:3100/loki/api/v1/push\""))
            #expect(!body.contains("monitoring-host"))
        }
    }

    @Test func answers304WhenTheETagMatches() async throws {
        try await withApp { client in
            let first = try await client.execute(uri: "/logger.js", method: .get)
            let etag = try #require(first.headers[.eTag])
            for header in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
                let again = try await client.execute(uri: "/logger.js", method: .get, headers: [.ifNoneMatch: header])
                #expect(again.status == .notModified, "If-None-Match: \(header)")
                #expect(again.body.readableBytes == 0)
                #expect(again.headers[.eTag] == etag)
            }
            let stale = try await client.execute(uri: "/logger.js", method: .get, headers: [.ifNoneMatch: "\"stale\""])
            #expect(stale.status == .ok)
        }
    }

    @Test func etagFollowsTheContent() async throws {
        var etags: [String] = []
        for url in ["https://one.example/loki/api/v1/push", "https://two.example/loki/api/v1/push"] {
            var configuration = try testConfiguration()
            configuration.publicPushURL = url
            let app = try await buildApplication(configuration: configuration, dependencies: CollectorDependencies(lokiClient: InMemoryLokiClient(), logger: quietLogger))
            etags.append(try await app.test(.router) { client in
                try await client.execute(uri: "/logger.js", method: .get).headers[.eTag] ?? ""
            })
        }
        #expect(etags.count == 2 && etags[0] != etags[1])
    }

    @Test func gzipWhenAccepted() async throws {
        try await withApp { client in
            let plain = try await client.execute(uri: "/logger.js", method: .get)
            let zipped = try await client.execute(uri: "/logger.js", method: .get, headers: [.acceptEncoding: "br, gzip;q=0.8"])
            #expect(zipped.headers[.contentEncoding] == "gzip")
            #expect(zipped.headers[.vary] == "Accept-Encoding")
            var body = zipped.body
            let unzipped = try body.decompress(with: .gzip())
            #expect(unzipped == plain.body)

            let refused = try await client.execute(uri: "/logger.js", method: .get, headers: [.acceptEncoding: "gzip;q=0, br"])
            #expect(refused.headers[.contentEncoding] == nil)
            #expect(refused.body == plain.body)
        }
    }

    @Test func missingScriptFailsAtStartWithThePath() async throws {
        var configuration = try testConfiguration()
        configuration.loggerJSPath = "/nonexistent/lookout/logger.js"
        await #expect {
            _ = try await buildApplication(configuration: configuration, dependencies: CollectorDependencies(lokiClient: InMemoryLokiClient(), logger: quietLogger))
        } throws: { error in
            "\(error)".contains("/nonexistent/lookout/logger.js")
        }
    }

    @Test func scriptWithoutTheEndpointLiteralIsRefusedWhenAURLMustBeFilledIn() async throws {
        var configuration = try testConfiguration()
        configuration.loggerJSPath = try temporaryLoggerFile("console.log('no endpoint here')")
        configuration.publicPushURL = "https://monitor.example.com/loki/api/v1/push"
        await #expect {
            _ = try await buildApplication(configuration: configuration, dependencies: CollectorDependencies(lokiClient: InMemoryLokiClient(), logger: quietLogger))
        } throws: { error in
            "\(error)".contains("does not contain")
        }
    }

    @Test func publicPushURLMustNotBreakOutOfTheStringLiteral() {
        for bad in ["https://x.example/\"+alert(1)+\"", "javascript:alert(1)", "https://x.example/ a", "https://x.example/</script>"] {
            #expect(throws: CollectorConfigurationError.self, "\(bad)") {
                try CollectorConfiguration(values: [.publicPushURL: bad])
            }
        }
    }
}
