/// Everything `lookout serve` can be told. Defaults match docs/signals.md and docs/collector.md.
public struct CollectorConfiguration: Sendable, Equatable {
    /// The endpoint literal that logger.js ships with; `/logger.js` replaces it with `publicPushURL`.
    public static let loggerDefaultEndpoint = "https://monitoring-host:3100/loki/api/v1/push"

    public var host = "0.0.0.0"
    public var port = 8081
    /// Loki's base URL (the push path is appended).
    public var lokiURL = "http://loki:3100"
    /// Optional basic auth towards Loki (not needed inside the compose network).
    public var lokiUser: String?
    public var lokiPassword: String?
    public var allowedOrigins: OriginAllowlist = .none
    /// The push URL browsers should use; written into logger.js when it is served.
    public var publicPushURL = CollectorConfiguration.loggerDefaultEndpoint
    public var loggerJSPath = "/usr/share/lookout/logger.js"
    /// `Cache-Control: max-age` of /logger.js: short, so a new release reaches browsers soon.
    public var loggerJSMaxAgeSeconds = 300

    public var limits = Limits()
    public var forwarding = Forwarding()
    public var relay = Relay()

    public init() {}

    /// What one push may contain.
    public struct Limits: Sendable, Equatable {
        /// 64 KiB is the most `navigator.sendBeacon` sends anyway.
        public var maxBodyBytes = 65_536
        public var maxLineBytes = 16_384
        public var maxEntriesPerPush = 100
        public var maxLabelValueLength = 64
        /// Loki refuses entries more than about an hour older than the newest one in a stream
        /// (out-of-order window), so older ones would only be dropped later.
        public var maxEventAgeSeconds = 3_600
        /// Browser clocks run ahead; Loki's own creation grace period is 10 minutes.
        public var maxClockSkewSeconds = 600
        /// Token bucket per client address: sustained pushes per second and burst size.
        public var ratePerSecond = 10.0
        public var rateBurst = 50.0
        /// Client buckets kept in memory before idle ones are evicted.
        public var maxTrackedClients = 100_000

        public init() {}
    }

    /// How accepted events reach Loki.
    public struct Forwarding: Sendable, Equatable {
        /// Entries held in memory while Loki is slow or down; beyond it new events are dropped.
        public var queueCapacity = 10_000
        public var batchSize = 500
        public var flushIntervalMilliseconds = 1_000
        /// Attempts per batch on 5xx, 429 and connection errors before the batch is dropped.
        public var maxAttempts = 5
        public var retryBaseMilliseconds = 500
        public var retryMaxMilliseconds = 30_000
        public var requestTimeoutMilliseconds = 10_000

        public init() {}
    }
}

extension CollectorConfiguration {
    /// The agent relay (`/agents/loki/api/v1/push`): how long and how many accepted entries it
    /// remembers to leave out their copies.
    public struct Relay: Sendable, Equatable {
        /// Loki refuses entries more than 1 h (`max_chunk_age / 2`) behind the newest of their
        /// stream; 70 minutes covers that plus the agents' retry backoff.
        public var dedupWindowSeconds = 4_200
        /// Beyond it the oldest are forgotten early (counted in lookout_relay_forgotten_early_total).
        public var dedupMaxEntries = 1_000_000

        public init() {}
    }
}

/// Which browser origins get a CORS grant (and may push at all).
public enum OriginAllowlist: Sendable, Equatable {
    /// No origin: browsers on other sites cannot push (the safe default).
    case none
    /// Every origin — only when configured explicitly as `*`.
    case any
    /// Exact matches of `scheme://host[:port]`.
    case exactly(Set<String>)

    public func allows(_ origin: String) -> Bool {
        switch self {
        case .none: false
        case .any: true
        case .exactly(let origins): origins.contains(origin)
        }
    }
}
