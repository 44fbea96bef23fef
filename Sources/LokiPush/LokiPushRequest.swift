/// A push request in Loki's JSON format (`POST /loki/api/v1/push`):
/// `{"streams":[{"stream":{"label":"value"},"values":[["<unix nanoseconds>","<line>"]]}]}`.
///
/// Shared by the collector (which validates what browsers send) and the CLI (which sends test lines).
public struct LokiPushRequest: Codable, Sendable, Equatable {
    public var streams: [LokiStream]

    public init(streams: [LokiStream]) {
        self.streams = streams
    }
}

/// One stream: a label set and its entries.
public struct LokiStream: Codable, Sendable, Equatable {
    public var stream: [String: String]
    public var values: [LokiEntry]

    public init(stream: [String: String], values: [LokiEntry]) {
        self.stream = stream
        self.values = values
    }
}

/// One entry, encoded as Loki's two-element array `["<unix nanoseconds>", "<line>"]`.
///
/// Loki also accepts a third element (structured metadata); browsers have no business sending
/// it, so decoding refuses it rather than silently dropping data.
public struct LokiEntry: Codable, Sendable, Equatable {
    /// Unix time in nanoseconds, as a decimal string (Loki's wire format).
    public var timestamp: String
    public var line: String

    public init(timestamp: String, line: String) {
        self.timestamp = timestamp
        self.line = line
    }

    /// An entry stamped with a time given in nanoseconds since the Unix epoch.
    public init(nanoseconds: Int64, line: String) {
        self.init(timestamp: String(nanoseconds), line: line)
    }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        self.timestamp = try container.decode(String.self)
        self.line = try container.decode(String.self)
        if !container.isAtEnd {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "an entry must be [timestamp, line]; structured metadata is not accepted"
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(self.timestamp)
        try container.encode(self.line)
    }
}
