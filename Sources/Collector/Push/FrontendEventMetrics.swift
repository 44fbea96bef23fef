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
    struct Line: Decodable, Equatable {
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
        guard text.utf8.first == UInt8(ascii: "{"), let line = self.parse(text) else { return }
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

    /// The fast scanner for plain flat lines, JSONDecoder for everything else.
    func parse(_ text: String) -> Line? {
        var text = text
        if let line = text.withUTF8({ Self.scan(UnsafeRawBufferPointer($0)) }) { return line }
        return try? decoder.decode(Line.self, from: Data(text.utf8))
    }

    /// A flat object: known keys with a string, number or null of the right kind; other keys
    /// with any scalar. Nested values, duplicates of known keys or wrong types give nil, and so
    /// do keys with escapes or non-ASCII bytes (JSONDecoder reads those). Keys are compared as
    /// bytes and the fields seen kept in a bit set: this runs on every line of every push.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> Line? {
        var scanner = FastJSONScanner(bytes)
        var line = Line()
        var seen: UInt8 = 0
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        if !scanner.take(UInt8(ascii: "}")) {
            repeat {
                guard let key = scanner.plainString(), scanner.take(UInt8(ascii: ":")) else { return nil }
                let field = Field(key)
                if let field {
                    guard seen & field.bit == 0 else { return nil }
                    seen |= field.bit
                }
                switch field {
                case .kind, .type:
                    let value: String?
                    if scanner.literal("null") {
                        value = nil
                    } else {
                        guard let text = scanner.string() else { return nil }
                        value = text
                    }
                    if field == .kind { line.kind = value } else { line.type = value }
                case .some(let numeric):
                    let value: Double?
                    if scanner.literal("null") {
                        value = nil
                    } else {
                        guard let number = scanner.number() else { return nil }
                        value = number
                    }
                    switch numeric {
                    case .ttfb: line.ttfb = value
                    case .dcl: line.dcl = value
                    case .load: line.load = value
                    case .lcp: line.lcp = value
                    case .inp: line.inp = value
                    default: line.cls = value
                    }
                case nil:
                    guard scanner.skipScalar() else { return nil }
                }
            } while scanner.take(UInt8(ascii: ","))
            guard scanner.take(UInt8(ascii: "}")) else { return nil }
        }
        return scanner.atEnd ? line : nil
    }

    /// The keys `Line` decodes, matched on raw key bytes.
    private enum Field: UInt8 {
        case kind, type, ttfb, dcl, load, lcp, inp, cls

        var bit: UInt8 { 1 << rawValue }

        init?(_ raw: UnsafeRawBufferPointer) {
            let equals = FastJSONScanner.equals
            switch raw.count {
            case 3 where equals(raw, "dcl"): self = .dcl
            case 3 where equals(raw, "lcp"): self = .lcp
            case 3 where equals(raw, "inp"): self = .inp
            case 3 where equals(raw, "cls"): self = .cls
            case 4 where equals(raw, "kind"): self = .kind
            case 4 where equals(raw, "type"): self = .type
            case 4 where equals(raw, "ttfb"): self = .ttfb
            case 4 where equals(raw, "load"): self = .load
            default: return nil
            }
        }
    }

    private static func record(_ milliseconds: Double?, into histogram: ValueHistogram) {
        guard let milliseconds, milliseconds >= 0, milliseconds <= maxMilliseconds else { return }
        histogram.record(milliseconds / 1_000)
    }
}
