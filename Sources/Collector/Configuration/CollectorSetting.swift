/// The settings `lookout serve` reads, named by their environment variable. Each one is also a
/// flag (`--listen` for `LOOKOUT_LISTEN`, …); a flag wins over the environment.
public enum CollectorSetting: String, CaseIterable, Sendable {
    case listen = "LOOKOUT_LISTEN"
    case lokiURL = "LOOKOUT_LOKI_URL"
    case lokiUser = "LOOKOUT_LOKI_USER"
    case lokiPassword = "LOOKOUT_LOKI_PASSWORD"
    case allowedOrigins = "LOOKOUT_ALLOWED_ORIGINS"
    case publicPushURL = "LOOKOUT_PUBLIC_PUSH_URL"
    case loggerJS = "LOOKOUT_LOGGER_JS"
    case loggerJSMaxAge = "LOOKOUT_LOGGER_JS_MAX_AGE"
    case maxBodyBytes = "LOOKOUT_MAX_BODY_BYTES"
    case maxLineBytes = "LOOKOUT_MAX_LINE_BYTES"
    case maxEntries = "LOOKOUT_MAX_ENTRIES"
    case maxEventAge = "LOOKOUT_MAX_EVENT_AGE"
    case maxClockSkew = "LOOKOUT_MAX_CLOCK_SKEW"
    case ratePerSecond = "LOOKOUT_RATE_PER_SECOND"
    case rateBurst = "LOOKOUT_RATE_BURST"
    case queueCapacity = "LOOKOUT_QUEUE_CAPACITY"
    case batchSize = "LOOKOUT_BATCH_SIZE"
    case flushInterval = "LOOKOUT_FLUSH_INTERVAL_MS"
    case retryAttempts = "LOOKOUT_RETRY_ATTEMPTS"
    case retryBase = "LOOKOUT_RETRY_BASE_MS"
    case retryMax = "LOOKOUT_RETRY_MAX_MS"
    case dedupWindow = "LOOKOUT_DEDUP_WINDOW"
    case dedupMaxEntries = "LOOKOUT_DEDUP_MAX_ENTRIES"

    /// Collects the settings present in an environment; empty values count as unset, because
    /// compose passes `VAR=` when `.env` leaves a variable blank.
    public static func values(from environment: [String: String]) -> [CollectorSetting: String] {
        var values: [CollectorSetting: String] = [:]
        for setting in allCases {
            if let value = environment[setting.rawValue], !value.isEmpty {
                values[setting] = value
            }
        }
        return values
    }
}

/// A setting whose value cannot be used; the message names the variable and what is wrong.
public struct CollectorConfigurationError: Error, CustomStringConvertible, Equatable {
    public let setting: CollectorSetting
    public let value: String
    public let problem: String

    public var description: String {
        "\(setting.rawValue)=\(setting == .lokiPassword ? "<hidden>" : value): \(problem)"
    }
}

extension CollectorConfiguration {
    /// Builds a configuration from raw setting values, checking each one.
    public init(values: [CollectorSetting: String]) throws {
        self.init()
        for (setting, raw) in values.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            try self.apply(setting, raw.trimmingWhitespace())
        }
    }

    private mutating func apply(_ setting: CollectorSetting, _ raw: String) throws {
        func fail(_ problem: String) -> CollectorConfigurationError {
            CollectorConfigurationError(setting: setting, value: raw, problem: problem)
        }
        func integer(_ range: ClosedRange<Int>) throws -> Int {
            guard let value = Int(raw), range.contains(value) else {
                throw fail("expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        func number(_ range: ClosedRange<Double>) throws -> Double {
            guard let value = Double(raw), value.isFinite, range.contains(value) else {
                throw fail("expected a number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        switch setting {
        case .listen:
            guard let (host, port) = Self.parseListen(raw) else {
                throw fail("expected host:port, e.g. 0.0.0.0:8081")
            }
            self.host = host
            self.port = port
        case .lokiURL:
            guard Self.isHTTPURL(raw) else { throw fail("expected an http:// or https:// URL") }
            var url = raw
            // Accept the full push URL too; the client appends the path itself.
            for suffix in ["/", "/loki/api/v1/push"] where url.hasSuffix(suffix) {
                url.removeLast(suffix.count)
            }
            while url.hasSuffix("/") { url.removeLast() }
            self.lokiURL = url
        case .lokiUser: self.lokiUser = raw
        case .lokiPassword: self.lokiPassword = raw
        case .allowedOrigins: self.allowedOrigins = try Self.parseOrigins(raw, fail: fail)
        case .publicPushURL:
            // It is written into a JavaScript string literal: refuse anything that could end it.
            let unsafe = raw.unicodeScalars.contains { "\"'`\\<>".unicodeScalars.contains($0) || $0.properties.isWhitespace }
            guard Self.isHTTPURL(raw), !unsafe else {
                throw fail("expected an http:// or https:// URL without quotes, backslashes, angle brackets or spaces")
            }
            self.publicPushURL = raw
        case .loggerJS: self.loggerJSPath = raw
        case .loggerJSMaxAge: self.loggerJSMaxAgeSeconds = try integer(0...86_400)
        case .maxBodyBytes: self.limits.maxBodyBytes = try integer(256...10_485_760)
        case .maxLineBytes: self.limits.maxLineBytes = try integer(64...1_048_576)
        case .maxEntries: self.limits.maxEntriesPerPush = try integer(1...10_000)
        case .maxEventAge: self.limits.maxEventAgeSeconds = try integer(1...604_800)
        case .maxClockSkew: self.limits.maxClockSkewSeconds = try integer(0...86_400)
        case .ratePerSecond: self.limits.ratePerSecond = try number(0.001...1_000_000)
        case .rateBurst: self.limits.rateBurst = try number(1...1_000_000)
        case .queueCapacity: self.forwarding.queueCapacity = try integer(1...10_000_000)
        case .batchSize: self.forwarding.batchSize = try integer(1...100_000)
        case .flushInterval: self.forwarding.flushIntervalMilliseconds = try integer(1...600_000)
        case .retryAttempts: self.forwarding.maxAttempts = try integer(1...100)
        case .retryBase: self.forwarding.retryBaseMilliseconds = try integer(1...600_000)
        case .retryMax: self.forwarding.retryMaxMilliseconds = try integer(1...3_600_000)
        case .dedupWindow: self.relay.dedupWindowSeconds = try integer(0...86_400)
        case .dedupMaxEntries: self.relay.dedupMaxEntries = try integer(0...100_000_000)
        }
    }

    static func parseListen(_ raw: String) -> (String, Int)? {
        guard let colon = raw.lastIndex(of: ":") else { return nil }
        var host = String(raw[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(raw[raw.index(after: colon)...]), (0...65_535).contains(port) else {
            return nil
        }
        return (host, port)
    }

    static func isHTTPURL(_ raw: String) -> Bool {
        for scheme in ["http://", "https://"] where raw.lowercased().hasPrefix(scheme) {
            return raw.count > scheme.count
        }
        return false
    }

    static func parseOrigins(
        _ raw: String,
        fail: (String) -> CollectorConfigurationError
    ) throws -> OriginAllowlist {
        let origins = raw.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        if origins.isEmpty { return .none }
        if origins.contains("*") {
            guard origins.count == 1 else { throw fail("`*` cannot be combined with other origins") }
            return .any
        }
        for origin in origins {
            // Browsers send scheme://host[:port] with no path and no trailing slash; anything else never matches.
            let rest = origin.split(separator: "://", maxSplits: 1)
            guard rest.count == 2, ["http", "https"].contains(rest[0].lowercased()),
                !rest[1].isEmpty, !rest[1].contains("/")
            else {
                throw fail("'\(origin)' is not an origin like https://app.example.com (scheme://host[:port], no path)")
            }
        }
        return .exactly(Set(origins))
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = self.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
