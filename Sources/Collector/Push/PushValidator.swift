#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LokiPush
import NIOCore

/// The entries of one label set, ready to forward.
struct QueuedStream: Sendable, Equatable {
    let labels: [String: String]
    var entries: [LokiEntry]
}

/// A push that passed every check: its streams with rewritten labels, and the optional labels
/// that were dropped for a bad value (one name per stream that lost it), for the counter.
struct ValidatedPush {
    var streams: [QueuedStream]
    var droppedLabels: [String] = []
}

/// Checks a browser push against the limits and rewrites its labels; all or nothing, so a
/// browser never has half a push stored and retries the rest.
struct PushValidator: Sendable {
    /// Label names a browser may set; their values are checked, every other name is dropped.
    static let allowedLabels: Set<String> = ["kind", "env", "release"]
    /// Allowed labels that only describe where events came from: a bad value drops the label
    /// (and is counted) instead of refusing the events, because a site's odd release name
    /// (`1.2.0+build/7`) should not cost it its errors. `kind` is not optional: it chooses the
    /// stream and the metrics, so a bad `kind` still refuses the push.
    static let optionalLabels: Set<String> = ["env", "release"]
    /// Labels the collector always sets, whatever the browser sent.
    static let forcedLabels = ["app": "frontend", "job": "frontend"]

    let limits: CollectorConfiguration.Limits
    private let decoder = JSONDecoder()

    init(limits: CollectorConfiguration.Limits) {
        self.limits = limits
    }

    /// - Parameter now: wall-clock time in Unix nanoseconds, for the timestamp window.
    func validate(_ body: ByteBuffer, now: Int64) throws(PushRejection) -> ValidatedPush {
        let push: LokiPushRequest
        do {
            push = try body.withUnsafeReadableBytes { bytes in
                // The fast path reads plain pushes; JSONDecoder reads the rest and explains errors.
                try FastPushParser.parse(bytes) ?? decoder.decode(LokiPushRequest.self, from: Data(bytes))
            }
        } catch let error as DecodingError {
            throw PushRejection(reason: .schema, message: "not a Loki push: \(Self.describe(error))")
        } catch {
            throw PushRejection(reason: .schema, message: "not a Loki push: body is not valid JSON")
        }
        guard !push.streams.isEmpty else {
            throw PushRejection(reason: .schema, message: "not a Loki push: streams is empty")
        }
        let entryCount = push.streams.reduce(0) { $0 + $1.values.count }
        guard entryCount <= limits.maxEntriesPerPush else {
            throw PushRejection(
                reason: .tooManyEntries,
                message: "\(entryCount) entries in one push; at most \(limits.maxEntriesPerPush) are accepted"
            )
        }
        let oldest = now - Int64(limits.maxEventAgeSeconds) * 1_000_000_000
        let newest = now + Int64(limits.maxClockSkewSeconds) * 1_000_000_000
        var result = ValidatedPush(streams: [])
        result.streams.reserveCapacity(push.streams.count)
        for (index, stream) in push.streams.enumerated() {
            guard !stream.values.isEmpty else {
                throw PushRejection(reason: .schema, message: "streams[\(index)].values is empty")
            }
            let labels = try self.rewrite(stream.stream, index: index, dropped: &result.droppedLabels)
            for (entryIndex, entry) in stream.values.enumerated() {
                let place = "streams[\(index)].values[\(entryIndex)]"
                guard let nanos = Self.nanoseconds(entry.timestamp) else {
                    throw PushRejection(
                        reason: .timestamp,
                        message: "\(place): timestamp must be Unix nanoseconds as a string of digits"
                    )
                }
                guard nanos >= oldest, nanos <= newest else {
                    throw PushRejection(
                        reason: .timestamp,
                        message: "\(place): timestamp is outside the accepted window (at most \(limits.maxEventAgeSeconds) s old, \(limits.maxClockSkewSeconds) s ahead)"
                    )
                }
                guard !entry.line.isEmpty else {
                    throw PushRejection(reason: .schema, message: "\(place): line is empty")
                }
                guard entry.line.utf8.count <= limits.maxLineBytes else {
                    throw PushRejection(
                        reason: .lineTooLong,
                        message: "\(place): line is \(entry.line.utf8.count) bytes; at most \(limits.maxLineBytes) are accepted"
                    )
                }
            }
            result.streams.append(QueuedStream(labels: labels, entries: stream.values))
        }
        return result
    }

    /// Forces `app`/`job`, keeps allowlisted labels with safe values, drops the rest; an
    /// optional label with an unsafe value is dropped and its name added to `dropped`.
    private func rewrite(
        _ labels: [String: String],
        index: Int,
        dropped: inout [String]
    ) throws(PushRejection) -> [String: String] {
        var rewritten = Self.forcedLabels
        // Room for the allowed labels up front: growing from the two forced ones showed up as a
        // rehash per push in the profile.
        rewritten.reserveCapacity(Self.forcedLabels.count + Self.allowedLabels.count)
        for (name, value) in labels where Self.allowedLabels.contains(name) {
            guard Self.isSafeLabelValue(value, maxLength: limits.maxLabelValueLength) else {
                if Self.optionalLabels.contains(name) {
                    dropped.append(name)
                    continue
                }
                throw PushRejection(
                    reason: .label,
                    message: "streams[\(index)].stream.\(name): value must be 1 to \(limits.maxLabelValueLength) characters of A-Z a-z 0-9 _ . -"
                )
            }
            rewritten[name] = value
        }
        return rewritten
    }

    static func isSafeLabelValue(_ value: String, maxLength: Int) -> Bool {
        let utf8 = value.utf8
        guard !utf8.isEmpty, utf8.count <= maxLength else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }

    static func nanoseconds(_ timestamp: String) -> Int64? {
        let utf8 = timestamp.utf8
        guard !utf8.isEmpty, utf8.count <= 19,
            utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return Int64(timestamp)
    }

    /// A decoding error as a short sentence that names the place in the document.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text.isEmpty ? "top level" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))"
            return "missing key '\(key.stringValue)'\(parent)"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(Self.name(of: type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(Self.name(of: type)), found null or nothing"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "body is not valid JSON" }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "invalid document"
        }
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is [String: String].Type, is [String: Any].Type: "an object"
        case is [Any].Type, is [LokiEntry].Type, is [LokiStream].Type: "an array"
        default: "\(type)"
        }
    }
}
