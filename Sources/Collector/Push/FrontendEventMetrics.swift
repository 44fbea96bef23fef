#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LokiPush
import Prometheus

/// Turns accepted frontend lines (docs/signals.md "Frontend events") into histogram samples and
/// error counts, so dashboards and alerts need no LogQL over every browser line.
struct FrontendEventMetrics: Sendable {
    /// The fields the metrics need; every other field of a line is ignored here and forwarded as is.
    private struct Line: Decodable {
        var kind: String?
        var type: String?
        var ttfb: Double?
        var dcl: Double?
        var load: Double?
        var lcp: Double?
        var inp: Double?
        var cls: Double?
    }

    /// Browser times are milliseconds; anything beyond ten minutes is a broken measurement.
    private static let maxMilliseconds = 600_000.0
    private static let maxCLS = 100.0

    let metrics: CollectorMetrics
    private let decoder = JSONDecoder()

    init(metrics: CollectorMetrics) {
        self.metrics = metrics
    }

    func observe(_ streams: [QueuedStream]) {
        for stream in streams {
            for entry in stream.entries {
                self.observe(entry.line, labelKind: stream.labels["kind"])
            }
        }
    }

    private func observe(_ text: String, labelKind: String?) {
        // Lines that are not JSON objects are still forwarded; they just carry no measurements.
        guard text.utf8.first == UInt8(ascii: "{"),
            let line = try? decoder.decode(Line.self, from: Data(text.utf8))
        else { return }
        switch line.kind ?? labelKind {
        case "pageload":
            Self.record(line.ttfb, into: metrics.ttfb)
            Self.record(line.dcl, into: metrics.domContentLoaded)
            Self.record(line.load, into: metrics.load)
        case "vitals":
            Self.record(line.lcp, into: metrics.lcp)
            Self.record(line.inp, into: metrics.inp)
            if let cls = line.cls, cls >= 0, cls <= Self.maxCLS { metrics.cls.record(cls) }
        case "error":
            metrics.jsError(type: line.type)
        default:
            break
        }
    }

    private static func record(_ milliseconds: Double?, into histogram: ValueHistogram) {
        guard let milliseconds, milliseconds >= 0, milliseconds <= maxMilliseconds else { return }
        histogram.record(milliseconds / 1_000)
    }
}
