import Prometheus

/// The collector's Prometheus series (names from docs/signals.md), kept in one registry per
/// application so that tests can build many applications side by side.
public final class CollectorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    let ttfb: ValueHistogram
    let domContentLoaded: ValueHistogram
    let load: ValueHistogram
    let lcp: ValueHistogram
    let inp: ValueHistogram
    let cls: ValueHistogram
    let accepted: Counter
    let rateLimited: Counter
    let forwarded: Counter
    let retries: Counter
    let dropped: Counter
    let queueDepth: Gauge
    let relayLokiRefusals: Counter
    private let relayPushOutcomes: [RelayPushOutcome: Counter]
    private let relayForwardedEntries: Counter
    private let relayDuplicateEntries: Counter
    private let relayRememberedEntries: Gauge
    private let relayForgottenEarly: Counter
    private let rejected: [RejectionReason: Counter]
    private let jsErrors: [String: Counter]
    private let labelsDropped: [String: Counter]

    /// Error types the logger reports; anything else is counted as `other` to bound cardinality.
    static let jsErrorTypes = ["error", "resource", "unhandledrejection", "other"]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        // Buckets straddle the web-vitals "good" and "poor" thresholds (LCP 2.5/4 s, INP 0.2/0.5 s,
        // CLS 0.1/0.25) and the range where page loads actually fall.
        self.ttfb = registry.makeValueHistogram(
            descriptor: Self.descriptor("lookout_frontend_ttfb_seconds", "Time to first byte of page loads reported by browsers."),
            buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1, 1.5, 2, 3, 5, 10]
        )
        let pageBuckets: [Double] = [0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20]
        self.domContentLoaded = registry.makeValueHistogram(
            descriptor: Self.descriptor("lookout_frontend_dom_content_loaded_seconds", "DOMContentLoaded time of page loads reported by browsers."),
            buckets: pageBuckets
        )
        self.load = registry.makeValueHistogram(
            descriptor: Self.descriptor("lookout_frontend_load_seconds", "Load event time of page loads reported by browsers."),
            buckets: pageBuckets
        )
        self.lcp = registry.makeValueHistogram(
            descriptor: Self.descriptor("lookout_frontend_lcp_seconds", "Largest Contentful Paint reported by browsers."),
            buckets: [0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20]
        )
        self.inp = registry.makeValueHistogram(
            descriptor: Self.descriptor("lookout_frontend_inp_seconds", "Interaction to Next Paint reported by browsers."),
            buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5]
        )
        self.cls = registry.makeValueHistogram(
            descriptor: Self.descriptor("lookout_frontend_cls", "Cumulative Layout Shift (unitless) reported by browsers."),
            buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1]
        )
        self.jsErrors = Self.counters(
            registry, "lookout_frontend_js_errors_total", "JavaScript errors reported by browsers, by type.",
            label: "type", values: Self.jsErrorTypes.map { ($0, $0) }
        )
        self.accepted = registry.makeCounter(
            descriptor: Self.descriptor("lookout_collector_events_accepted_total", "Events (log entries) accepted from browsers.")
        )
        self.rejected = Self.counters(
            registry, "lookout_collector_events_rejected_total", "Pushes refused, by reason (one per refused request).",
            label: "reason", values: RejectionReason.allCases.map { ($0, $0.rawValue) }
        )
        self.labelsDropped = Self.counters(
            registry, "lookout_collector_labels_dropped_total",
            "Optional stream labels (env, release) dropped for a value of the wrong length or characters; the events were kept.",
            label: "label", values: PushValidator.optionalLabels.sorted().map { ($0, $0) }
        )
        self.rateLimited = registry.makeCounter(
            descriptor: Self.descriptor("lookout_collector_rate_limited_total", "Pushes refused with 429 because the client exceeded its rate.")
        )
        self.forwarded = registry.makeCounter(
            descriptor: Self.descriptor("lookout_collector_events_forwarded_total", "Events delivered to Loki.")
        )
        self.retries = registry.makeCounter(
            descriptor: Self.descriptor("lookout_collector_forward_retries_total", "Push attempts to Loki repeated after a 5xx, 429 or connection error.")
        )
        self.dropped = registry.makeCounter(
            descriptor: Self.descriptor("lookout_collector_events_dropped_total", "Accepted events never delivered: queue full, Loki refused them, or retries ran out.")
        )
        self.queueDepth = registry.makeGauge(
            descriptor: Self.descriptor("lookout_collector_queue_depth", "Events waiting to be forwarded to Loki.")
        )
        self.relayPushOutcomes = Self.counters(
            registry, "lookout_relay_pushes_total", "Agent pushes relayed to Loki, by what the relay did with them.",
            label: "outcome", values: RelayPushOutcome.allCases.map { ($0, $0.rawValue) }
        )
        let relayEntries = Self.descriptor("lookout_relay_entries_total", "Entries of agent pushes: sent on to Loki, or left out as copies of entries Loki already accepted.")
        self.relayForwardedEntries = registry.makeCounter(descriptor: relayEntries, labels: [("outcome", "forwarded")])
        self.relayDuplicateEntries = registry.makeCounter(descriptor: relayEntries, labels: [("outcome", "duplicate")])
        self.relayLokiRefusals = registry.makeCounter(
            descriptor: Self.descriptor("lookout_relay_loki_failures_total", "Agent pushes Loki refused (non-2xx) or that could not reach Loki; the agent got the answer and retries where Loki's rules say so.")
        )
        self.relayRememberedEntries = registry.makeGauge(
            descriptor: Self.descriptor("lookout_relay_remembered_entries", "Entries Loki accepted that the relay remembers, to leave out their copies.")
        )
        self.relayForgottenEarly = registry.makeCounter(
            descriptor: Self.descriptor("lookout_relay_forgotten_early_total", "Accepted entries forgotten before their window ended because LOOKOUT_DEDUP_MAX_ENTRIES was reached (a late copy of one would be stored again).")
        )
    }

    /// One counter per value of a single label, all under one name.
    private static func counters<Key: Hashable>(
        _ registry: PrometheusCollectorRegistry, _ name: String, _ help: String, label: String, values: [(Key, String)]
    ) -> [Key: Counter] {
        var counters: [Key: Counter] = [:]
        for (key, value) in values {
            counters[key] = registry.makeCounter(descriptor: descriptor(name, help), labels: [(label, value)])
        }
        return counters
    }

    /// The full name goes in `metricName` so that names match docs/signals.md character for character.
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func rejected(_ reason: RejectionReason) {
        self.rejected[reason]?.increment()
    }

    func relayPushes(_ outcome: RelayPushOutcome) {
        self.relayPushOutcomes[outcome]?.increment()
    }

    func relayEntries(forwarded: Int, duplicates: Int) {
        if forwarded > 0 { self.relayForwardedEntries.increment(by: Int64(forwarded)) }
        if duplicates > 0 { self.relayDuplicateEntries.increment(by: Int64(duplicates)) }
    }

    func relayRemembered(_ remembered: Int, forgottenEarly: Int) {
        self.relayRememberedEntries.set(Double(remembered))
        if forgottenEarly > 0 { self.relayForgottenEarly.increment(by: Int64(forgottenEarly)) }
    }

    func labelDropped(_ label: String) {
        self.labelsDropped[label]?.increment()
    }

    func jsError(type: String?) {
        let counter = type.flatMap { self.jsErrors[$0] } ?? self.jsErrors["other"]
        counter?.increment()
    }

    /// The exposition text served on /metrics.
    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8_192)
        self.registry.emit(into: &buffer)
        return buffer
    }
}

/// What the agent relay did with one push.
enum RelayPushOutcome: String, CaseIterable, Sendable {
    /// Read, and sent on with the entries Loki did not have yet.
    case forwarded
    /// Read, and every entry was a copy: answered 204 without asking Loki.
    case allDuplicates = "all_duplicates"
    /// Not a snappy protobuf push the relay reads (JSON, gzip, corrupt): sent on unchanged.
    case passedThrough = "passed_through"
}
