#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Logging
import NIOCore

/// What the collector needs from the outside world; tests replace the pieces they control.
public struct CollectorDependencies: Sendable {
    /// nil: an `HTTPLokiClient` for the configured Loki URL.
    public var lokiClient: (any LokiClient)?
    public var metrics: CollectorMetrics
    /// Unix time in nanoseconds, for the timestamp window.
    public var wallClockNanoseconds: @Sendable () -> Int64
    /// A monotonic clock in nanoseconds, for rate limiting.
    public var monotonicNanoseconds: @Sendable () -> UInt64
    public var logger: Logger

    public init(
        lokiClient: (any LokiClient)? = nil,
        metrics: CollectorMetrics = CollectorMetrics(),
        wallClockNanoseconds: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000_000_000) },
        monotonicNanoseconds: @escaping @Sendable () -> UInt64 = { NIODeadline.now().uptimeNanoseconds },
        logger: Logger = Logger(label: "lookout.collector")
    ) {
        self.lokiClient = lokiClient
        self.metrics = metrics
        self.wallClockNanoseconds = wallClockNanoseconds
        self.monotonicNanoseconds = monotonicNanoseconds
        self.logger = logger
    }
}

/// Builds the collector: routes plus the forwarder service. `lookout serve` and the tests both
/// come through here.
public func buildApplication(
    configuration: CollectorConfiguration,
    dependencies: CollectorDependencies = CollectorDependencies()
) async throws -> some ApplicationProtocol {
    let logger = dependencies.logger.deferringMetadata()
    let script = try LoggerScript.load(
        path: configuration.loggerJSPath,
        publicPushURL: configuration.publicPushURL,
        maxAgeSeconds: configuration.loggerJSMaxAgeSeconds
    )
    let lokiClient =
        dependencies.lokiClient
        ?? HTTPLokiClient(
            baseURL: configuration.lokiURL,
            user: configuration.lokiUser,
            password: configuration.lokiPassword,
            timeout: .milliseconds(Int64(configuration.forwarding.requestTimeoutMilliseconds)),
            logger: logger
        )
    let queue = ForwardQueue(
        capacity: configuration.forwarding.queueCapacity,
        batchSize: configuration.forwarding.batchSize,
        metrics: dependencies.metrics
    )
    let forwarder = Forwarder(
        queue: queue,
        client: lokiClient,
        settings: configuration.forwarding,
        metrics: dependencies.metrics,
        logger: logger
    )
    let relay = AgentPushRelay(
        pushURL: configuration.lokiURL + HTTPLokiClient.pushPath,
        authorization: HTTPLokiClient.basicAuthorization(user: configuration.lokiUser, password: configuration.lokiPassword),
        timeout: .milliseconds(Int64(configuration.forwarding.requestTimeoutMilliseconds)),
        httpClient: .shared,
        recent: RecentEntries(windowSeconds: configuration.relay.dedupWindowSeconds, capacity: configuration.relay.dedupMaxEntries),
        metrics: dependencies.metrics,
        monotonicNanoseconds: dependencies.monotonicNanoseconds,
        logger: logger
    )
    let router = buildRouter(
        configuration: configuration,
        dependencies: dependencies,
        script: script,
        queue: queue,
        lokiClient: lokiClient,
        relay: relay
    )
    if configuration.allowedOrigins == .none {
        logger.warning("LOOKOUT_ALLOWED_ORIGINS is empty: browsers on other origins cannot push")
    }
    logger.info(
        "collector configured",
        metadata: [
            "collector.listen": "\(configuration.host):\(configuration.port)",
            "collector.loki_url": "\(configuration.lokiURL)",
            "collector.public_push_url": "\(configuration.publicPushURL)",
        ]
    )
    return Application(
        router: router,
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "lookout-collector"
        ),
        services: [forwarder],
        logger: logger
    )
}

/// The routes: /logger.js, the browser push path, the agent relay, /metrics, /health, /ready.
func buildRouter(
    configuration: CollectorConfiguration,
    dependencies: CollectorDependencies,
    script: LoggerScript,
    queue: ForwardQueue,
    lokiClient: any LokiClient,
    relay: AgentPushRelay
) -> Router<CollectorRequestContext> {
    let metrics = dependencies.metrics
    let router = Router(context: CollectorRequestContext.self)

    router.get("logger.js") { request, _ in script.response(to: request) }

    let push = router.group("loki/api/v1/push")
        .add(middleware: CORSAllowlistMiddleware(allowlist: configuration.allowedOrigins, metrics: metrics))
        .add(
            middleware: RateLimitMiddleware(
                buckets: TokenBuckets(
                    ratePerSecond: configuration.limits.ratePerSecond,
                    burst: configuration.limits.rateBurst,
                    maxClients: configuration.limits.maxTrackedClients
                ),
                metrics: metrics,
                monotonicNanoseconds: dependencies.monotonicNanoseconds
            )
        )
    PushController(
        limits: configuration.limits,
        validator: PushValidator(limits: configuration.limits),
        eventMetrics: FrontendEventMetrics(metrics: metrics),
        queue: queue,
        metrics: metrics,
        wallClockNanoseconds: dependencies.wallClockNanoseconds
    ).addRoutes(to: push)

    // Agents only: the edge sends agents' pushes here after checking their login, the
    // monitoring host's Promtail comes from inside the compose network.
    router.post("agents/loki/api/v1/push", use: relay.push)

    router.get("metrics") { _, _ in
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition()))
        )
    }
    router.get("health") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
    }
    router.get("ready") { _, _ in
        let ready = await lokiClient.isReady()
        return Response(
            status: ready ? .ok : .serviceUnavailable,
            headers: [.contentType: "text/plain"],
            body: .init(byteBuffer: ByteBuffer(string: ready ? "ready\n" : "loki is not reachable\n"))
        )
    }
    return router
}
